"""PSD: the sales pipeline, one row per day.

The transformation is process_sales_data.sql (passed as --etl_sql); etl_common reads the inputs and writes the output.
"""
from etl_common import main

if __name__ == "__main__":
    main()
