"""The readers and writer every Glue job uses (shipped with --extra-py-files).

A job registers each of its inputs (--etl_inputs) as a view named by the input's name, runs its SQL file
(--etl_sql, shipped with --extra-files) with spark.sql, and writes the result as Parquet (Snappy) over
--etl_output. CSV inputs are renamed and typed per their schema file; rows whose typed values do not parse,
and malformed lines (including a line with an unclosed quote: records never span lines), are dropped and counted.
Before anything is written, the counts go through the data-quality gate (check_quality, limits from
--etl_quality): a job over its limits raises DataQualityError and writes nothing. local/etl-engine.ts
implements the same rules in DuckDB.

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
# Beside the output; '_' hides it from Spark, Hive, Athena and the local engine as a data file.
COUNTS_OBJECT = "_etl_counts.json"
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
    check_header_text(header, input_name, path)
    check_duplicate_columns(header, columns, input_name, path)
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


def input_files(spark, source: EtlInput) -> list:
    """The input's data files, sorted: the path itself if it is a file (refused when its name is hidden), else every file under it (recursively)
    except hidden ones (a name below the input starting with '_' or '.', as Hadoop skips them); the same rule as
    local/etl-engine.ts inputFiles. Each file is named as the input's path plus its relative path."""
    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(source.path)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(root):
        raise ValueError(f"input '{source.name}': cannot read {source.path} (no such file or folder)")
    if fs.getFileStatus(root).isFile():
        if root.getName().startswith(("_", ".")):
            # Spark's reader would skip it as hidden (no rows, the job succeeding on nothing); the local engine's wording (local/csv.ts dataFiles).
            raise ValueError(f"input '{source.name}': {source.path}: the file's name starts with '_' or '.', which Spark and Hadoop skip as hidden (read as no rows); rename it")
        return [source.path]
    prefix = fs.makeQualified(root).toString().rstrip("/") + "/"
    files, listing = [], fs.listFiles(root, True)
    while listing.hasNext():
        relative = listing.next().getPath().toString()[len(prefix) :]
        if not any(part.startswith(("_", ".")) for part in relative.split("/")):
            files.append(source.path.rstrip("/") + "/" + relative)
    if not files:
        # The local engine's wording (local/csv.ts dataFiles).
        raise ValueError(f"input '{source.name}': {source.path}: no data file (names starting with '_' or '.' are skipped) in the folder")
    return sorted(files)


def open_text(spark, path: str):
    """A file's bytes as a Java input stream (a *.gz file decompressed: Hadoop picks the codec by the name, as Spark's
    reader does), read on the driver; close it when done."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    stream = hadoop_path.getFileSystem(conf).open(hadoop_path)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(hadoop_path)
    return codec.createInputStream(stream) if codec is not None else stream


def first_line(spark, path: str) -> str:
    """A file's first line (ending at LF, CR LF or CR, as Spark's line reader), read on the driver."""
    jvm = spark.sparkContext._jvm
    text = open_text(spark, path)
    try:
        return jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(text, "UTF-8")).readLine() or ""
    finally:
        text.close()


def first_bad_byte(chunks):
    """Where the first byte that starts no valid UTF-8 sequence is in a file's bytes (an iterable of chunks): (line,
    offset, byte), the line from 1 (the header), lines ending at LF, CR LF or CR; None when every byte is UTF-8. The
    same answer as local/utf8-lines.ts FirstBadByte (a test pins both on the same bytes)."""
    offset, line, last_cr, pending = 0, 1, False, b""
    for chunk in [*chunks, None]:
        data = pending + (chunk or b"")
        try:
            data.decode("utf-8")
            good, bad = len(data), None
        except UnicodeDecodeError as error:
            # A character cut by the chunk's end is completed by the next chunk.
            cut = chunk is not None and error.reason == "unexpected end of data"
            good, bad = error.start, None if cut else error.start
        part = data[:good]
        line += part.count(b"\n") + part.count(b"\r") - part.count(b"\r\n") - (1 if last_cr and part[:1] == b"\n" else 0)
        if part:
            last_cr = part[-1:] == b"\r"
        if bad is not None:
            return line, offset + bad, data[bad]
        offset, pending = offset + good, data[good:]
    return None


def not_utf8_error(path: str, input_name: str, line: int, offset: int, byte: int) -> str:
    """A file with a line that is not UTF-8: Spark would read U+FFFD in place of each bad sequence (and count quotes on
    the raw bytes), which the local engine cannot give, so both refuse it. Identical to local/utf8-lines.ts notUtf8Error."""
    return f"{path}: input '{input_name}': line {line} is not UTF-8 text (byte 0x{byte:02x} at offset {offset}); save the file as UTF-8"


def check_utf8(spark, files: list, input_name: str) -> None:
    """Raises not_utf8_error for the first of `files` (in order) with a byte that is not UTF-8, read on the driver."""
    for path in files:
        text = open_text(spark, path)
        try:
            bad = first_bad_byte(iter(lambda: bytes(text.readNBytes(1 << 20)) or None, None))
        finally:
            text.close()
        if bad is not None:
            raise ValueError(not_utf8_error(path, input_name, *bad))


def data_lines(spark, files: list):
    """The files' lines after each one's first (its header), as Spark's line reader splits them (LF, CR LF or CR; a
    *.gz file decompressed): the line at offset 0 of each file is its header."""
    context = spark.sparkContext
    text = "org.apache.hadoop.mapreduce.lib.input.TextInputFormat", "org.apache.hadoop.io.LongWritable", "org.apache.hadoop.io.Text"
    # The input path set directly, escaped: newAPIHadoopFile's path is split at commas (a file "x, y.csv" would be
    # read as "x" and " y.csv"); Hadoop unescapes a backslash before ',' or '\\' when it reads this setting, then globs it.
    rdds = [context.newAPIHadoopRDD(*text, conf={"mapreduce.input.fileinputformat.inputdir": hadoop_escaped(glob_escaped(path))}) for path in files]
    return context.union(rdds).filter(lambda line: line[0] != 0).map(lambda line: line[1])


def hadoop_escaped(path: str) -> str:
    """A path as one entry of Hadoop's comma-separated input paths (StringUtils.escapeString): '\\' and ',' escaped."""
    return path.replace("\\", "\\\\").replace(",", "\\,")


GLOB_CHARACTERS = re.compile(r"([\\{}\[\]*?])")


def glob_escaped(path: str) -> str:
    """A path as a Hadoop glob that matches only itself: Spark's readers and FileInputFormat glob their input paths, so
    a file named 'a\\b.csv' or 'a[1].csv' would not be found, and 'a*.csv' would match others too."""
    return GLOB_CHARACTERS.sub(r"\\\1", path)


def typed_rows(spark, files: list, header: list, positions: dict, columns: list):
    """The typed rows of files sharing one header (plus _corrupt_record), the count of lines with an unclosed quote,
    and whether a line is not UTF-8 (then no rows: the input is refused)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    # Lines with an unclosed quote (unclosed_quote, in SQL) are dropped before parsing: the local engine does
    # the same, rather than each engine guessing where such a value ends.
    paths = [glob_escaped(path) for path in files]
    text = spark.read.text(paths)
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    # A line that is not UTF-8 changes when decoded and encoded again (each bad sequence becomes U+FFFD).
    not_utf8 = F.col("value").cast("binary") != F.encode("value", "UTF-8")
    counted = text.agg(F.count_if(quotes % 2 == 1), F.count_if(not_utf8)).first()
    unclosed, invalid = counted[0], counted[1]
    if invalid:
        return None, unclosed, True
    # Then the other lines are parsed without each file's first (its header), dropped here by its offset: Spark's
    # header option on lines (not files) would drop every line equal to the header, uncounted.
    # (unclosed_quote inline: a lambda naming this module's function would need the module on the executors)
    lines = paths if unclosed == 0 else data_lines(spark, files).filter(lambda line: line.count('"') % 2 == 0)
    # Read by position with the header's width, so short or long lines land in _corrupt_record.
    raw_schema = StructType([StructField(f"c{i}", StringType()) for i in range(len(header))] + [StructField(CORRUPT, StringType())])
    raw = (
        spark.read.option("header", unclosed == 0)
        .option("multiLine", False)
        .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled (Spark's default escape is '\\')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(raw_schema)
        .csv(lines)
    )
    return raw.select(*[typed_column(f"c{positions[c['name']]}", c["type"]).alias(c["name"]) for c in columns], F.col(CORRUPT)), unclosed, False


def register_csv(spark, source: EtlInput) -> dict:
    """Registers a CSV input as its typed view; returns the rows read and dropped. Each file's columns are found by
    its own header as written (files of one input may order their columns differently), as in the local engine;
    Spark's own header parsing would rename duplicate names (Date -> Date0, Date5) and hide an ambiguous header."""
    from pyspark.sql import DataFrame, functions as F

    schema_file = local_file(source.schema)
    with open(schema_file, encoding="utf-8") as handle:
        columns = check_schema(json.load(handle), schema_file)
    groups = {}  # header line -> its files, in file order
    for path in input_files(spark, source):
        line = first_line(spark, path)
        if line not in groups:
            check_header_text([line], source.name, path)  # before parsing: binary bytes may look like stray quotes
            column_positions(parse_header(line, path), columns, source.name, path)
        groups.setdefault(line, []).append(path)
    parts, unclosed, not_utf8 = [], 0, []
    for line, files in groups.items():
        header = parse_header(line, files[0])
        frame, count, invalid = typed_rows(spark, files, header, column_positions(header, columns, source.name, files[0]), columns)
        parts.append(frame)
        unclosed += count
        not_utf8 += files if invalid else []
    if not_utf8:
        # The first such file in the input's order, as the local engine finds it.
        check_utf8(spark, sorted(not_utf8), source.name)
        raise ValueError(f"input '{source.name}': a line of {', '.join(sorted(not_utf8))} is not UTF-8 text; save the files as UTF-8")
    typed = reduce(DataFrame.unionByName, parts).cache()
    valid = F.col(CORRUPT).isNull()
    for column in columns:
        if column["type"] != "string":
            valid = valid & F.col(column["name"]).isNotNull()
    read = unclosed + typed.count()
    dropped = unclosed + typed.filter(~valid).count()
    typed.filter(valid).select(*[c["name"] for c in columns]).createOrReplaceTempView(source.name)
    LOG.info("input %s: %d rows read, %d dropped (unparseable values or malformed lines) from %s", source.name, read, dropped, source.path)
    return {"read": read, "dropped": dropped}


def counts_object(counts: dict, task_id: Optional[str]) -> dict:
    """The counts object written next to the output (core/quality.ts COUNTS_OBJECT and parseCountsObject): the
    runner reads it into the task output and never publishes it. Parquet inputs drop no rows."""
    return {
        "taskId": task_id,
        "rowsRead": {name: c["read"] for name, c in counts["inputs"].items()},
        "rowsDropped": {name: c["dropped"] for name, c in counts["inputs"].items()},
        "rowsWritten": counts["written"],
    }


def write_text(spark, path: str, text: str) -> None:
    """Writes a small text file through Hadoop's file system (S3 on Glue and EMR, local files under spark-submit)."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    stream = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def run_job(
    spark, inputs: list, output: str, sql_file: str, quality: Optional[dict] = None, task_id: Optional[str] = None, counts_path: Optional[str] = None
) -> int:
    """Registers the inputs, runs the SQL, checks the data-quality gate (DataQualityError: nothing is written),
    overwrites the output with Parquet (Snappy) and then writes the counts object at counts_path (--etl_counts: a
    Glue job's, in its staging folder, as its output is written in place), else as COUNTS_OBJECT in the output
    folder (a staged run's, which the runner never publishes); returns the rows written."""
    # Invalid dates give NULL (dropped rows) rather than an upgrade exception; dates before 1582 (proleptic
    # Gregorian, as DuckDB and Athena read them) are written and read as they are instead of failing the write.
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInRead", "CORRECTED")
    counts = {"inputs": {}, "written": 0, "nulls": {}}
    csv_inputs = {source.name for source in inputs if source.format != "parquet"}
    for source in inputs:
        if source.format == "parquet":
            frame = spark.read.parquet(glob_escaped(source.path))
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
    write_text(spark, counts_path or output.rstrip("/") + "/" + COUNTS_OBJECT, json.dumps(counts_object(counts, task_id)))
    read = {name: count["read"] for name, count in counts["inputs"].items()}
    dropped = {name: counts["inputs"][name]["dropped"] for name in counts["inputs"] if name in csv_inputs}
    # One structured record per run (rows read, dropped per CSV input, written), for log queries and npm run test:spark.
    LOG.info(
        "wrote %d rows to %s; rows read per input: %s; dropped per CSV input: %s", rows, output, _json(read), _json(dropped),
        extra={"etl_result": {"rowsWritten": rows, "rowsRead": read, "droppedRows": dropped}},
    )
    result.unpersist()
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
    # --etl_quality is optional, so a job deployed before the gates existed still runs (with the safe defaults).
    quality = parse_quality(args.get("etl_quality"))
    spark, commit = start_session(args.get("JOB_NAME") or "etl", args)
    run_job(spark, inputs, args["etl_output"], args["etl_sql"], quality, args.get("etl_task_id") or None, args.get("etl_counts") or None)
    commit()
