// Consistency of the hand-written workflow with the configuration, checked at synth and before a local run:
// a miscopied branch (a wait task naming another dataset, a dataset or job with no task, a kick naming the wrong
// dataset or job) fails there, naming the state and the field, instead of at run time on AWS.
// Kicks (events:putEvents states putting WaitTaskScheduled or RunnerTaskScheduled) are optional: the functions wake on
// the execution's RUNNING event and on each other's RunnerTaskScheduled events. A kick an ASL still has works and is
// checked: it wakes the function early for a task scheduled at another moment (docs/architecture.md, "Workflow events").
// Also: each job's catalogSchema against the columns its SQL produces (DuckDB, on empty typed inputs).
// Must not import cdktf.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { ConfigError, definitionPath, schemaPath, sqlPath, type EtlConfig } from "../core/config";
import { readCache, writeCache } from "../core/build-cache";
import { sha256 } from "../core/build-inputs";
import { readSchemaFile, type SchemaFile } from "../core/schema-file";
import { workflowPlaceholders, type WorkflowArns } from "./placeholders";
import { AslError, allStates, loadStateMachine, type LoadedStateMachine } from "./loader";

const PUT_EVENTS = "arn:aws:states:::events:putEvents";
/** A Task that runs a Glue job itself (request-response or .sync), in place of the runner. */
const GLUE_START = /^arn:aws:states:::glue:startJobRun(\.sync)?$/;
/** The detail-types of the kicks and the Detail field that names what the kicked task serves. */
const KICKS = { WaitTaskScheduled: "dataset", RunnerTaskScheduled: "job" } as const;

/** Loads the configuration's ASL file with its placeholders filled in, and checks it against the configuration. */
export function loadWorkflow(config: EtlConfig, arns: WorkflowArns): LoadedStateMachine {
  const values = workflowPlaceholders(config, arns);
  const loaded = loadStateMachine(definitionPath(config), values);
  checkWorkflowConsistency(config, loaded, values);
  return loaded;
}

interface Kick {
  state: string;
  field: string;
  kind: keyof typeof KICKS;
  /** The dataset or job the entry names (undefined: not a literal string). */
  names: unknown;
  next: string[];
}

/**
 * Throws AslError listing every problem, each naming the state and the field:
 * - every configured dataset has exactly one wait task (Resource `${WaitActivityArn.<d>}`) whose `dataset`
 *   parameter is `<d>` (so no dataset's placeholder is left unused);
 * - every configured job has a runner task (Parameters.JobName `${JobName.<J>}`) or a glue:startJobRun task naming
 *   it; a runner task names a configured job;
 * - a kick, where the ASL has one, names a configured dataset or job, and the one of the task right after it.
 * `values` are the placeholder values the file was loaded with (workflowPlaceholders).
 */
export function checkWorkflowConsistency(config: EtlConfig, loaded: LoadedStateMachine, values: Readonly<Record<string, string>>): void {
  const datasets = Object.keys(config.datasets);
  const jobs = Object.keys(config.jobs);
  const placeholderOf = new Map(Object.entries(values).map(([name, value]) => [value, `\${${name}}`]));
  const datasetOfActivity = new Map(datasets.map((d) => [values[`WaitActivityArn.${d}`], d]));
  const jobOfName = new Map(jobs.map((j) => [values[`JobName.${j}`], j]));
  const runnerActivity = values.RunnerActivityArn;
  const problems: string[] = [];
  const problem = (state: string, field: string, message: string) => problems.push(`  - state '${state}', ${field}: ${message}`);

  const states = allStates(loaded.definition);
  const waitTasks = new Map<string, string[]>(datasets.map((d) => [d, []]));
  const runnerTasks = new Map<string, string[]>(jobs.map((j) => [j, []]));
  /** Jobs a glue:startJobRun task runs directly (no runner task). */
  const nativeJobs = new Set<string>();
  /** What each wait or runner task serves, by state name. */
  const served = new Map<string, { kind: keyof typeof KICKS; name: string }>();
  const kicks: Kick[] = [];

  for (const [name, state] of states) {
    if (state.Type !== "Task") continue;
    const parameters = isObject(state.Parameters) ? state.Parameters : {};
    const dataset = datasetOfActivity.get(state.Resource);
    if (dataset !== undefined) {
      waitTasks.get(dataset)!.push(name);
      served.set(name, { kind: "WaitTaskScheduled", name: dataset });
      if (parameters.dataset !== dataset)
        problem(
          name,
          "Parameters.dataset",
          `${describe(parameters.dataset, parameters["dataset.$"])}, but its Resource is ${placeholderOf.get(state.Resource)}: expected "${dataset}"`,
        );
    } else if (state.Resource === runnerActivity) {
      const job = jobOfName.get(parameters.JobName);
      if (job === undefined) {
        const known = jobs.map((j) => `\${JobName.${j}}`).join(", ");
        problem(name, "Parameters.JobName", `${describe(parameters.JobName, parameters["JobName.$"])}; a runner task names its job with one of ${known}`);
        continue;
      }
      runnerTasks.get(job)!.push(name);
      served.set(name, { kind: "RunnerTaskScheduled", name: job });
    } else if (GLUE_START.test(state.Resource)) {
      const job = jobOfName.get(parameters.JobName);
      if (job !== undefined && config.jobs[job].engine !== "glue")
        problem(name, "Parameters.JobName", `${placeholderOf.get(parameters.JobName)} runs on ${config.jobs[job].engine}, so it has no Glue job to start; run it through the runner (\${RunnerActivityArn})`);
      else if (job !== undefined) nativeJobs.add(job);
    } else if (state.Resource === PUT_EVENTS) {
      const entries: unknown[] = Array.isArray(parameters.Entries) ? parameters.Entries : [];
      entries.forEach((entry, i) => {
        if (!isObject(entry) || !(entry.DetailType in KICKS)) return;
        const kind = entry.DetailType as keyof typeof KICKS;
        const key = KICKS[kind];
        const detail = isObject(entry.Detail) ? entry.Detail : {};
        const next = [state.Next, ...(Array.isArray(state.Catch) ? state.Catch.map((c: { Next?: unknown }) => c.Next) : [])].filter((n): n is string => typeof n === "string");
        kicks.push({ state: name, field: `Parameters.Entries[${i}].Detail.${key}`, kind, names: detail[key], next: [...new Set(next)] });
      });
    }
  }

  for (const kick of kicks) {
    const known = kick.kind === "WaitTaskScheduled" ? datasets : jobs;
    const what = kick.kind === "WaitTaskScheduled" ? "dataset" : "job";
    if (typeof kick.names !== "string" || !known.includes(kick.names)) {
      problem(kick.state, kick.field, `${kick.names === undefined ? "missing" : JSON.stringify(kick.names)} is not a configured ${what}; known: ${known.join(", ")}`);
      continue;
    }
    for (const next of kick.next) {
      const task = served.get(next);
      if (task?.kind === kick.kind && task.name !== kick.names)
        problem(kick.state, kick.field, `names ${what} "${kick.names}", but the next state '${next}' is the ${what === "dataset" ? "wait" : "runner"} task of ${what} "${task.name}"`);
    }
  }
  const file = loaded.file;
  for (const [dataset, tasks] of waitTasks) {
    const placeholder = `\${WaitActivityArn.${dataset}}`;
    if (tasks.length === 0) problems.push(`  - dataset '${dataset}': no Task state has Resource ${placeholder}, so nothing would wait for its uploads and its activity would never be polled`);
    else if (tasks.length > 1) problems.push(`  - dataset '${dataset}': ${tasks.length} Task states have Resource ${placeholder} (${tasks.map((t) => `'${t}'`).join(", ")}); one upload releases one wait, so a dataset has exactly one`);
  }
  for (const [job, tasks] of runnerTasks) {
    if (tasks.length === 0 && nativeJobs.has(job)) continue;
    if (tasks.length === 0) problems.push(`  - job '${job}': no runner task (Resource \${RunnerActivityArn}) has Parameters.JobName \${JobName.${job}}, nor does a glue:startJobRun task name it, so the job would never run`);
  }
  if (problems.length) throw new AslError(`${file}: the workflow does not match the configuration\n${problems.join("\n")}`);
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describe(value: unknown, path: unknown): string {
  if (path !== undefined) return `is the path ${JSON.stringify(path)} (not a literal)`;
  if (value === undefined) return "is missing";
  return `is ${JSON.stringify(value)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// catalogSchema against the SQL's columns

/** A column as a catalog schema types it. */
export interface CatalogColumn {
  name: string;
  type: string;
}

const DUCKDB_TYPE: Record<string, string> = { date: "DATE", bigint: "BIGINT", double: "DOUBLE", boolean: "BOOLEAN", string: "VARCHAR" };

/** The catalog type a DuckDB result type stores as (Spark's SUM of a bigint is a bigint; DuckDB's is a HUGEINT). */
function catalogType(duckdbType: string): string | undefined {
  const t = duckdbType.toUpperCase();
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))$/.test(t)) return "bigint";
  if (/^(DOUBLE|FLOAT|DECIMAL(\(\d+,\s*\d+\))?)$/.test(t)) return "double";
  if (t === "VARCHAR") return "string";
  if (t === "DATE") return "date";
  if (t === "BOOLEAN") return "boolean";
  return undefined;
}

/** Compares a job's catalog schema with the columns its output has; lines naming the missing and extra columns and the types. */
export function compareColumns(expected: readonly CatalogColumn[], actual: ReadonlyArray<{ name: string; type: string }>): string[] {
  const actualByName = new Map(actual.map((c) => [c.name, c]));
  const expectedNames = new Set(expected.map((c) => c.name));
  const missing = expected.filter((c) => !actualByName.has(c.name)).map((c) => c.name);
  const extra = actual.filter((c) => !expectedNames.has(c.name)).map((c) => c.name);
  const lines: string[] = [];
  if (missing.length) lines.push(`missing column(s) ${missing.join(", ")} (in the catalog schema, not in the output)`);
  if (extra.length) lines.push(`extra column(s) ${extra.join(", ")} (in the output, not in the catalog schema)`);
  for (const column of expected) {
    const got = actualByName.get(column.name);
    if (got && catalogType(got.type) !== column.type) lines.push(`column ${column.name}: the catalog schema says ${column.type}, the output has ${got.type}`);
  }
  return lines;
}

/**
 * The build cache's record that the catalog check of `config` passed: its SQL and schema files by path relative to the
 * configuration's folder, and their texts, so that a copy of the project (a test's) finds what its original passed
 * rather than adding an entry per copy. Also the check's own code (`checkCode`, this file's text: in the launched app
 * too, whose __filename here is this source file, tools/app-build.ts): a pulled stricter check does not find the
 * older one's pass.
 */
export function catalogCheckKey(config: EtlConfig, checkCode: string | Buffer = readFileSync(__filename)): string {
  const files = Object.values(config.jobs).flatMap((j) => [sqlPath(config, j), ...(j.catalogSchema ? [schemaPath(config, j.catalogSchema)] : [])]);
  files.push(...Object.values(config.datasets).map((d) => schemaPath(config, d.schema)));
  const duckdbVersion: string = require("@duckdb/node-api/package.json").version;
  return `catalog-check/${sha256(checkCode, duckdbVersion, JSON.stringify([config.datasets, config.jobs]), ...files.flatMap((f) => [relative(config.rootDir, f), readFileSync(f)]))}`;
}

/**
 * Derives each job's output columns by running its SQL on DuckDB over empty typed views of its inputs (a dataset's
 * schema; another job's derived columns), and checks every `catalogSchema` against them. Throws ConfigError naming
 * the job, the schema file and the missing and extra columns (or the SQL's own error). Needs @duckdb/node-api.
 */
export async function checkCatalogSchemas(config: EtlConfig): Promise<void> {
  // Loading DuckDB costs about 0.3 s of each synth: remember the inputs that passed (SQL and schema texts included).
  const passedKey = catalogCheckKey(config);
  if (readCache(passedKey)) return;
  await deriveAndCompare(config);
  writeCache(passedKey, "");
}

/** Each job's output columns (name, DuckDB type), derived as checkCatalogSchemas does; throws naming a job whose SQL does not run. */
export async function jobOutputColumns(config: EtlConfig): Promise<Record<string, Array<{ name: string; type: string }>>> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const problems: string[] = [];
  try {
    const derive = columnDeriver(config, connection, problems);
    const columns: Record<string, Array<{ name: string; type: string }>> = {};
    for (const jobId of Object.keys(config.jobs)) {
      const derived = await derive(jobId, []);
      if (derived !== undefined) columns[jobId] = derived;
    }
    if (problems.length) throw new ConfigError(`the jobs' SQL does not run on their inputs' columns\n${problems.join("\n")}`);
    return columns;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

type Deriver = (jobId: string, path: string[]) => Promise<Array<{ name: string; type: string }> | undefined>;

/** Derives a job's output columns with its SQL on DuckDB over empty typed views of its inputs; a SQL error goes to `problems`. */
function columnDeriver(config: EtlConfig, connection: import("@duckdb/node-api").DuckDBConnection, problems: string[]): Deriver {
  const derived = new Map<string, Array<{ name: string; type: string }> | undefined>();
  const rel = (path: string) => relative(process.cwd(), path) || path;
  const derive = async (jobId: string, path: string[]): Promise<Array<{ name: string; type: string }> | undefined> => {
    if (derived.has(jobId)) return derived.get(jobId);
    if (path.includes(jobId)) throw new ConfigError(`jobs: the inputs form a cycle: ${[...path, jobId].join(" -> ")}`);
    const job = config.jobs[jobId];
    const views: string[] = [];
    for (const input of job.inputs) {
      let columns: Array<{ name: string; type: string }> | undefined;
      if (input.dataset !== undefined) {
        const schema: SchemaFile = readSchemaFile(schemaPath(config, config.datasets[input.dataset].schema));
        columns = schema.columns.map((c) => ({ name: c.name, type: DUCKDB_TYPE[c.type] }));
      } else columns = await derive(input.job!, [...path, jobId]);
      if (columns === undefined) {
        derived.set(jobId, undefined); // its input's SQL failed: reported there
        return undefined;
      }
      views.push(`CREATE OR REPLACE TEMP VIEW ${quote(input.name)} AS SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quote(c.name)}`).join(", ")} WHERE false`);
    }
    const file = sqlPath(config, job);
    const sql = readFileSync(file, "utf8").trim().replace(/;\s*$/, "");
    let columns: Array<{ name: string; type: string }> | undefined;
    try {
      for (const view of views) await connection.run(view);
      const described = await connection.runAndReadAll(`DESCRIBE ${sql}`);
      columns = described.getRowObjectsJson().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    } catch (e) {
      problems.push(`  - jobs.${jobId}: its SQL ${rel(file)} does not run on its inputs' columns: ${(e as Error).message.split("\n")[0]}`);
    }
    for (const input of job.inputs) await connection.run(`DROP VIEW IF EXISTS ${quote(input.name)}`);
    derived.set(jobId, columns);
    return columns;
  };
  return derive;
}

async function deriveAndCompare(config: EtlConfig): Promise<void> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const problems: string[] = [];
  const rel = (path: string) => relative(process.cwd(), path) || path;
  const derive = columnDeriver(config, connection, problems);
  try {
    for (const [jobId, job] of Object.entries(config.jobs)) {
      const columns = await derive(jobId, []);
      if (!job.catalogSchema || columns === undefined) continue;
      const file = schemaPath(config, job.catalogSchema);
      const lines = compareColumns(readSchemaFile(file).columns, columns);
      if (lines.length) problems.push(`  - jobs.${jobId}.catalogSchema: ${rel(file)} does not match the columns of ${rel(sqlPath(config, job))}: ${lines.join("; ")}`);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  if (problems.length) throw new ConfigError(`catalog schemas do not match the jobs' SQL\n${problems.join("\n")}`);
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
