"""The readers and writer every Glue job uses (shipped with --extra-py-files).

A job registers each of its inputs (--etl_inputs) as a view named by the input's name, runs its SQL file
(--etl_sql, shipped with --extra-files) with spark.sql, and writes the result as Parquet (Snappy) over
--etl_output. CSV inputs are renamed and typed per their schema file; rows whose typed values do not parse,
and malformed lines (including a line with an unclosed quote: records never span lines), are dropped and counted. local/etl-engine.ts implements the same rules in DuckDB.

The pure helpers (naming, argument and schema checks) import nothing from pyspark or awsglue, so they
can be tested with plain python3.
"""
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

LOG = logging.getLogger("etl")

FORMATS = ("csv", "parquet")
TYPES = ("date", "bigint", "double", "boolean", "string")
VIEW_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Strict forms, identical to local/etl-engine.ts, so both engines accept and drop the same values.
DATE_PATTERN = r"^(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4}$"
BIGINT_PATTERN = r"^-?[0-9]+$"
DOUBLE_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
CORRUPT = "_corrupt_record"


@dataclass(frozen=True)
class EtlInput:
    name: str
    path: str
    format: str
    schema: Optional[str] = None


def snake_case(name: str) -> str:
    """Trimmed, runs of white space -> one '_', lower case ('Mailing list adds ' -> 'mailing_list_adds')."""
    return "_".join(name.split()).lower()


def parse_inputs(text: str) -> list:
    """Parses --etl_inputs (a JSON list of {name, path, format, schema?}); errors name the field."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"--etl_inputs: invalid JSON ({error})") from error
    if not isinstance(raw, list) or not raw:
        raise ValueError("--etl_inputs: expected a non-empty JSON list of inputs")
    inputs = []
    for index, item in enumerate(raw):
        where = f"--etl_inputs[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object, got {item!r}")
        name, path, fmt, schema = item.get("name"), item.get("path"), item.get("format"), item.get("schema")
        if not isinstance(name, str) or not VIEW_NAME.match(name):
            raise ValueError(f"{where}.name: expected a lower snake_case view name, got {name!r}")
        if not isinstance(path, str) or not path:
            raise ValueError(f"{where}.path: expected a path, got {path!r}")
        if fmt not in FORMATS:
            raise ValueError(f"{where}.format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt == "csv" and not isinstance(schema, str):
            raise ValueError(f"{where}.schema: a CSV input needs a schema file name, got {schema!r}")
        inputs.append(EtlInput(name, path, fmt, schema))
    return inputs


def check_schema(schema: dict, source: str) -> list:
    """Returns the schema's columns after checking each has a source header, a name and a known type."""
    columns = schema.get("columns") if isinstance(schema, dict) else None
    if not isinstance(columns, list) or not columns:
        raise ValueError(f"{source}: expected a non-empty 'columns' list")
    for index, column in enumerate(columns):
        for field in ("source", "name", "type"):
            if not isinstance(column, dict) or not isinstance(column.get(field), str):
                raise ValueError(f"{source}: columns[{index}].{field} is missing")
        if column["type"] not in TYPES:
            raise ValueError(f"{source}: columns[{index}].type: expected one of {', '.join(TYPES)}, got {column['type']!r}")
    return columns


def column_positions(header: list, columns: list, input_name: str, path: str) -> dict:
    """Maps each schema column to its position in the header (matched by snake_case name); names what is missing."""
    positions = {}
    for position, title in enumerate(header):
        positions.setdefault(snake_case(title), position)
    missing = [c["source"] for c in columns if snake_case(c["source"]) not in positions]
    if missing:
        raise ValueError(f"{path}: input '{input_name}' lacks required column(s) {', '.join(repr(m) for m in missing)} (header: {header!r})")
    return {c["name"]: positions[snake_case(c["source"])] for c in columns}


def local_file(name: str) -> str:
    """A file shipped with --extra-files: in the working directory on the driver (or SparkFiles)."""
    for candidate in (name, os.path.join("schemas", name)):
        if os.path.exists(candidate):
            return candidate
    from pyspark import SparkFiles  # only inside Glue

    path = SparkFiles.get(name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: not shipped with --extra-files")
    return path


def unclosed_quote(line: str) -> bool:
    """A line with an odd number of '"' has an unclosed quote; records are lines (multiLine false), so it is a
    malformed line, dropped and counted. The same rule as local/etl-engine.ts unclosedQuoteLines (a test pins it)."""
    return line.count('"') % 2 == 1


def typed_column(column: str, type_name: str):
    """The Spark column of a typed value; NULL when the text does not parse (the row is then dropped)."""
    from pyspark.sql import functions as F

    text = F.col(column)
    if type_name == "date":
        return F.when(text.rlike(DATE_PATTERN), F.to_date(F.expr(f"try_to_timestamp(`{column}`, 'M/d/yyyy')")))
    if type_name == "bigint":
        return F.when(text.rlike(BIGINT_PATTERN), F.expr(f"try_cast(`{column}` AS BIGINT)"))
    if type_name == "double":
        return F.when(text.rlike(DOUBLE_PATTERN), F.expr(f"try_cast(`{column}` AS DOUBLE)"))
    if type_name == "boolean":
        return F.when(F.upper(text) == "TRUE", F.lit(True)).when(F.upper(text) == "FALSE", F.lit(False))
    return text


def register_csv(spark, source: EtlInput) -> int:
    """Registers a CSV input as its typed view; returns the rows dropped."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    schema_file = local_file(source.schema)
    with open(schema_file, encoding="utf-8") as handle:
        columns = check_schema(json.load(handle), schema_file)
    header = spark.read.option("header", True).option("inferSchema", False).csv(source.path).columns
    positions = column_positions(header, columns, source.name, source.path)
    # Lines with an unclosed quote (unclosed_quote, in SQL) are dropped before parsing: the local engine does
    # the same, rather than each engine guessing where such a value ends.
    text = spark.read.text(source.path)
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    unclosed = text.filter(quotes % 2 == 1).count()
    lines = source.path if unclosed == 0 else text.filter(quotes % 2 == 0).rdd.map(lambda row: row.value)
    # Read by position with the header's width, so short or long lines land in _corrupt_record.
    raw_schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(header))] + [StructField(CORRUPT, StringType())])
    raw = (
        spark.read.option("header", True)
        .option("multiLine", False)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(raw_schema)
        .csv(lines)
    )
    typed = raw.select(*[typed_column(f"c{positions[c['name']]}", c["type"]).alias(c["name"]) for c in columns], F.col(CORRUPT)).cache()
    valid = F.col(CORRUPT).isNull()
    for column in columns:
        if column["type"] != "string":
            valid = valid & F.col(column["name"]).isNotNull()
    dropped = unclosed + typed.filter(~valid).count()
    typed.filter(valid).select(*[c["name"] for c in columns]).createOrReplaceTempView(source.name)
    LOG.info("input %s: %d rows dropped (unparseable values or malformed lines) from %s", source.name, dropped, source.path)
    return dropped


def run_job(spark, inputs: list, output: str, sql_file: str) -> int:
    """Registers the inputs, runs the SQL, overwrites the output with Parquet (Snappy); returns the rows written."""
    # Invalid dates give NULL (dropped rows) rather than an upgrade exception.
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    for source in inputs:
        if source.format == "parquet":
            spark.read.parquet(source.path).createOrReplaceTempView(source.name)
        else:
            register_csv(spark, source)
    with open(local_file(sql_file), encoding="utf-8") as handle:
        sql = handle.read().strip().rstrip(";")
    result = spark.sql(sql).cache()
    rows = result.count()
    result.write.mode("overwrite").option("compression", "snappy").parquet(output)
    LOG.info("wrote %d rows to %s", rows, output)
    return rows


JOB_ARGUMENTS = ("etl_inputs", "etl_output", "etl_sql")


def parse_job_arguments(argv: list) -> dict:
    """The job's --name value pairs under plain spark-submit (EMR Serverless): --etl_inputs, --etl_output and
    --etl_sql are required, other pairs (--etl_task_id) are kept; errors name the argument."""
    args = {}
    index = 0
    while index < len(argv):
        name = argv[index]
        if not name.startswith("--") or index + 1 >= len(argv):
            raise ValueError(f"job arguments: expected --name value pairs, got {argv[index:index + 2]!r}")
        args[name[2:]] = argv[index + 1]
        index += 2
    missing = [f"--{name}" for name in JOB_ARGUMENTS if not args.get(name)]
    if missing:
        raise ValueError(f"job arguments: missing {', '.join(missing)}")
    return args


def main(argv=None) -> None:
    """Entry point of every job script: under Glue, reads Glue's arguments; under plain spark-submit (EMR Serverless,
    no awsglue module), reads --name value pairs. Then runs the job."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    argv = argv or sys.argv
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from awsglue.utils import getResolvedOptions
    except ImportError:
        from pyspark.sql import SparkSession

        args = parse_job_arguments(argv[1:])
        spark = SparkSession.builder.appName(os.path.basename(argv[0])).getOrCreate()
        run_job(spark, parse_inputs(args["etl_inputs"]), args["etl_output"], args["etl_sql"])
        spark.stop()
        return
    from pyspark.context import SparkContext

    args = getResolvedOptions(argv, ["JOB_NAME", *JOB_ARGUMENTS])
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    run_job(glue_context.spark_session, parse_inputs(args["etl_inputs"]), args["etl_output"], args["etl_sql"])
    job.commit()
