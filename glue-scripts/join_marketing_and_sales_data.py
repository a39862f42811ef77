"""JMSD: processed sales joined with processed marketing on the date.

The transformation is join_marketing_and_sales_data.sql (passed as --etl_sql); etl_common reads the inputs and writes the output.
"""
from etl_common import main

if __name__ == "__main__":
    main()
