"""The readers and writer every Glue job uses (shipped with --extra-py-files).

A job registers each of its inputs (--etl_inputs) as a view named by the input's name, runs its SQL file
(--etl_sql, shipped with --extra-files) with spark.sql, and writes the result as Parquet (Snappy) over
--etl_output. CSV inputs are renamed and typed per their schema file; rows whose typed values do not parse,
and malformed lines (including a line with an unclosed quote: records never span lines), are dropped and counted.
Before anything is written, the counts go through the data-quality gate (check_quality, limits from
--etl_quality): a job over its limits raises DataQualityError and writes nothing. local/etl-engine.ts
implements the same rules in DuckDB.

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
    check_header_text(header, input_name, path)
    check_duplicate_columns(header, columns, input_name, path)
    positions = {}
    for position, title in enumerate(header):
        positions.setdefault(snake_case(title), position)
    missing = [c["source"] for c in columns if snake_case(c["source"]) not in positions]
    if missing:
        raise ValueError(f"{path}: input '{input_name}' lacks required column(s) {', '.join(repr(m) for m in missing)} (header: {header!r})")
    return {c["name"]: positions[snake_case(c["source"])] for c in columns}


def header_fields(line: str) -> list:
    """The fields of a CSV header line (RFC 4180 quoting; a UTF-8 byte order mark dropped)."""
    import csv

    line = line.lstrip("\ufeff")
    return next(csv.reader([line]), []) if line.strip() else []


def check_header_text(header: list, input_name: str, path: str) -> None:
    """A header holding control characters or undecodable bytes is not CSV text (binary, or compressed without
    a .gz name): say so, never print the bytes. The same rule as local/csv.ts describeNonText, on the header."""
    for field in header:
        if "\ufffd" in field or any(ord(ch) < 32 and ch != "\t" for ch in field):
            raise ValueError(f"{path}: input '{input_name}' is not CSV text: its first line holds binary data (a compressed file must end in .gz)")


def check_duplicate_columns(header: list, columns: list, input_name: str, path: str) -> None:
    """A required column named twice (after snake_case) is ambiguous: refused, naming it and both positions
    (1-based). Identical to local/csv.ts duplicateColumnError (a test pins it)."""
    required = {snake_case(c["source"]) for c in columns}
    first = {}
    for position, title in enumerate(header):
        key = snake_case(title)
        if key not in required:
            continue
        if key in first:
            raise ValueError(
                f"{path}: input '{input_name}': the header names column {key!r} twice, at positions {first[key] + 1} and {position + 1} "
                f"({header[first[key]]!r} and {title!r})"
            )
        first[key] = position


class DataQualityError(Exception):
    """A job over its data-quality limits; the message gives the counts and the limits. Glue reports it as
    'DataQualityError: <message>', which the runner maps to the error name DataQualityError."""


def parse_quality(text) -> dict:
    """Parses --etl_quality (core/quality.ts QualityLimits); absent: the safe defaults."""
    if not text:
        return {"inputs": {}, "minOutputRows": 1, "notNull": []}
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ValueError(f"--etl_quality: invalid JSON ({error})") from error
    if not isinstance(raw, dict):
        raise ValueError(f"--etl_quality: expected a JSON object, got {text}")
    inputs = {}
    for name, value in (raw.get("inputs") or {}).items():
        limit = value.get("maxDroppedFraction") if isinstance(value, dict) else "missing"
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 <= limit <= 1):
            raise ValueError(f"--etl_quality: inputs.{name}.maxDroppedFraction: expected a number from 0 to 1 or null, got {limit!r}")
        inputs[name] = {"maxDroppedFraction": limit}
    min_rows = raw.get("minOutputRows", 1)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
        raise ValueError(f"--etl_quality: minOutputRows: expected a whole number >= 0, got {min_rows!r}")
    not_null = raw.get("notNull", [])
    if not isinstance(not_null, list) or not all(isinstance(c, str) for c in not_null):
        raise ValueError(f"--etl_quality: notNull: expected a list of column names, got {not_null!r}")
    return {"inputs": inputs, "minOutputRows": min_rows, "notNull": not_null}


def _number(value) -> str:
    """As JavaScript's String(number): 1.0 -> '1', 0.5 -> '0.5'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def check_quality(counts: dict, limits: dict):
    """The data-quality gate: None within the limits, else the cause (every violation, then the counts).
    Identical to core/quality.ts checkQuality; test/fixtures/quality-gates.json pins both."""
    violations = []
    for name, count in counts["inputs"].items():
        read, dropped = count["read"], count["dropped"]
        if read <= 0:
            continue
        limit = (limits["inputs"].get(name) or {}).get("maxDroppedFraction")
        if limit is None:
            if dropped >= read:
                violations.append(f"input '{name}': all {read} rows read were dropped (limit: not all, unless maxDroppedFraction is 1)")
        elif dropped > limit * read:
            violations.append(f"input '{name}': {dropped} of {read} rows read were dropped (limit: maxDroppedFraction {_number(limit)})")
    if counts["written"] < limits["minOutputRows"]:
        violations.append(f"output: {counts['written']} rows written (limit: minOutputRows {limits['minOutputRows']})")
    for column in limits["notNull"]:
        nulls = counts["nulls"].get(column, 0)
        if nulls > 0:
            violations.append(f"output: column '{column}' has {nulls} null values (limit: notNull)")
    if not violations:
        return None

    def each(key):
        return ", ".join(f"{name} {count[key]}" for name, count in counts["inputs"].items()) or "none"

    return f"{'; '.join(violations)} (rows read: {each('read')}; dropped: {each('dropped')}; written: {counts['written']})"


def enforce_quality(counts: dict, limits: dict) -> None:
    """Logs the counts; raises DataQualityError when they are over the limits."""
    LOG.info("counts: rows read %s, dropped %s, written %d", {n: c["read"] for n, c in counts["inputs"].items()}, {n: c["dropped"] for n, c in counts["inputs"].items()}, counts["written"])
    cause = check_quality(counts, limits)
    if cause is not None:
        LOG.error("DataQualityError: %s", cause)
        raise DataQualityError(cause)


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


def register_csv(spark, source: EtlInput) -> dict:
    """Registers a CSV input as its typed view; returns the rows read and dropped."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    schema_file = local_file(source.schema)
    with open(schema_file, encoding="utf-8") as handle:
        columns = check_schema(json.load(handle), schema_file)
    # The header as written: Spark's own header parsing renames duplicate names (Date -> Date0, Date5), which
    # would hide an ambiguous header.
    first = spark.read.text(source.path).first()
    header = header_fields(first.value if first else "")
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
    read = unclosed + typed.count()
    dropped = unclosed + typed.filter(~valid).count()
    typed.filter(valid).select(*[c["name"] for c in columns]).createOrReplaceTempView(source.name)
    LOG.info("input %s: %d rows read, %d dropped (unparseable values or malformed lines) from %s", source.name, read, dropped, source.path)
    return {"read": read, "dropped": dropped}


def run_job(spark, inputs: list, output: str, sql_file: str, quality: Optional[dict] = None) -> int:
    """Registers the inputs, runs the SQL, checks the data-quality gate (DataQualityError: nothing is written),
    overwrites the output with Parquet (Snappy); returns the rows written."""
    # Invalid dates give NULL (dropped rows) rather than an upgrade exception.
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    counts = {"inputs": {}, "written": 0, "nulls": {}}
    for source in inputs:
        if source.format == "parquet":
            frame = spark.read.parquet(source.path)
            frame.createOrReplaceTempView(source.name)
            counts["inputs"][source.name] = {"read": frame.count(), "dropped": 0}
        else:
            counts["inputs"][source.name] = register_csv(spark, source)
    with open(local_file(sql_file), encoding="utf-8") as handle:
        sql = handle.read().strip().rstrip(";")
    result = spark.sql(sql).cache()
    rows = result.count()
    counts["written"] = rows
    limits = quality or parse_quality(None)
    counts["nulls"] = output_nulls(result, limits["notNull"])
    enforce_quality(counts, limits)
    result.write.mode("overwrite").option("compression", "snappy").parquet(output)
    LOG.info("wrote %d rows to %s", rows, output)
    return rows


def output_nulls(result, columns: list) -> dict:
    """Null count of each notNull column of the job's result; a column the result lacks is named."""
    from pyspark.sql import functions as F

    unknown = [c for c in columns if c not in result.columns]
    if unknown:
        raise ValueError(f"--etl_quality: notNull column(s) {', '.join(unknown)} not in the job's output (columns: {', '.join(result.columns)})")
    if not columns:
        return {}
    row = result.select(*[F.sum(F.col(c).isNull().cast("long")).alias(c) for c in columns]).collect()[0]
    return {c: int(row[c] or 0) for c in columns}


def main(argv=None) -> None:
    """Entry point of every job script: reads the Glue arguments and runs the job."""
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = getResolvedOptions(argv or sys.argv, ["JOB_NAME", "etl_inputs", "etl_output", "etl_sql"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    # Optional, so a job deployed before the gates existed still runs (with the safe defaults).
    quality = getResolvedOptions(argv or sys.argv, ["etl_quality"])["etl_quality"] if "--etl_quality" in (argv or sys.argv) else None
    run_job(glue_context.spark_session, parse_inputs(args["etl_inputs"]), args["etl_output"], args["etl_sql"], parse_quality(quality))
    job.commit()
