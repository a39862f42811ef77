// The local ETL engine: the Glue reader semantics of glue-scripts/etl_common.py, in DuckDB.
// Each input becomes a view named by the job's inputs[].name; the job's SQL file runs on them once,
// and its result is written as Parquet (Snappy). DuckDB does all the row work: no per-row JavaScript.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { EtlInput } from "../core/job-arguments";
import { DEFAULT_LIMITS, enforceQuality, type QualityCounts, type QualityLimits } from "../core/quality";
import { readSchemaFile, type SchemaFile } from "../core/schema-file";
import { dataFiles, duplicateColumnError, isGzipName, missingColumns, readCsvHeader, snakeCase } from "./csv";

export interface TransformationRequest {
  /** As in `--etl_inputs`, with `path` a local file or folder (see inputFiles: CSV reads every file not hidden, recursively). */
  inputs: EtlInput[];
  /** The job's SQL file: absolute, or relative to scriptsDir. */
  sqlFile: string;
  /** Receives the Parquet files; whatever was there is removed first. */
  outputDir: string;
  /** glue-scripts/: holds schemas/<schema>. */
  scriptsDir: string;
  /** The data-quality limits (`--etl_quality`). Default: the safe defaults (core/quality.ts). */
  quality?: QualityLimits;
}

export interface TransformationResult {
  rowsWritten: number;
  /** Per input: rows read (for CSV, every data line, dropped ones included). */
  rowsRead: Record<string, number>;
  /** Per CSV input: rows dropped because a typed value did not parse or the line was malformed. */
  droppedRows: Record<string, number>;
  /** The Parquet files written, absolute paths. */
  files: string[];
}

const VIEW_NAME = /^[a-z_][a-z0-9_]*$/;
const OUTPUT_FILE = "part-00000.snappy.parquet";
// Strict forms of typed values (whole-text matches), identical to etl_common.py (a test pins it),
// so both engines accept and drop the same values.
export const VALUE_PATTERNS = {
  date: "(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4}",
  bigint: "-?[0-9]+",
  double: "-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?",
} as const;

/**
 * Runs one job's transformation on local files. Errors name the input, file, column or SQL file at fault; a job
 * over its data-quality limits throws DataQualityError and leaves no output.
 */
export async function runTransformation(request: TransformationRequest): Promise<TransformationResult> {
  const sqlPath = isAbsolute(request.sqlFile) ? request.sqlFile : join(request.scriptsDir, request.sqlFile);
  const sql = await readFile(sqlPath, "utf8").catch((e: Error) => {
    throw new Error(`${sqlPath}: cannot read the job's SQL (${e.message})`);
  });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    // Loading the typed CSV rows in any order is faster; the job's SQL orders its result where it matters.
    await connection.run("SET preserve_insertion_order = false");
    const droppedRows: Record<string, number> = {};
    const counts: QualityCounts = { inputs: {}, written: 0, nulls: {} };
    for (const input of request.inputs) {
      const files = await inputFiles(input);
      if (input.format === "parquet") counts.inputs[input.name] = { read: await registerParquet(connection, input, files), dropped: 0 };
      else {
        counts.inputs[input.name] = await registerCsv(connection, input, files, loadCsvSchema(input, request.scriptsDir));
        droppedRows[input.name] = counts.inputs[input.name].dropped;
      }
    }
    const outputFile = join(request.outputDir, OUTPUT_FILE);
    await rm(request.outputDir, { recursive: true, force: true });
    await mkdir(request.outputDir, { recursive: true });
    let rowsWritten: number;
    try {
      await connection.run("SET preserve_insertion_order = true");
      const copy = await connection.run(`COPY (${sql.trim().replace(/;\s*$/, "")}) TO ${literal(outputFile)} (FORMAT parquet, COMPRESSION snappy)`);
      rowsWritten = copy.rowsChanged;
    } catch (e) {
      await rm(request.outputDir, { recursive: true, force: true });
      throw new Error(`${sqlPath}: the job's SQL failed (${(e as Error).message})`);
    }
    counts.written = rowsWritten;
    const limits = request.quality ?? DEFAULT_LIMITS;
    try {
      counts.nulls = await outputNulls(connection, outputFile, limits.notNull);
      enforceQuality(counts, limits);
    } catch (e) {
      await rm(request.outputDir, { recursive: true, force: true });
      throw e;
    }
    const rowsRead = Object.fromEntries(Object.entries(counts.inputs).map(([name, c]) => [name, c.read]));
    return { rowsWritten, rowsRead, droppedRows, files: [outputFile] };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The input's files, sorted (csv.ts dataFiles: a file, or a folder's files except hidden ones; Parquet: *.parquet). */
async function inputFiles(input: EtlInput): Promise<string[]> {
  if (!VIEW_NAME.test(input.name)) throw new Error(`input name ${JSON.stringify(input.name)}: not a SQL view name (lower snake_case)`);
  if (input.format !== "csv" && input.format !== "parquet") throw new Error(`input '${input.name}': format ${JSON.stringify(input.format)} is not csv or parquet`);
  return dataFiles(input.path, input.format === "parquet" ? ".parquet" : undefined).catch((e: Error) => {
    throw new Error(`input '${input.name}': ${e.message}`);
  });
}

/** Null count of each notNull column of the written output; a column the output lacks is named. */
async function outputNulls(connection: DuckDBConnection, file: string, columns: readonly string[]): Promise<Record<string, number>> {
  if (!columns.length) return {};
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal(file)})`);
  const present = described.getRows().map((r) => String(r[0]));
  const unknown = columns.filter((c) => !present.includes(c));
  if (unknown.length) throw new Error(`--etl_quality: notNull column(s) ${unknown.join(", ")} not in the job's output (columns: ${present.join(", ")})`);
  const nulls = await connection.runAndReadAll(`SELECT ${columns.map((c) => `count(*) FILTER (WHERE "${c}" IS NULL)`).join(", ")} FROM read_parquet(${literal(file)})`);
  const row = nulls.getRows()[0];
  return Object.fromEntries(columns.map((c, i) => [c, Number(row[i])]));
}

function loadCsvSchema(input: EtlInput, scriptsDir: string): SchemaFile {
  if (!input.schema) throw new Error(`input '${input.name}': a CSV input needs a schema`);
  const path = join(scriptsDir, "schemas", input.schema);
  const schema = readSchemaFile(path);
  const unnamed = schema.columns.filter((c) => !c.source).map((c) => c.name);
  if (unnamed.length) throw new Error(`${path}: columns without a 'source' header: ${unnamed.join(", ")}`);
  return schema;
}

/** Registers a Parquet input as its view; returns its row count (from the files' metadata). */
async function registerParquet(connection: DuckDBConnection, input: EtlInput, files: string[]): Promise<number> {
  try {
    await connection.run(`CREATE VIEW ${input.name} AS SELECT * FROM read_parquet([${files.map(literal).join(", ")}])`);
    return Number((await connection.runAndReadAll(`SELECT count(*) FROM ${input.name}`)).getRows()[0][0]);
  } catch (e) {
    throw new Error(`input '${input.name}': cannot read the Parquet files ${files.join(", ")} (${(e as Error).message})`);
  }
}

/**
 * Loads every file of a CSV input (*.gz decompressed) into one typed table (one pass over the CSV), and exposes
 * its valid rows as the input's view. Returns the rows read and dropped (malformed lines plus rows with a value
 * that did not parse).
 */
async function registerCsv(connection: DuckDBConnection, input: EtlInput, files: string[], schema: SchemaFile): Promise<{ read: number; dropped: number }> {
  const table = `etl_typed_${input.name}`;
  const names = schema.columns.map((c) => c.name);
  let malformedLines = 0;
  let copies: string | undefined;
  try {
    for (const [i, file] of files.entries()) {
      const header = await readCsvHeader(file);
      // Records are lines, as in Spark's default reader (multiLine false): a line with an unclosed quote is
      // malformed by itself. DuckDB would read on to the next quote, swallowing the following lines unreported.
      const gzip = isGzipName(file);
      const data = await readFile(file).then((raw) => (gzip ? gunzipSync(raw) : raw));
      const unclosed = unclosedQuoteLines(data);
      let source = file;
      if (unclosed.length) {
        copies ??= await mkdtemp(join(tmpdir(), "etl-engine-csv-"));
        // The copy is plain text (DuckDB picks the compression by the name).
        source = join(copies, `${i}-${basename(file).replace(/\.gz$/i, "")}`);
        await writeFile(source, withoutRanges(data, unclosed));
        malformedLines += unclosed.length;
      }
      const positions = new Map<string, number>();
      header.forEach((h, position) => positions.has(snakeCase(h)) || positions.set(snakeCase(h), position));
      const duplicate = duplicateColumnError(header, schema.columns, input.name, file);
      if (duplicate) throw new Error(duplicate);
      const missing = missingColumns(header, schema.columns);
      if (missing.length)
        throw new Error(`${file}: input '${input.name}' lacks required column(s) ${missing.map((c) => JSON.stringify(c)).join(", ")} (header: ${JSON.stringify(header)})`);
      const typed = schema.columns.map((c) => `${typedValue(`c${positions.get(snakeCase(c.source!))}`, c.type)} AS ${c.name}`);
      const rejects = `etl_rejects_${input.name}_${i}`;
      const reader =
        `read_csv(${literal(source)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
        `columns = {${header.map((_, position) => `'c${position}': 'VARCHAR'`).join(", ")}}, ` +
        `store_rejects = true, rejects_table = '${rejects}', rejects_scan = '${rejects}_scan')`;
      const select = `SELECT ${typed.join(", ")} FROM ${reader}`;
      try {
        await connection.run(i === 0 ? `CREATE TEMP TABLE ${table} AS ${select}` : `INSERT INTO ${table} ${select}`);
        const rejected = await connection.runAndReadAll(`SELECT count(DISTINCT line) FROM ${rejects}`);
        malformedLines += Number(rejected.getRows()[0][0]);
      } catch (e) {
        throw new Error(`${file}: input '${input.name}': cannot read the CSV (${(e as Error).message})`);
      }
    }
  } finally {
    if (copies) await rm(copies, { recursive: true, force: true });
  }
  const valid = schema.columns.filter((c) => c.type !== "string").map((c) => `${c.name} IS NOT NULL`).join(" AND ") || "true";
  const reader = await connection.runAndReadAll(`SELECT count(*) FILTER (WHERE NOT (${valid})), count(*) FROM ${table}`);
  await connection.run(`CREATE VIEW ${input.name} AS SELECT ${names.join(", ")} FROM ${table} WHERE ${valid}`);
  const [invalid, loaded] = reader.getRows()[0].map(Number);
  return { read: malformedLines + loaded, dropped: malformedLines + invalid };
}

/** A line of a file: its bytes from `start` to `end` (after its line break), numbered from 1. */
export interface LineRange {
  line: number;
  start: number;
  end: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The lines with an odd number of '"' (an unclosed quote). A line ends at LF, CR LF or a lone CR, as in Spark's
 * line reader. The same rule as etl_common.py's unclosed_quote (a test pins it); '"' is one byte in UTF-8.
 */
export function unclosedQuoteLines(data: Uint8Array): LineRange[] {
  const found: LineRange[] = [];
  // Most files quote nothing: one native search, instead of a byte loop, then settles it.
  if (data.indexOf(QUOTE) === -1) return found;
  let line = 1;
  let start = 0;
  let quotes = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte === QUOTE) quotes++;
    else if (byte === LF || byte === CR) {
      if (byte === CR && data[i + 1] === LF) i++;
      if (quotes % 2 === 1) found.push({ line, start, end: i + 1 });
      line++;
      start = i + 1;
      quotes = 0;
    }
  }
  if (quotes % 2 === 1) found.push({ line, start, end: data.length });
  return found;
}

function withoutRanges(data: Uint8Array, ranges: LineRange[]): Buffer {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const range of ranges) {
    parts.push(data.subarray(at, range.start));
    at = range.end;
  }
  parts.push(data.subarray(at));
  return Buffer.concat(parts);
}

/** A typed value, or NULL when the text does not parse (the row is then dropped). */
function typedValue(column: string, type: string): string {
  switch (type) {
    case "date":
      return `CASE WHEN regexp_full_match(${column}, '${VALUE_PATTERNS.date}') THEN CAST(try_strptime(${column}, '%m/%d/%Y') AS DATE) END`;
    case "bigint":
      return `CASE WHEN regexp_full_match(${column}, '${VALUE_PATTERNS.bigint}') THEN TRY_CAST(${column} AS BIGINT) END`;
    case "double":
      return `CASE WHEN regexp_full_match(${column}, '${VALUE_PATTERNS.double}') THEN TRY_CAST(${column} AS DOUBLE) END`;
    case "boolean":
      return `CASE upper(${column}) WHEN 'TRUE' THEN true WHEN 'FALSE' THEN false END`;
    case "string":
      return column;
    default:
      throw new Error(`column type ${JSON.stringify(type)} is not supported`);
  }
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
