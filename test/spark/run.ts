// npm run test:spark: every job of the active configuration (etl.config.json, or ETL_CONFIG / ETL_ENV) runs on
// real Spark (local[2], one session for all cases) through its own script and etl_common.main(), job after job as
// the workflow runs them, on each case of cases.ts; the local DuckDB engine runs the same jobs on the same files.
// Every job's outcome must be the same in both: the error (DataQualityError or another) and its message, or the
// rows written, the rows read and dropped per input, the output's columns and types, and its rows in order. Both
// get the job's --etl_quality (its configured limits, or the case's). Then each case of test/csv-line-cases.ts (an
// input on a schema of its own) runs in both through the configuration's first script that reads a dataset: both must
// give the case's answer (Spark's, which the local engine's tests hold it to). Ends with "N passed, N failed"; exit 1 on a failure.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { defineCommand, runAsScript } from "../../core/cli-args";
import { PROJECT_ROOT, loadConfig, schemaPath, scriptPath, scriptsDir, type EtlConfig } from "../../core/config";
import { jobArguments, type EtlInput } from "../../core/job-arguments";
import { COUNTS_OBJECT, DataQualityError, parseCountsObject, parseQualityLimits } from "../../core/quality";
import { readSchemaFile } from "../../core/schema-file";
import { DEFAULT_SALES_ROWS } from "../../local/sample-data";
import { splitCsvLine } from "../csv-line";
import { CSV_LINE_CASES, CSV_LINE_QUALITY, CSV_LINE_SQL, CSV_LINE_VIEW } from "../csv-line-cases";
import { CASES, sampleLines, type DatasetSample } from "./cases";

// Loaded once the arguments parse (core/cli-args.ts: entry points): DuckDB, the local engine, the ASL checks.
const duckdb = () => require("@duckdb/node-api") as typeof import("@duckdb/node-api");
const etlEngine = () => require("../../local/etl-engine") as typeof import("../../local/etl-engine");
const consistency = () => require("../../asl/consistency") as typeof import("../../asl/consistency");
const parquetSupport = () => require("../support/parquet") as typeof import("../support/parquet");

const BUCKET = "test-spark-bucket";
const PYTHON = join(PROJECT_ROOT, ".venv", "bin", "python");
/** Rows of the generated sales sample per case: the real sample's size for "sample data", fewer for the others. */
const SAMPLE_ROWS = { full: DEFAULT_SALES_ROWS, small: 2_000 };
/** A job script that imports a function etl_common lacks: its run must fail, or the harness could not see one. */
const CANARY = { id: "canary/missing-function", script: "from etl_common import no_such_function\n\nif __name__ == \"__main__\":\n    no_such_function()\n" };

type Outcome =
  | { status: "ok"; rowsWritten: number; rowsRead: Record<string, number>; droppedRows: Record<string, number>; files: string[] }
  /** dataQuality: the job failed its data-quality gate (DataQualityError), not another error. */
  | { status: "error"; error: string; dataQuality: boolean }
  | { status: "skipped" };

interface JobRun {
  id: string;
  caseName: string;
  job: string;
  needs: string[];
  /** The job's arguments with the bucket mapped to an engine's folders (scriptsDir: the local engine's, when not the configuration's). */
  args(engine: "spark" | "duckdb"): { inputs: EtlInput[]; output: string; sql: string; quality: string; scriptsDir?: string };
  /** A CSV line case's answer, which both engines must give. */
  expected?: Answer;
}

/** Jobs in the order the workflow can run them: a job after every job whose output it reads. */
function jobOrder(config: EtlConfig): string[] {
  const order: string[] = [];
  const pending = Object.keys(config.jobs);
  while (pending.length) {
    const ready = pending.find((id) => config.jobs[id].inputs.every((i) => i.job === undefined || order.includes(i.job)));
    if (!ready) throw new Error(`jobs ${pending.join(", ")}: their inputs form a cycle`);
    order.push(ready);
    pending.splice(pending.indexOf(ready), 1);
  }
  return order;
}

async function writeCaseFiles(config: EtlConfig, root: string, samples: DatasetSample[], caseIndex: number): Promise<void> {
  for (const [index, sample] of samples.entries()) {
    const files = CASES[caseIndex].files(sample, index);
    for (const [path, content] of Object.entries(files)) {
      const file = join(root, config.datasets[sample.dataset].prefix, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
  }
}

function plannedRuns(config: EtlConfig, work: string, caseIndex: number, outputColumns: Record<string, Array<{ name: string }>>): JobRun[] {
  const caseName = CASES[caseIndex].name;
  const data = join(work, `case-${caseIndex}`, "data");
  return jobOrder(config).map((job) => {
    const raw = jobArguments(config, job, BUCKET);
    const limits = CASES[caseIndex].quality?.(parseQualityLimits(raw["--etl_quality"]), { id: job, outputColumns: outputColumns[job].map((c) => c.name) });
    const quality = limits === undefined ? raw["--etl_quality"] : JSON.stringify(limits);
    const local = (uri: string, root: string) => join(root, uri.slice(`s3://${BUCKET}/`.length)).replace(/\/$/, "");
    return {
      id: `${caseIndex}/${job}`,
      caseName,
      job,
      needs: config.jobs[job].inputs.flatMap((i) => (i.job !== undefined ? [`${caseIndex}/${i.job}`] : [])),
      args(engine) {
        const outputs = join(work, `case-${caseIndex}`, engine);
        const inputs = (JSON.parse(raw["--etl_inputs"]) as EtlInput[]).map((i) => ({ ...i, path: local(i.path, i.format === "csv" ? data : outputs) }));
        return { inputs, output: local(raw["--etl_output"], outputs), sql: raw["--etl_sql"], quality };
      },
    };
  });
}

/** A CSV line case's answer for its input's path. */
type Answer = { read: number; dropped: number; rows: unknown[][] } | { error: string };

/** What the name of a CSV line case's run starts with (--case selects them all by it). */
const CSV_LINE_CASE = "CSV line case:";

/** A CSV line case as a run of the configuration's first job script that reads a dataset, on the case's own input, schema and SQL. */
async function csvLineRun(config: EtlConfig, work: string, index: number): Promise<JobRun> {
  const job = jobOrder(config).find((id) => config.jobs[id].inputs.some((i) => i.dataset !== undefined))!;
  const { name, columns, files, expected } = CSV_LINE_CASES[index];
  const root = join(work, `csv-line-${index}`);
  const scripts = join(root, "scripts");
  await mkdir(join(scripts, "schemas"), { recursive: true });
  await writeFile(join(scripts, "schemas", "lines.json"), JSON.stringify({ format: "csv", columns }));
  await writeFile(join(scripts, "lines.sql"), CSV_LINE_SQL);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, "data", path)), { recursive: true });
    await writeFile(join(root, "data", path), content);
  }
  const data = Object.keys(files).length === 1 ? join(root, "data", Object.keys(files)[0]) : join(root, "data");
  return {
    id: `csv-line-${index}/${job}`,
    caseName: `${CSV_LINE_CASE} ${name}`,
    job,
    needs: [],
    expected: "error" in expected ? { error: expected.error(data) } : expected,
    // Spark's job reads the schema and SQL files by their paths; the local engine from its scripts folder.
    args: (engine) => ({
      inputs: [{ name: CSV_LINE_VIEW, path: data, format: "csv", schema: engine === "spark" ? join(scripts, "schemas", "lines.json") : "lines.json" }],
      output: join(root, engine),
      sql: engine === "spark" ? join(scripts, "lines.sql") : "lines.sql",
      quality: JSON.stringify(CSV_LINE_QUALITY),
      scriptsDir: scripts,
    }),
  };
}

/** How an outcome differs from a CSV line case's answer; empty when it gives it. */
async function answerProblems(outcome: Outcome, expected: Answer): Promise<string[]> {
  if ("error" in expected) return outcome.status === "error" && outcome.error === expected.error ? [] : [`expected the error ${expected.error}; got ${outcome.status === "error" ? `error: ${outcome.error}` : outcome.status}`];
  if (outcome.status !== "ok") return [`expected rows read ${expected.read}, dropped ${expected.dropped}; got ${outcome.status === "error" ? `error: ${outcome.error}` : outcome.status}`];
  const got = { read: outcome.rowsRead[CSV_LINE_VIEW], dropped: outcome.droppedRows[CSV_LINE_VIEW], rows: (await readOutput(outcome.files)).rows };
  return isDeepStrictEqual(got, expected) ? [] : [`gives ${JSON.stringify(got).slice(0, 300)}\n        the case's answer: ${JSON.stringify(expected).slice(0, 300)}`];
}

async function runDuckDb(config: EtlConfig, runs: JobRun[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  for (const run of runs) {
    if (run.needs.some((id) => outcomes.get(id)?.status !== "ok")) {
      outcomes.set(run.id, { status: "skipped" });
      continue;
    }
    const { inputs, output, sql, quality, scriptsDir: scripts } = run.args("duckdb");
    try {
      const result = await etlEngine().runTransformation({ inputs, sqlFile: sql, outputDir: output, scriptsDir: scripts ?? scriptsDir(config), quality: parseQualityLimits(quality) });
      outcomes.set(run.id, { status: "ok", rowsWritten: result.rowsWritten, rowsRead: result.rowsRead, droppedRows: result.droppedRows, files: result.files });
    } catch (e) {
      outcomes.set(run.id, { status: "error", error: (e as Error).message, dataQuality: e instanceof DataQualityError });
    }
  }
  return outcomes;
}

/** Runs every job in one Python process (one Spark session), each through its own script, as Glue does. */
async function runSpark(config: EtlConfig, runs: JobRun[], work: string): Promise<Map<string, Outcome>> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run npm run python:setup first (Python 3.11, Java 17)`);
  const canaryScript = join(work, "canary_job.py");
  await writeFile(canaryScript, CANARY.script);
  const argv = (run: JobRun) => {
    const { inputs, output, sql, quality } = run.args("spark");
    return ["--JOB_NAME", `test-spark-${run.job}`, "--etl_inputs", JSON.stringify(inputs), "--etl_output", output, "--etl_sql", sql, "--etl_quality", quality];
  };
  const plan = {
    scriptsDir: scriptsDir(config),
    runs: [
      ...runs.map((run) => ({ id: run.id, script: scriptPath(config, config.jobs[run.job]), argv: argv(run), needs: run.needs })),
      { id: CANARY.id, script: canaryScript, argv: argv(runs[0]), needs: [] },
    ],
  };
  const planFile = join(work, "plan.json");
  const resultsFile = join(work, "results.json");
  const logFile = join(work, "spark.log");
  await writeFile(planFile, JSON.stringify(plan, null, 2));
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(PYTHON, [join(__dirname, "run_jobs.py"), planFile, resultsFile], {
      env: { ...process.env, PYSPARK_PYTHON: PYTHON, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "inherit", "pipe"],
    });
    const log: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => log.push(chunk));
    child.on("error", reject);
    child.on("close", async (status) => {
      await writeFile(logFile, Buffer.concat(log));
      resolve(status);
    });
  });
  if (code !== 0) throw new Error(`Spark run failed (exit ${code}); its log: ${logFile}\n${(await readFile(logFile, "utf8")).split("\n").slice(-30).join("\n")}`);
  const results = JSON.parse(await readFile(resultsFile, "utf8")) as Record<
    string,
    { status: string; type?: string; error?: string; rowsWritten?: number; rowsRead?: Record<string, number>; droppedRows?: Record<string, number> }
  >;
  // Glue reports an uncaught exception as "<class>: <message>"; the local engine's DataQualityError message has the same prefix.
  const failure = (r: { type?: string; error?: string }): Outcome => {
    const dataQuality = r.type === "DataQualityError";
    return { status: "error", error: dataQuality ? `DataQualityError: ${r.error!}` : r.error!, dataQuality };
  };
  const outcomes = new Map<string, Outcome>();
  const canary = results[CANARY.id];
  outcomes.set(CANARY.id, canary.status === "error" ? failure(canary) : { status: "skipped" });
  for (const run of runs) {
    const r = results[run.id];
    if (r.status === "ok") {
      const { output } = run.args("spark");
      // The counts object the job writes beside its output (read by the runner into the task output) says what it logged.
      const countsFile = join(output, COUNTS_OBJECT);
      const counts = existsSync(countsFile) ? parseCountsObject(await readFile(countsFile, "utf8"), countsFile) : undefined;
      // (the log names the CSV inputs' drops; the object gives every input's, 0 for Parquet inputs)
      const logged = { rowsRead: r.rowsRead!, rowsDropped: Object.fromEntries(Object.keys(r.rowsRead!).map((name) => [name, r.droppedRows![name] ?? 0])), rowsWritten: r.rowsWritten! };
      if (!counts || !isDeepStrictEqual({ rowsRead: counts.rowsRead, rowsDropped: counts.rowsDropped, rowsWritten: counts.rowsWritten }, logged))
        outcomes.set(run.id, { status: "error", error: `${countsFile}: ${counts ? JSON.stringify(counts) : "missing"}, but the job logged ${JSON.stringify(logged)}`, dataQuality: false });
      else outcomes.set(run.id, { status: "ok", rowsWritten: r.rowsWritten!, rowsRead: r.rowsRead!, droppedRows: r.droppedRows!, files: await parquetFiles(output) });
    }
    else if (r.status === "error") outcomes.set(run.id, failure(r));
    else outcomes.set(run.id, { status: "skipped" });
  }
  return outcomes;
}

/** The Parquet files of an output folder in name order (Spark's part files carry the result's order). */
async function parquetFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((e) => e.endsWith(".parquet") && !relative(dir, join(dir, e)).split(sep).some((p) => p.startsWith("_") || p.startsWith(".")))
    .sort()
    .map((e) => join(dir, e));
}

/** Columns (name, DuckDB type) and rows (JSON values, in order, text as stored) of Parquet files read one after the other. */
async function readOutput(files: string[]): Promise<{ columns: string[]; rows: unknown[][] }> {
  const instance = await duckdb().DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    let columns: string[] = [];
    const rows: unknown[][] = [];
    for (const file of files) {
      const read = await parquetSupport().jsonRows(connection, `read_parquet('${file.replace(/'/g, "''")}')`);
      columns = read.columns.map(([name, type]) => `${name} ${type}`);
      rows.push(...read.rows);
    }
    return { columns, rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The differences between two outcomes of one job; empty when they agree. */
async function compare(spark: Outcome, duckdb: Outcome): Promise<string[]> {
  if (spark.status !== duckdb.status) {
    const say = (o: Outcome) => (o.status === "error" ? `error: ${o.error}` : o.status);
    return [`Spark: ${say(spark)}; DuckDB: ${say(duckdb)}`];
  }
  if (spark.status === "error" && duckdb.status === "error") {
    const problems: string[] = [];
    const kind = (o: { dataQuality: boolean }) => (o.dataQuality ? "DataQualityError" : "another error");
    if (spark.dataQuality !== duckdb.dataQuality) problems.push(`error kinds differ: Spark ${kind(spark)}, DuckDB ${kind(duckdb)}`);
    if (spark.error !== duckdb.error) problems.push(`error messages differ:\n      Spark:  ${spark.error}\n      DuckDB: ${duckdb.error}`);
    return problems;
  }
  if (spark.status !== "ok" || duckdb.status !== "ok") return [];
  const problems: string[] = [];
  if (spark.rowsWritten !== duckdb.rowsWritten) problems.push(`rows written: Spark ${spark.rowsWritten}, DuckDB ${duckdb.rowsWritten}`);
  if (!isDeepStrictEqual(spark.rowsRead, duckdb.rowsRead)) problems.push(`rows read: Spark ${JSON.stringify(spark.rowsRead)}, DuckDB ${JSON.stringify(duckdb.rowsRead)}`);
  if (!isDeepStrictEqual(spark.droppedRows, duckdb.droppedRows)) problems.push(`rows dropped: Spark ${JSON.stringify(spark.droppedRows)}, DuckDB ${JSON.stringify(duckdb.droppedRows)}`);
  const [a, b] = await Promise.all([readOutput(spark.files), readOutput(duckdb.files)]);
  if (!isDeepStrictEqual(a.columns, b.columns)) problems.push(`columns: Spark [${a.columns.join(", ")}], DuckDB [${b.columns.join(", ")}]`);
  if (a.rows.length !== b.rows.length) problems.push(`rows read back: Spark ${a.rows.length}, DuckDB ${b.rows.length}`);
  const first = a.rows.findIndex((row, i) => !isDeepStrictEqual(row, b.rows[i]));
  if (first >= 0) problems.push(`row ${first} differs: Spark ${JSON.stringify(a.rows[first])}, DuckDB ${JSON.stringify(b.rows[first])}`);
  return problems;
}

export const TEST_SPARK_COMMAND = defineCommand({
  command: "npm run test:spark --",
  summary:
    "Runs every job of the active configuration (etl.config.json, or ETL_CONFIG / ETL_ENV) on local Spark through its own script, and on the local DuckDB engine, for each case of test/spark/cases.ts, and compares the outcomes; then runs the CSV line cases (test/csv-line-cases.ts) in both and checks each gives the case's answer. Needs npm run python:setup (Python 3.11) and Java 17.",
  options: {
    case: { type: "string", value: "TEXT", description: "only the cases whose name contains TEXT" },
    keep: { type: "boolean", description: "keep the work folder (inputs, both engines' outputs, the Spark log)" },
  },
  epilogue: 'Ends with "N passed, N failed". Exit codes: 0 every job agrees, 1 a difference or a failed run, 2 bad usage.',
});

async function main(options: { case?: string; keep?: boolean }): Promise<number> {
  const keep = options.keep === true;
  const only = options.case;
  const config = loadConfig();
  const cases = CASES.map((c, i) => i).filter((i) => only === undefined || CASES[i].name.includes(only));
  const work = await mkdtemp(join(tmpdir(), "test-spark-"));
  try {
    const started = Date.now();
    const runs: JobRun[] = [];
    const outputColumns = await consistency().jobOutputColumns(config);
    for (const caseIndex of cases) {
      const rows = CASES[caseIndex].name === "sample data" ? SAMPLE_ROWS.full : SAMPLE_ROWS.small;
      const samples = Object.entries(config.datasets).map(([dataset, d]) => {
        const schema = readSchemaFile(schemaPath(config, d.schema));
        const [header, ...lines] = sampleLines(dataset, schema, rows);
        return { dataset, schema, header: splitCsvLine(header), lines };
      });
      await writeCaseFiles(config, join(work, `case-${caseIndex}`, "data"), samples, caseIndex);
      runs.push(...plannedRuns(config, work, caseIndex, outputColumns));
    }
    const lineCases = CSV_LINE_CASES.map((c, i) => i).filter((i) => only === undefined || `${CSV_LINE_CASE} ${CSV_LINE_CASES[i].name}`.includes(only));
    for (const index of lineCases) runs.push(await csvLineRun(config, work, index));
    if (!runs.length) throw new Error(`--case ${JSON.stringify(only)}: no case's name contains it`);
    console.log(`test:spark: ${runs.length} job runs (${cases.length} cases x ${Object.keys(config.jobs).length} jobs of ${config.project}-${config.environment}, ${lineCases.length} CSV line cases) in ${work}`);
    const duckdb = await runDuckDb(config, runs);
    console.log(`DuckDB: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const spark = await runSpark(config, runs, work);
    let passed = 0;
    let failed = 0;
    let caseName = "";
    for (const run of runs) {
      if (run.caseName !== caseName) console.log(`\n${(caseName = run.caseName)}`);
      const problems = await compare(spark.get(run.id)!, duckdb.get(run.id)!);
      if (run.expected) for (const [engine, outcomes] of [["Spark", spark], ["DuckDB", duckdb]] as const) problems.push(...(await answerProblems(outcomes.get(run.id)!, run.expected)).map((p) => `${engine}: ${p}`));
      const outcome = duckdb.get(run.id)!;
      const detail =
        outcome.status === "ok"
          ? `${outcome.rowsWritten} rows, read ${JSON.stringify(outcome.rowsRead)}, dropped ${JSON.stringify(outcome.droppedRows)}`
          : outcome.status === "error"
            ? `fails alike: ${outcome.error}`
            : "skipped in both (an input job failed)";
      if (problems.length === 0) {
        passed++;
        console.log(`  ✔ ${run.job}: ${detail}`);
      } else {
        failed++;
        console.log(`  ✘ ${run.job}:\n${problems.map((p) => `      ${p}`).join("\n")}`);
      }
    }
    // The harness itself: a script calling a function etl_common lacks must fail on Spark.
    const canary = spark.get(CANARY.id)!;
    if (canary.status === "error" && /no_such_function/.test(canary.error)) {
      passed++;
      console.log(`\nharness\n  ✔ a job script importing a missing function fails: ${canary.error}`);
    } else {
      failed++;
      console.log(`\nharness\n  ✘ a job script importing a missing function did not fail (${canary.status})`);
    }
    console.log(`\ntest:spark took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  } finally {
    if (keep) console.log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(TEST_SPARK_COMMAND, main);
