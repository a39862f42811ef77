// The local ETL engine: the Glue reader semantics of glue-scripts/etl_common.py, in DuckDB.
// Each input becomes a view named by the job's inputs[].name; the job's SQL file runs on them once,
// and its result is written as Parquet (Snappy). DuckDB does the row work; the one pass over the bytes in Node
// (local/strict-lines.ts, else the unclosed-quote scan) only vouches for a clean file or finds malformed lines.
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { EtlInput } from "../core/job-arguments";
import { DEFAULT_LIMITS, enforceQuality, type QualityCounts, type QualityLimits } from "../core/quality";
import { readSchemaFile, type SchemaFile } from "../core/schema-file";
import { mapConcurrent } from "../functions/shared/concurrency";
import { headerColumnsError } from "../core/csv-header";
import { literal } from "../core/sql";
import { runsOnNewConnection } from "./duckdb-instance";
import { CR, csvBytes, dataFiles, isGzipName, LF, QUOTE, readCsvHeader, snakeCase } from "./csv";
import type { FieldKind } from "./strict-lines";
import { wasmLineCounter } from "./strict-lines-wasm";
import { FirstBadByte, notUtf8Error, Utf8Check } from "./utf8-lines";

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
const DATE_FORMAT = "%m/%d/%Y";
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
  const job = { sqlPath, query: sql.trim().replace(/;\s*$/, "") };
  const listed: ListedFiles = await Promise.all(request.inputs.map((input) => inputFiles(input).catch((e: Error) => e)));
  // First the fast way: the job runs on DuckDB's typed reader while the strict line check reads every CSV file; it
  // stands when the check vouches for every file and the reader then skipped none of their lines. Otherwise (a file
  // with a bad or malformed line, or with lines the check is not sure of) the run is redone the exact way, on the
  // same DuckDB (opening one costs about 20 ms of CPU; a small run takes the one the last left idle) but a connection
  // of its own.
  const sizes = await weightedSizes(listed);
  return withDuckDb(oneThreadEnough(listed, sizes), async (duckdb) => {
    const fast = await duckdb.attempt((connection) => fastAttempt(connection, request, listed, job));
    return fast ?? duckdb.attempt((connection) => exactRun(connection, duckdb.scratch, request, listed, sizes, job));
  });
}

/** What a test can see of a run (nothing else uses it): which way it went, the line check it used, and from what size
 * (bytes, as `weightedBytes` counts them) the exact way counts dates and booleans per distinct value. */
export const engineProbe: {
  /** After each attempt, its output already removed when it did not stand. */
  onAttempt?: (attempt: Attempt) => void;
  /** When the fast attempt's check gives its verdict (or fails), before a job it does not vouch for is stopped. */
  onCheck?: (check: "vouched" | "not vouched" | "stopped" | "failed") => void;
  lineCounter: (kinds: FieldKind[]) => LineCounter | Promise<LineCounter>;
  perValueCountFrom: number;
} = { lineCounter: wasmLineCounter, perValueCountFrom: 2 ** 20 };

export type Attempt =
  | { path: "fast"; stood: boolean; job: "done" | "failed" | "not run"; check: "vouched" | "not vouched" | "stopped" | "failed" | "not run" }
  | { path: "exact" };

interface Job {
  sqlPath: string;
  query: string;
}

/** Per input: rows read and dropped. */
type InputCounts = Record<string, { read: number; dropped: number }>;

/** The job on DuckDB's typed reader, vouched by the strict line check; undefined when it does not stand (then nothing is left in the output). */
async function fastAttempt(connection: DuckDBConnection, request: TransformationRequest, listed: ListedFiles, job: Job): Promise<TransformationResult | undefined> {
  const checks: StrictCheck[] = [];
  const views: FastView[] = [];
  const inputs = await registerInputs(connection, request, listed, async (input, files, schema) => {
    const view = await fastCsvView(input, files, schema);
    if (!view) return undefined;
    views.push(view);
    checks.push(...view.checks);
    return view.select;
  });
  if (!inputs) {
    engineProbe.onAttempt?.({ path: "fast", stood: false, job: "not run", check: "not run" });
    return undefined;
  }
  const outputFile = await emptyOutput(request.outputDir);
  // The check runs in Node while DuckDB's threads run the job: a file it does not vouch for stops the job, a job
  // that fails stops the check.
  const checkStop = new AbortController();
  const jobStop = new AbortController();
  let check: "vouched" | "not vouched" | "stopped" | undefined;
  const [ran, records] = await Promise.allSettled([
    runJob(connection, job, outputFile, jobStop.signal).catch((e: Error) => {
      checkStop.abort();
      throw e;
    }),
    strictRecordCounts(checks, checkStop.signal).then(
      (counts) => {
        check = counts ? "vouched" : checkStop.signal.aborted ? "stopped" : "not vouched";
        engineProbe.onCheck?.(check);
        if (!counts) jobStop.abort();
        return counts;
      },
      (e: Error) => {
        engineProbe.onCheck?.("failed");
        jobStop.abort();
        throw e;
      },
    ),
  ]);
  // A job that failed fails again the exact way, which names what failed as it always did.
  const stood = records.status === "fulfilled" && records.value !== undefined && ran.status === "fulfilled" && (await fastViewsHeld(connection, views));
  if (!stood) await rm(request.outputDir, { recursive: true, force: true });
  engineProbe.onAttempt?.({ path: "fast", stood, job: ran.status === "fulfilled" ? "done" : "failed", check: check ?? "failed" });
  if (records.status === "rejected") throw records.reason;
  if (!stood) return undefined;
  for (const [name, read] of records.value!) inputs[name] = { read, dropped: 0 };
  return finish(connection, request, outputFile, inputs, (ran as PromiseFulfilledResult<number>).value);
}

/** The job on the exact views: every CSV file read once to count its rows read and dropped. */
async function exactRun(connection: DuckDBConnection, scratch: Scratch, request: TransformationRequest, listed: ListedFiles, sizes: FileSizes, job: Job): Promise<TransformationResult> {
  engineProbe.onAttempt?.({ path: "exact" });
  // Loading the typed CSV rows in any order is faster; the job's SQL orders its result where it matters.
  await connection.run("SET preserve_insertion_order = false");
  const views: CsvView[] = [];
  const csvCounts: InputCounts = {};
  const parquetCounts = (await registerInputs(connection, request, listed, async (input, files, schema) => {
    const csv = await registerCsv(connection, input, files, schema, scratch, sizes);
    csvCounts[input.name] = csv.counts;
    views.push(csv.view);
    return csv.view.fast?.select ?? csv.view.exact;
  }))!;
  const inputs = { ...parquetCounts, ...csvCounts };
  const outputFile = await emptyOutput(request.outputDir);
  await connection.run("SET preserve_insertion_order = true");
  let rowsWritten: number;
  try {
    rowsWritten = await runJob(connection, job, outputFile);
    // A fast view must have skipped exactly the lines the counting pass rejected (a scan the job cut short, by a
    // LIMIT say, skips fewer); otherwise the job runs again on the exact views.
    if (!(await fastViewsHeld(connection, views.flatMap((v) => v.fast ?? [])))) {
      for (const view of views) await connection.run(`CREATE OR REPLACE TEMP VIEW ${view.name} AS ${view.exact}`);
      rowsWritten = await runJob(connection, job, outputFile);
    }
  } catch (e) {
    await rm(request.outputDir, { recursive: true, force: true });
    throw new Error(`${job.sqlPath}: the job's SQL failed (${(e as Error).message})`);
  }
  return finish(connection, request, outputFile, inputs, rowsWritten);
}

/** Each input's files (inputFiles), listed once for both ways; an input that could not be listed holds its error,
 * thrown when that input's turn comes, so errors come in request order as before. */
type ListedFiles = Array<string[] | Error>;

/** Registers each input as its view, in request order: a Parquet one here, a CSV one as `csvView` selects it (undefined
 * stops). Returns the Parquet inputs' counts, or undefined when `csvView` stopped. */
async function registerInputs(
  connection: DuckDBConnection,
  request: TransformationRequest,
  listed: ListedFiles,
  csvView: (input: EtlInput, files: string[], schema: SchemaFile) => Promise<string | undefined>,
): Promise<InputCounts | undefined> {
  const counts: InputCounts = {};
  for (const [i, input] of request.inputs.entries()) {
    const files = listed[i];
    if (files instanceof Error) throw files;
    if (input.format === "parquet") {
      counts[input.name] = { read: await registerParquet(connection, input, files), dropped: 0 };
      continue;
    }
    const select = await csvView(input, files, loadCsvSchema(input, request.scriptsDir));
    if (select === undefined) return undefined;
    await connection.run(`CREATE TEMP VIEW ${input.name} AS ${select}`);
  }
  return counts;
}

/** A run's in-memory DuckDB and scratch folder; each attempt has a connection of its own, so that what one attempt
 * made (its temporary views and rejects tables) is gone when the next starts. */
interface RunDuckDb {
  attempt<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  scratch: Scratch;
}

/** A run whose files (every file of every input) add up to at most this many bytes (weightedBytes) runs on one DuckDB
 * thread: on small inputs a second thread mostly costs CPU and waits (a 3-row run: 30% less CPU). The price: a
 * CPU-heavy job on small inputs, or a folder of many small parts (read one file per thread otherwise), runs
 * single-threaded. */
const ONE_THREAD_BYTES = 4 * 2 ** 20;
/** Files stat'ed at once. */
const STAT_CONCURRENCY = 8;

/** Each listed file's size as weightedBytes counts it. */
type FileSizes = ReadonlyMap<string, number>;

/** Every file the inputs listed, in request order (an input that could not be listed has none). */
function listedFiles(listed: ListedFiles): string[] {
  return listed.flatMap((f) => (f instanceof Error ? [] : f));
}

async function weightedSizes(listed: ListedFiles): Promise<FileSizes> {
  const files = [...new Set(listedFiles(listed))];
  const sizes = await mapConcurrent(files, STAT_CONCURRENCY, weightedBytes);
  return new Map(files.map((file, i) => [file, sizes[i]]));
}

/** Whether the run's inputs are small enough for one DuckDB thread (a file that cannot be read counts as large). */
function oneThreadEnough(listed: ListedFiles, sizes: FileSizes): boolean {
  return listedFiles(listed).reduce((total, file) => total + sizes.get(file)!, 0) <= ONE_THREAD_BYTES;
}

/** A file's size, a .gz or Parquet file's counted 8 times (compressed); Infinity when it cannot be read. */
async function weightedBytes(file: string): Promise<number> {
  return stat(file).then((s) => (isGzipName(file) || file.toLowerCase().endsWith(".parquet") ? 8 : 1) * s.size, () => Infinity);
}

/** Runs `use` on an in-memory DuckDB (`oneThread`: with one thread, else DuckDB's default of one per core), with a
 * scratch folder removed afterwards; the DuckDB is closed afterwards, or kept for the next small run (releaseDuckDb). */
async function withDuckDb<T>(oneThread: boolean, use: (duckdb: RunDuckDb) => Promise<T>): Promise<T> {
  const instance = await openDuckDb(oneThread);
  const scratch = new Scratch();
  const attempt = async <A>(run: (connection: DuckDBConnection) => Promise<A>): Promise<A> => {
    const connection = await instance.connect();
    try {
      return await run(connection);
    } finally {
      connection.closeSync();
    }
  };
  try {
    return await use({ attempt, scratch });
  } finally {
    await releaseDuckDb(instance, oneThread);
    await scratch.remove();
  }
}

/** A small run's DuckDB, idle, that the next small run takes instead of opening one (opening one costs about 20 ms
 * of CPU, most of a small run's): at most one, closed once unused for IDLE_DUCKDB_MS. Only one-thread DuckDBs are
 * kept: a large run's keeps the memory it used until it closes, so it closes with its run. */
let idleDuckDb: { instance: DuckDBInstance; closing: NodeJS.Timeout } | undefined;
const IDLE_DUCKDB_MS = 10_000;
/** A one-thread DuckDB's options. Its file cache is off (as test/support/parquet.ts's): a run must read each file as
 * it is now, as a DuckDB opened for it would, and a job writes its output at the same path every run and reads it
 * back for the quality gate; DuckDB checks a cached file only by its modification time (and ETag). */
const ONE_THREAD_OPTIONS = { threads: "1", enable_external_file_cache: "false" };

async function openDuckDb(oneThread: boolean): Promise<DuckDBInstance> {
  if (!oneThread) return DuckDBInstance.create(":memory:", {});
  const idle = idleDuckDb;
  if (!idle) return DuckDBInstance.create(":memory:", ONE_THREAD_OPTIONS);
  idleDuckDb = undefined;
  clearTimeout(idle.closing);
  return idle.instance;
}

/** Once every connection of its run is closed (its views and tables gone with them), a small run's DuckDB is kept
 * idle with the one global setting a run changes reset, as a new one would have it. It is closed instead when that
 * fails (a DuckDB an internal error invalidated fails every statement), when one is idle already, or for a large
 * run. Never throws: the run's own result or error stands. */
async function releaseDuckDb(instance: DuckDBInstance, oneThread: boolean): Promise<void> {
  if (oneThread && !idleDuckDb && (await settingReset(instance)) && !idleDuckDb) {
    idleDuckDb = { instance, closing: setTimeout(closeIdleDuckDb, IDLE_DUCKDB_MS).unref() };
    return;
  }
  closeDuckDb(instance);
}

/** Whether `preserve_insertion_order` (a global setting: exactRun sets it) could be reset to DuckDB's default. */
const settingReset = (instance: DuckDBInstance): Promise<boolean> => runsOnNewConnection(instance, "RESET preserve_insertion_order");

function closeDuckDb(instance: DuckDBInstance): void {
  try {
    instance.closeSync();
  } catch {
    // Closing gives its memory back; a DuckDB that cannot even close has none more to give.
  }
}

/** Closes the idle DuckDB, if any: the next run opens one of its own. */
export function closeIdleDuckDb(): void {
  const idle = idleDuckDb;
  idleDuckDb = undefined;
  if (!idle) return;
  clearTimeout(idle.closing);
  closeDuckDb(idle.instance);
}

/** Empties the output folder; returns the file the job writes there. */
async function emptyOutput(outputDir: string): Promise<string> {
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  return join(outputDir, OUTPUT_FILE);
}

/** Runs the job; once `stop` aborts, DuckDB interrupts it. DuckDB drops an interrupt that comes before the query has
 * started (measured: the query then runs to its end), so with `stop` the query is started first, then run, and
 * interrupted then if the stop came meanwhile. Without one (the exact way, which nothing stops) run() does both. */
async function runJob(connection: DuckDBConnection, job: Job, outputFile: string, stop?: AbortSignal): Promise<number> {
  const copy = `COPY (${job.query}) TO ${literal(outputFile)} (FORMAT parquet, COMPRESSION snappy)`;
  if (!stop) return (await connection.run(copy)).rowsChanged;
  const started = await connection.start(copy);
  const interrupt = () => connection.interrupt();
  stop.addEventListener("abort", interrupt);
  try {
    if (stop.aborted) interrupt();
    return (await started.getResult()).rowsChanged;
  } finally {
    stop.removeEventListener("abort", interrupt);
  }
}

/** Checks the written output against the quality limits (removing it when over them); the result, inputs in request order. */
async function finish(connection: DuckDBConnection, request: TransformationRequest, outputFile: string, inputs: InputCounts, rowsWritten: number): Promise<TransformationResult> {
  const ordered: InputCounts = Object.fromEntries(request.inputs.map((i) => [i.name, inputs[i.name]]));
  const counts: QualityCounts = { inputs: ordered, written: rowsWritten, nulls: {} };
  const limits = request.quality ?? DEFAULT_LIMITS;
  try {
    counts.nulls = await outputNulls(connection, outputFile, limits.notNull);
    enforceQuality(counts, limits);
  } catch (e) {
    await rm(request.outputDir, { recursive: true, force: true });
    throw e;
  }
  const csvInputs = request.inputs.filter((i) => i.format === "csv");
  return {
    rowsWritten,
    rowsRead: Object.fromEntries(request.inputs.map((i) => [i.name, ordered[i.name].read])),
    droppedRows: Object.fromEntries(csvInputs.map((i) => [i.name, ordered[i.name].dropped])),
    files: [outputFile],
  };
}

/** Whether every fast view skipped exactly the lines its counting pass rejected (distinct lines: a view read twice records them twice). */
async function fastViewsHeld(connection: DuckDBConnection, views: readonly FastView[]): Promise<boolean> {
  for (const { table, lines } of views.flatMap((v) => v.rejects)) {
    // No table: the job never read that file (it exists once a scan with store_rejects ran), so it skipped none of
    // its lines and none of them reached the output. A table that cannot be read is "not sure" (NaN), never "none
    // skipped": the exact views then decide. Whether it exists is asked only when it cannot be read (the catalog
    // scan costs about 3 ms of CPU in a fresh DuckDB, most of a small run's checks).
    const skipped = await connection.runAndReadAll(`SELECT count(DISTINCT line) FROM ${table}`).then(
      (r) => Number(r.getRows()[0][0]),
      async () => (Number((await connection.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = ${literal(table)}`)).getRows()[0][0]) ? NaN : 0),
    );
    if (skipped !== lines) return false;
  }
  return true;
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
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${fileLiteral(file)})`);
  const present = described.getRows().map((r) => String(r[0]));
  const unknown = columns.filter((c) => !present.includes(c));
  if (unknown.length) throw new Error(`--etl_quality: notNull column(s) ${unknown.join(", ")} not in the job's output (columns: ${present.join(", ")})`);
  const nulls = await connection.runAndReadAll(`SELECT ${columns.map((c) => `count(*) FILTER (WHERE "${c}" IS NULL)`).join(", ")} FROM read_parquet(${fileLiteral(file)})`);
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
    await connection.run(`CREATE TEMP VIEW ${input.name} AS SELECT * FROM read_parquet([${files.map(fileLiteral).join(", ")}])`);
    return Number((await connection.runAndReadAll(`SELECT count(*) FROM ${input.name}`)).getRows()[0][0]);
  } catch (e) {
    throw new Error(`input '${input.name}': cannot read the Parquet files ${files.join(", ")} (${(e as Error).message})`);
  }
}

/** A view on DuckDB's own typed reader, checked after the job: each file's reader must have skipped `lines` lines (distinct) in `table`. */
interface FastView {
  select: string;
  rejects: Array<{ table: string; lines: number }>;
}

/** A CSV input's views on the exact path: exact (typed through the strict forms, filtered when a row had a bad
 * value) and, when no row had one, fast. */
interface CsvView {
  name: string;
  exact: string;
  fast?: FastView;
}

/** DuckDB's type for a schema type: its CSV reader gives the strict forms' values for every text they accept. */
const READER_TYPES: Record<string, string> = { date: "DATE", bigint: "BIGINT", double: "DOUBLE", boolean: "BOOLEAN", string: "VARCHAR" };
/** Types checked once per distinct value in a file of engineProbe.perValueCountFrom bytes or more (few distinct values:
 * dates, booleans); the others, and every type in a smaller file, are checked per row. */
const CHECKED_PER_VALUE = new Set(["date", "boolean"]);
// buffer_size: DuckDB's default (32 MiB) buffers pile up by 1-3 more on a loaded machine as its scan threads drift
// apart, ~330 or ~393 MiB peak by chance; 4 MiB buffers hold ~290 MiB, same speed. It also bounds a line: one up to
// about 4 MiB is read (the default refused lines over 2 MiB), a longer one is a reject, dropped and counted.
const CSV_OPTIONS = `header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', buffer_size = ${4 * 2 ** 20}`;

/** read_csv of `source` with `options`. The compression is given, never guessed: DuckDB's 'auto' knows '.gz' in lower
 * case only, and would read an 'x.CSV.GZ' as text (no rows) where csvBytes decompresses it. */
function readCsv(source: string, options: string): string {
  return `read_csv(${fileLiteral(source)}, compression = '${isGzipName(source) ? "gzip" : "none"}', ${options})`;
}

/** How one CSV file of an input is read: its header checked against the schema, the schema's columns placed. */
async function csvFile(input: EtlInput, file: string, i: number, schema: SchemaFile) {
  const header = await readCsvHeader(file);
  const positions = new Map<string, number>();
  header.forEach((h, position) => positions.has(snakeCase(h)) || positions.set(snakeCase(h), position));
  const refused = headerColumnsError(header, schema.columns, input.name, file);
  if (refused) throw new Error(refused);
  const columns = schema.columns.map((c) => ({ ...c, position: positions.get(snakeCase(c.source!))! }));
  // The typed reader needs one type per position (two schema columns on one header column could differ).
  const types = new Map<number, FieldKind>();
  let oneTypeEach = true;
  for (const c of columns) {
    if (types.has(c.position) && types.get(c.position) !== c.type) oneTypeEach = false;
    types.set(c.position, c.type);
  }
  const rejects = `etl_view_rejects_${input.name}_${i}`;
  return {
    columns,
    /** The header's column count. */
    width: header.length,
    /** Each header position's kind for the strict line check (a column no schema column reads is text); undefined
     * when DuckDB's typed reader cannot serve the file. */
    kinds: oneTypeEach ? header.map((_, position) => types.get(position) ?? "string") : undefined,
    /** Every column as text. */
    text: `${CSV_OPTIONS}, columns = {${header.map((_, position) => `'c${position}': 'VARCHAR'`).join(", ")}}`,
    /** DuckDB's typed reader of `source`, recording the lines it skips in `table`. */
    fast: (source: string) => ({
      table: rejects,
      select:
        `SELECT ${columns.map((c) => `c${c.position} AS ${c.name}`).join(", ")} FROM ${readCsv(source, `${CSV_OPTIONS}, dateformat = '${DATE_FORMAT}', ` +
          `columns = {${header.map((_, position) => `'c${position}': '${READER_TYPES[types.get(position) ?? "string"]}'`).join(", ")}}, ` +
          `store_rejects = true, rejects_table = '${rejects}', rejects_scan = '${rejects}_scan'`)}`,
    }),
  };
}

/** A CSV file for the strict line check, and the input it counts for. */
interface StrictCheck {
  input: string;
  file: string;
  kinds: FieldKind[];
}

/** A CSV input's fast view and the checks that vouch for its files; undefined when a file needs more than DuckDB's typed reader. */
async function fastCsvView(input: EtlInput, files: string[], schema: SchemaFile): Promise<(FastView & { checks: StrictCheck[] }) | undefined> {
  const selects: string[] = [];
  const checks: StrictCheck[] = [];
  const rejects: FastView["rejects"] = [];
  for (const [i, file] of files.entries()) {
    const read = await csvFile(input, file, i, schema);
    if (!read.kinds) return undefined;
    const fast = read.fast(file);
    selects.push(fast.select);
    // The strict line check vouches for no line DuckDB's reader would skip.
    rejects.push({ table: fast.table, lines: 0 });
    checks.push({ input: input.name, file, kinds: read.kinds });
  }
  const names = schema.columns.map((c) => c.name).join(", ");
  return { select: `SELECT ${names} FROM (${selects.join(" UNION ALL ")})`, rejects, checks };
}

/** What the strict line check needs of a line counter (a test may give its own, engineProbe). */
export interface LineCounter {
  /** False once it is no longer sure (the rest of the file need not be read). */
  push(chunk: Uint8Array): boolean;
  end(): number | undefined;
}

/** Records per input when the strict line check vouches for every file; undefined at the first it does not, or once `stop` aborts. */
async function strictRecordCounts(checks: readonly StrictCheck[], stop: AbortSignal): Promise<Map<string, number> | undefined> {
  const records = new Map<string, number>();
  for (const { input, file, kinds } of checks) {
    const counter = await engineProbe.lineCounter(kinds);
    let sure = true;
    await forEachCsvChunk(file, (chunk) => (sure = !stop.aborted && counter.push(chunk)));
    const counted = sure ? counter.end() : undefined;
    if (counted === undefined) return undefined;
    records.set(input, (records.get(input) ?? 0) + counted);
  }
  return records;
}

/**
 * Reads a CSV input once to count its rows read and dropped (malformed lines plus rows with a value that did not
 * parse), and returns the view that exposes its valid rows, streamed from the files (*.gz decompressed) by every
 * query: nothing is loaded into a table, and DuckDB reads and types only the columns a query uses.
 * The counting pass checks every typed value per row in a file under 1 MiB (engineProbe.perValueCountFrom; the listed
 * file's size as weightedBytes counts it, stat'ed once per run); from 1 MiB on, dates and booleans once per distinct
 * value (a hash aggregate per column), the others per row, and only when a distinct value is bad does a second pass
 * count the rows that hold one.
 * When no row has a bad value, the view is DuckDB's typed reader (no strict checks left to do).
 */
async function registerCsv(connection: DuckDBConnection, input: EtlInput, files: string[], schema: SchemaFile, scratch: Scratch, sizes: FileSizes): Promise<{ counts: { read: number; dropped: number }; view: CsvView }> {
  const names = schema.columns.map((c) => c.name);
  const valid = schema.columns.filter((c) => c.type !== "string").map((c) => `${c.name} IS NOT NULL`).join(" AND ") || "true";
  let malformedLines = 0;
  let loaded = 0;
  let invalid = 0;
  const selects: string[] = [];
  const fastSelects: string[] = [];
  const rejects: Array<{ table: string; lines: number }> = [];
  let fastPossible = true;
  for (const [i, file] of files.entries()) {
    const { columns, kinds, text, fast, width } = await csvFile(input, file, i, schema);
    // Records are lines, as in Spark's default reader (multiLine false): a line with an unclosed quote is
    // malformed by itself. DuckDB would read on to the next quote, swallowing the following lines unreported.
    // A blank line is no record in Spark's reader; DuckDB skips it as a short line when the header has several
    // columns, but reads it as a record (NULL, or its white space) when the header has one: such a file's blank
    // lines are removed too (not counted). The scan streams the file; only a file with such lines is copied without
    // them (streamed too).
    const { unclosed, blank } = await linesToRemove(input, file, width === 1);
    let source = file;
    if (unclosed.length || blank.length) {
      // The copy is plain text (readCsv gives the compression by the name).
      source = join(await scratch.dir(), `${input.name}-${i}-${basename(file).replace(/\.gz$/i, "")}`);
      await copyWithoutRanges(file, source, [...unclosed, ...blank].sort((a, b) => a.start - b.start));
      malformedLines += unclosed.length;
    }
    const typed = columns.map((c) => `${typedValue(`c${c.position}`, c.type)} AS ${c.name}`);
    const rejectsTable = `etl_rejects_${input.name}_${i}`;
    const csv = readCsv(source, `${text}, store_rejects = true, rejects_table = '${rejectsTable}', rejects_scan = '${rejectsTable}_scan'`);
    const typedReader = fast(source);
    try {
      const { rows, bad } = await countRows(connection, csv, columns, sizes.get(file)! >= engineProbe.perValueCountFrom);
      loaded += rows;
      invalid += bad;
      // A blank line is no record (Spark's reader skips it too), not a malformed one: blank as Java's String.trim
      // sees it, every character at most U+0020 (white space and control characters).
      const rejected = await connection.runAndReadAll(`SELECT count(DISTINCT line), count(DISTINCT line) FILTER (WHERE NOT regexp_full_match(csv_line, '[\\x00-\\x20]*')) FROM ${rejectsTable}`);
      const [skipped, malformed] = rejected.getRows()[0].map(Number);
      malformedLines += malformed;
      rejects.push({ table: typedReader.table, lines: skipped });
    } catch (e) {
      throw new Error(`${file}: input '${input.name}': cannot read the CSV (${(e as Error).message})`);
    }
    // The same lines are skipped when the view is read (ignore_errors skips what store_rejects recorded).
    selects.push(`SELECT ${typed.join(", ")} FROM ${readCsv(source, `${text}, ignore_errors = true`)}`);
    fastPossible &&= kinds !== undefined;
    fastSelects.push(typedReader.select);
  }
  const filter = invalid > 0 ? ` WHERE ${valid}` : "";
  const view: CsvView = { name: input.name, exact: `SELECT ${names.join(", ")} FROM (${selects.join(" UNION ALL ")})${filter}` };
  if (invalid === 0 && fastPossible) view.fast = { select: `SELECT ${names.join(", ")} FROM (${fastSelects.join(" UNION ALL ")})`, rejects };
  return { counts: { read: malformedLines + loaded, dropped: malformedLines + invalid }, view };
}

/**
 * Counts a CSV file's rows and those with a bad typed value. A row is bad when a check is false or NULL (an empty
 * value). With `perValue` (a large file), dates and booleans are checked once per distinct value (GROUPING SETS: one
 * hash table per column, in the same scan), bigints and doubles per row, and when some distinct value is bad, the
 * rows holding one are counted per row. Otherwise every value is checked per row: on a small file (up to about
 * 10,000 rows) that costs less than the hash tables (a 1,000-row file: 6 ms of CPU, against 12).
 */
async function countRows(connection: DuckDBConnection, csv: string, columns: ReadonlyArray<{ type: string; position: number }>, perValue: boolean): Promise<{ rows: number; bad: number }> {
  const typedColumns = columns.filter((c) => c.type !== "string");
  const perRow = (list: typeof typedColumns) => `NOT coalesce(${list.map((c) => validValue(`c${c.position}`, c.type)).join(" AND ") || "true"}, false)`;
  const exact = async () => {
    const counted = await connection.runAndReadAll(`SELECT count(*), count(*) FILTER (WHERE ${perRow(typedColumns)}) FROM ${csv}`);
    const [rows, bad] = counted.getRows()[0].map(Number);
    return { rows, bad };
  };
  const grouped = [...new Set(typedColumns.filter((c) => CHECKED_PER_VALUE.has(c.type)).map((c) => c.position))];
  // grouping_id holds one bit per key; past 60 keys the per-row count is simpler.
  if (!perValue || !grouped.length || grouped.length > 60) return exact();
  const keys = grouped.map((p) => `c${p}`);
  const all = (1n << BigInt(keys.length)) - 1n;
  // grouping_id sets a key's bit (the first key is the highest) when the set does not group by it.
  const setOf = (k: number) => all - (1n << BigInt(keys.length - 1 - k));
  const badValue = grouped.map((p, k) => `(set_id = ${setOf(k)} AND ${perRow(typedColumns.filter((c) => c.position === p))})`);
  const counted = await connection.runAndReadAll(
    `WITH sets AS (SELECT grouping_id(${keys.join(", ")}) AS set_id, ${keys.join(", ")}, count(*) AS n, ` +
      `count(*) FILTER (WHERE ${perRow(typedColumns.filter((c) => !CHECKED_PER_VALUE.has(c.type)))}) AS bad ` +
      `FROM ${csv} GROUP BY GROUPING SETS ((), ${keys.map((k) => `(${k})`).join(", ")})) ` +
      `SELECT coalesce(sum(n) FILTER (WHERE set_id = ${all}), 0), coalesce(sum(bad) FILTER (WHERE set_id = ${all}), 0), ` +
      `coalesce(sum(n) FILTER (WHERE ${badValue.join(" OR ")}), 0) FROM sets`,
  );
  const [rows, bad, badValues] = counted.getRows()[0].map(Number);
  if (badValues === 0) return { rows, bad };
  // This scan records the same rejected lines again; they are counted distinct.
  return exact();
}

/** Bytes of a file, from `start` to `end` (a line: after its line break). */
export interface ByteRange {
  start: number;
  end: number;
}

/** A line of a file: its bytes from `start` to `end` (after its line break), numbered from 1. */
export interface LineRange extends ByteRange {
  line: number;
}

/**
 * Finds the lines with an odd number of '"' (an unclosed quote) in a stream of chunks, as byte ranges. A line ends
 * at LF, CR LF or a lone CR, as in Spark's line reader. The same rule as etl_common.py's unclosed_quote (a test pins
 * it); '"' is one byte in UTF-8. Native searches jump from quote to quote, so a file with few quotes costs little
 * more than its read; memory is one chunk.
 */
export class UnclosedQuoteScanner {
  private readonly ranges: ByteRange[] = [];
  /** Absolute offset of the next byte pushed. */
  private offset = 0;
  /** Absolute offset where the current line starts. */
  private lineStart = 0;
  private odd = false;
  /** A CR that ended the last chunk: whether it ends its line alone depends on the next byte. */
  private pendingCr = false;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let data = chunk;
    let base = this.offset;
    if (this.pendingCr) {
      this.pendingCr = false;
      data = Buffer.concat([Uint8Array.of(CR), chunk]);
      base -= 1;
    }
    let usable = data.length;
    if (data[usable - 1] === CR) {
      this.pendingCr = true;
      usable -= 1;
    }
    this.scan(data.subarray(0, usable), base);
    this.offset += chunk.length;
  }

  /** The ranges found, once the last chunk is pushed. */
  end(): ByteRange[] {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.scan(Uint8Array.of(CR), this.offset - 1);
    }
    if (this.odd) this.ranges.push({ start: this.lineStart, end: this.offset });
    this.odd = false;
    return this.ranges;
  }

  private scan(data: Uint8Array, base: number): void {
    let pos = 0;
    let nextCr = -2; // not searched yet
    while (pos < data.length) {
      const quote = data.indexOf(QUOTE, pos);
      if (!this.odd) {
        // Up to the next quote (or the end) only the last line break matters: a new line starts after it.
        const segment = data.subarray(pos, quote === -1 ? data.length : quote);
        const lastBreak = Math.max(segment.lastIndexOf(LF), segment.lastIndexOf(CR));
        if (lastBreak >= 0) this.lineStart = base + pos + lastBreak + 1;
        if (quote === -1) return;
        this.odd = true;
        pos = quote + 1;
        continue;
      }
      // An open quote: the line's first break decides, unless a closing quote comes first.
      const lf = data.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = data.indexOf(CR, pos);
      const breakAt = lf === -1 ? nextCr : nextCr === -1 ? lf : Math.min(lf, nextCr);
      if (quote !== -1 && (breakAt === -1 || quote < breakAt)) {
        this.odd = false;
        pos = quote + 1;
        continue;
      }
      if (breakAt === -1) return;
      const end = data[breakAt] === CR && data[breakAt + 1] === LF ? breakAt + 2 : breakAt + 1;
      this.ranges.push({ start: this.lineStart, end: base + end });
      this.lineStart = base + end;
      this.odd = false;
      pos = end;
    }
  }
}

/** The lines of `data` with an unclosed quote, numbered (tests and small inputs; files are streamed). */
export function unclosedQuoteLines(data: Uint8Array): LineRange[] {
  const scanner = new UnclosedQuoteScanner();
  scanner.push(data);
  let line = 1;
  let at = 0;
  return scanner.end().map(({ start, end }) => {
    for (; at < start; at++) if (data[at] === LF || (data[at] === CR && data[at + 1] !== LF)) line++;
    return { line, start, end };
  });
}

/**
 * Finds the blank lines (every byte at most 0x20: white space and control characters alone, blank to Java's
 * String.trim, which Spark's CSV reader skips lines by) in a stream of chunks, as byte ranges. A line ends at LF,
 * CR LF or a lone CR, as in UnclosedQuoteScanner; a line that is not blank is crossed with native searches.
 */
export class BlankLineScanner {
  private readonly ranges: ByteRange[] = [];
  /** Absolute offset of the next byte pushed. */
  private offset = 0;
  /** Absolute offset where the current line starts. */
  private lineStart = 0;
  /** Whether the current line's bytes so far are all blank. */
  private blank = true;
  /** A CR that ended the last chunk: whether it ends its line alone depends on the next byte. */
  private pendingCr = false;

  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let p = 0;
    if (this.pendingCr && length > 0) {
      this.pendingCr = false;
      if (chunk[0] === LF) this.endLine(this.offset + (p = 1));
      else this.endLine(this.offset);
    }
    // The next LF and CR at or after p: -2 not searched yet, -1 none in this chunk.
    let lf = -2;
    let cr = -2;
    while (p < length) {
      let b = chunk[p];
      if (this.blank) {
        while (b !== LF && b !== CR && b <= 0x20 && ++p < length) b = chunk[p];
        if (p === length) break;
        if (b > 0x20) this.blank = false;
      }
      if (!this.blank) {
        if (lf !== -1 && lf < p) lf = chunk.indexOf(LF, p);
        if (cr !== -1 && cr < p) cr = chunk.indexOf(CR, p);
        const at = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (at === -1) break;
        b = chunk[(p = at)];
      }
      if (b === LF) this.endLine(this.offset + ++p);
      else if (p + 1 === length) {
        this.pendingCr = true;
        p++;
      } else if (chunk[p + 1] === LF) this.endLine(this.offset + (p += 2));
      else this.endLine(this.offset + ++p);
    }
    this.offset += length;
  }

  /** The ranges found, once the last chunk is pushed. */
  end(): ByteRange[] {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.endLine(this.offset);
    }
    // A last line without a line break.
    if (this.lineStart < this.offset) this.endLine(this.offset);
    return this.ranges;
  }

  private endLine(end: number): void {
    if (this.blank) this.ranges.push({ start: this.lineStart, end });
    this.lineStart = end;
    this.blank = true;
  }
}

/** The byte ranges of a file's lines with an unclosed quote and, when `blankLines`, of its blank lines (streamed: memory
 * does not grow with the file). A file with a line that is not UTF-8 is refused, naming its first bad byte. */
async function linesToRemove(input: EtlInput, file: string, blankLines: boolean): Promise<{ unclosed: ByteRange[]; blank: ByteRange[] }> {
  const quotes = new UnclosedQuoteScanner();
  const blanks = blankLines ? new BlankLineScanner() : undefined;
  const utf8 = new Utf8Check();
  await forEachCsvChunk(file, (chunk) => {
    utf8.push(chunk);
    quotes.push(chunk);
    blanks?.push(chunk);
  });
  if (!utf8.end()) {
    const bad = new FirstBadByte();
    await forEachCsvChunk(file, (chunk) => bad.push(chunk));
    throw new Error(notUtf8Error(file, input.name, bad.end()!));
  }
  return { unclosed: quotes.end(), blank: blanks?.end() ?? [] };
}

/** Gives a CSV file's bytes (a .gz decompressed) to `use` chunk by chunk, until `use` returns false; errors name the file. */
async function forEachCsvChunk(file: string, use: (chunk: Buffer) => boolean | void): Promise<void> {
  try {
    if (isGzipName(file)) {
      for await (const chunk of csvBytes(file) as AsyncIterable<Buffer>) if (use(chunk) === false) return;
    } else await readInto(file, use);
  } catch (e) {
    throw new Error(`${file}: cannot read the CSV file (${(e as Error).message})`);
  }
}

/** Reads a file through one reused 1 MiB buffer: a read stream allocates fresh memory per chunk, which made the quote
 * scan of 449 MiB cost 0.44-0.53 s of CPU instead of 0.12-0.14 s. `use` must not keep the chunk; returning false stops the read. */
async function readInto(file: string, use: (chunk: Buffer) => boolean | void): Promise<void> {
  const handle = await open(file);
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      if (use(buffer.subarray(0, bytesRead)) === false) return;
    }
  } finally {
    await handle.close();
  }
}

/** Writes the file's bytes without the ranges (sorted, not overlapping) to `target`, streamed. */
async function copyWithoutRanges(file: string, target: string, ranges: readonly ByteRange[]): Promise<void> {
  let offset = 0;
  let next = 0;
  const filter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const chunkEnd = offset + chunk.length;
      let at = offset;
      while (at < chunkEnd) {
        while (next < ranges.length && ranges[next].end <= at) next++;
        const range = ranges[next];
        if (!range || range.start >= chunkEnd) {
          this.push(chunk.subarray(at - offset));
          break;
        }
        if (range.start > at) this.push(chunk.subarray(at - offset, range.start - offset));
        at = Math.min(range.end, chunkEnd);
      }
      offset = chunkEnd;
      done();
    },
  });
  await pipeline(csvBytes(file), filter, createWriteStream(target)).catch((e: Error) => {
    throw new Error(`${file}: cannot copy the CSV without its malformed lines (${e.message})`);
  });
}

/** A temporary folder made on first use, removed with everything in it at the end of a run. */
class Scratch {
  private made?: Promise<string>;

  dir(): Promise<string> {
    this.made ??= mkdtemp(join(tmpdir(), "etl-engine-csv-"));
    return this.made;
  }

  async remove(): Promise<void> {
    if (this.made) await rm(await this.made, { recursive: true, force: true });
  }
}

/** True when typedValue gives a value (not NULL) for the text: the same rule, cheaper to test. */
function validValue(column: string, type: string): string {
  switch (type) {
    case "boolean":
      return `upper(${column}) IN ('TRUE', 'FALSE')`;
    case "string":
      return "true";
    default:
      return `(${typedValue(column, type)}) IS NOT NULL`;
  }
}

/** A typed value, or NULL when the text does not parse (the row is then dropped). */
export function typedValue(column: string, type: string): string {
  switch (type) {
    case "date":
      return `CASE WHEN regexp_full_match(${column}, '${VALUE_PATTERNS.date}') THEN CAST(try_strptime(${column}, '${DATE_FORMAT}') AS DATE) END`;
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

/** A file's path as a SQL literal DuckDB's readers take for that file alone: they glob their path ('*', '?', '[...]';
 * a file named 'a[b].csv' would not be found and 'a*.csv' would match others too), and a character in brackets is itself. */
function fileLiteral(path: string): string {
  return literal(path.replace(/[*?[]/g, "[$&]"));
}
