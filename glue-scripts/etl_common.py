"""The readers and writer every Glue job uses (shipped with --extra-py-files).

A job registers each of its inputs (--etl_inputs) as a view named by the input's name, runs its SQL file
(--etl_sql, shipped with --extra-files) with spark.sql, and writes the result as Parquet (Snappy) over
--etl_output. CSV inputs are renamed and typed per their schema file; rows whose typed values do not parse,
and malformed lines (including a line with an unclosed quote: records never span lines), are dropped and counted. local/etl-engine.ts implements the same rules in DuckDB.

Every job script is `from etl_common import main` + `main()`: the one entry point, on Glue (GlueContext, job
bookmarks) and on plain spark-submit (EMR Serverless, local Spark: npm run test:spark), where awsglue does not exist.

The pure helpers (naming, argument, header and schema checks) import nothing from pyspark or awsglue, so they
can be tested with plain python3.
"""
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from functools import reduce
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
JOB_ARGUMENTS = ("etl_inputs", "etl_output", "etl_sql")


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


def parse_job_arguments(argv: list) -> dict:
    """Reads --name value and --name=value pairs (Glue passes the first form, spark-submit users either); other
    arguments (Glue adds --JOB_ID, --TempDir, ...) are ignored. Names every missing job argument."""
    args = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if not token.startswith("--"):
            continue
        name, equals, value = token[2:].partition("=")
        if not equals:
            if index < len(argv) and not argv[index].startswith("--"):
                value = argv[index]
                index += 1
            else:
                value = ""
        args[name] = value
    missing = [f"--{name}" for name in JOB_ARGUMENTS if not args.get(name)]
    if missing:
        raise ValueError(f"missing job argument(s) {', '.join(missing)}; got {sorted('--' + name for name in args)}")
    return args


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
        raise ValueError(f"{path}: input '{input_name}' lacks required column(s) {', '.join(_json(m) for m in missing)} (header: {_json(header)})")
    return {c["name"]: positions[snake_case(c["source"])] for c in columns}


def _json(value) -> str:
    """JSON as JavaScript's JSON.stringify writes it, for messages identical to the local engine's."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_header(line: str, path: str) -> list:
    """Parses a CSV header line (RFC 4180 quoting); the same rules and messages as local/csv.ts readCsvHeader."""
    if line.startswith("\ufeff"):
        line = line[1:]
    if line.strip() == "":
        raise ValueError(f"{path}: malformed CSV header: the file has no header line")
    fields, index = [], 0
    while True:
        if index < len(line) and line[index] == '"':
            value, index = "", index + 1
            while True:
                close = line.find('"', index)
                if close < 0:
                    raise ValueError(f"{path}: malformed CSV header: unterminated quote in {_json(line[:200])}")
                value += line[index:close]
                if line[close + 1 : close + 2] == '"':
                    value, index = value + '"', close + 2
                else:
                    index = close + 1
                    break
            if index < len(line) and line[index] != ",":
                raise ValueError(f"{path}: malformed CSV header: text after a closing quote in {_json(line[:200])}")
            fields.append(value)
        else:
            comma = line.find(",", index)
            value = line[index:] if comma < 0 else line[index:comma]
            if '"' in value:
                raise ValueError(f"{path}: malformed CSV header: stray quote in {_json(line[:200])}")
            fields.append(value)
            index = len(line) if comma < 0 else comma
        if index >= len(line):
            return fields
        index += 1
        if index == len(line):
            fields.append("")
            return fields


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


def input_files(spark, source: EtlInput) -> list:
    """The input's data files, sorted: the path itself if it is a file, else every file under it (recursively)
    except hidden ones (a name below the input starting with '_' or '.', as Hadoop skips them); the same rule as
    local/etl-engine.ts inputFiles. Each file is named as the input's path plus its relative path."""
    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(source.path)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(root):
        raise ValueError(f"input '{source.name}': cannot read {source.path} (no such file or folder)")
    if fs.getFileStatus(root).isFile():
        return [source.path]
    prefix = fs.makeQualified(root).toString().rstrip("/") + "/"
    files, listing = [], fs.listFiles(root, True)
    while listing.hasNext():
        relative = listing.next().getPath().toString()[len(prefix) :]
        if not any(part.startswith(("_", ".")) for part in relative.split("/")):
            files.append(source.path.rstrip("/") + "/" + relative)
    if not files:
        raise ValueError(f"input '{source.name}': no data file (names starting with '_' or '.' are skipped) in {source.path}")
    return sorted(files)


def first_line(spark, path: str) -> str:
    """A file's first line (ending at LF, CR LF or CR, as Spark's line reader), read on the driver."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    stream = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).open(hadoop_path)
    try:
        return jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8")).readLine() or ""
    finally:
        stream.close()


def typed_rows(spark, files: list, header: list, positions: dict, columns: list):
    """The typed rows of files sharing one header (plus _corrupt_record), and the count of lines with an unclosed quote."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    # Lines with an unclosed quote (unclosed_quote, in SQL) are dropped before parsing: the local engine does
    # the same, rather than each engine guessing where such a value ends.
    text = spark.read.text(files)
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    unclosed = text.filter(quotes % 2 == 1).count()
    lines = files if unclosed == 0 else text.filter(quotes % 2 == 0).rdd.map(lambda row: row.value)
    # Read by position with the header's width, so short or long lines land in _corrupt_record.
    raw_schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(header))] + [StructField(CORRUPT, StringType())])
    raw = (
        spark.read.option("header", True)
        .option("multiLine", False)
        .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled (Spark's default escape is '\\')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(raw_schema)
        .csv(lines)
    )
    return raw.select(*[typed_column(f"c{positions[c['name']]}", c["type"]).alias(c["name"]) for c in columns], F.col(CORRUPT)), unclosed


def register_csv(spark, source: EtlInput) -> int:
    """Registers a CSV input as its typed view; returns the rows dropped. Each file's columns are found by its own
    header (files of one input may order their columns differently), as in the local engine."""
    from pyspark.sql import DataFrame, functions as F

    schema_file = local_file(source.schema)
    with open(schema_file, encoding="utf-8") as handle:
        columns = check_schema(json.load(handle), schema_file)
    groups = {}  # header line -> its files, in file order
    for path in input_files(spark, source):
        line = first_line(spark, path)
        if line not in groups:
            column_positions(parse_header(line, path), columns, source.name, path)
        groups.setdefault(line, []).append(path)
    parts, unclosed = [], 0
    for line, files in groups.items():
        header = parse_header(line, files[0])
        frame, count = typed_rows(spark, files, header, column_positions(header, columns, source.name, files[0]), columns)
        parts.append(frame)
        unclosed += count
    typed = reduce(DataFrame.unionByName, parts).cache()
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
    # Invalid dates give NULL (dropped rows) rather than an upgrade exception; dates before 1582 (proleptic
    # Gregorian, as DuckDB and Athena read them) are written and read as they are instead of failing the write.
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInRead", "CORRECTED")
    dropped = {}
    for source in inputs:
        if source.format == "parquet":
            spark.read.parquet(source.path).createOrReplaceTempView(source.name)
        else:
            dropped[source.name] = register_csv(spark, source)
    with open(local_file(sql_file), encoding="utf-8") as handle:
        sql = handle.read().strip().rstrip(";")
    result = spark.sql(sql).cache()
    rows = result.count()
    result.write.mode("overwrite").option("compression", "snappy").parquet(output)
    # One structured record per run (rows written, dropped per CSV input), for log queries and npm run test:spark.
    LOG.info("wrote %d rows to %s; rows dropped per input: %s", rows, output, _json(dropped), extra={"etl_result": {"rowsWritten": rows, "droppedRows": dropped}})
    result.unpersist()
    return rows


def start_session(job_name: str, args: dict):
    """The SparkSession, and the function that ends the job: on Glue a GlueContext with its Job (bookmarks,
    job.commit); elsewhere (spark-submit on EMR Serverless or locally) the session spark-submit configured."""
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
    except ImportError:  # not on Glue: awsglue exists only there
        from pyspark.sql import SparkSession

        return SparkSession.builder.appName(job_name).getOrCreate(), lambda: None
    from pyspark.context import SparkContext

    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(job_name, args)
    return glue_context.spark_session, job.commit


def main(argv=None) -> None:
    """The entry point of every job script, on Glue and under spark-submit: reads the job arguments (sys.argv
    by default) and runs the job."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    LOG.setLevel(logging.INFO)
    args = parse_job_arguments(sys.argv[1:] if argv is None else argv)
    inputs = parse_inputs(args["etl_inputs"])
    spark, commit = start_session(args.get("JOB_NAME") or "etl", args)
    run_job(spark, inputs, args["etl_output"], args["etl_sql"])
    commit()
