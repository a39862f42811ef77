"""PMD: the marketing metrics, typed with snake_case columns.

The transformation is process_marketing_data.sql (passed as --etl_sql); etl_common reads the inputs and writes the output.
"""
from etl_common import main

if __name__ == "__main__":
    main()
