// `npm start -- [flags]`: runs the whole workflow locally (see USAGE). Exit codes: 0 succeeded, 1 the workflow
// failed, 2 bad usage or input, 130 interrupted.
// First: signals are handled while the other modules load.
import { removeEarlySignalHandlers } from "./early-signals";
import { mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { defineCommand, usageErrorLine, UsageError } from "../core/cli-args";
import { ConfigError, loadConfig, PROJECT_ROOT, type EtlConfig } from "../core/config";
import { DATASET_OPTIONS, datasetArguments, datasetHelp } from "./dataset-inputs";
import { jobIdsNamed } from "./failure-injection";
import { startRunInputCopies } from "./input-copies";
import { InputError } from "./inputs";
import { formatProgress, formatSummary } from "./progress";
import type { RunReport, RuntimeOptions } from "./runtime";

// Loaded once the arguments parse (core/cli-args.ts: entry points): the runtime, and DuckDB for the first rows.
const runtime = () => require("./runtime") as typeof import("./runtime");
const parquet = () => require("./parquet") as typeof import("./parquet");

export const DEFAULT_OUT_DIR = join(PROJECT_ROOT, "out", "joined");

export const START_COMMAND = defineCommand({
  command: "npm start --",
  summary: `Runs the ETL workflow end to end on local stand-ins for S3, DynamoDB, Step Functions and each engine the jobs
use (Glue, Athena, EMR Serverless), with the real ASL and handler code, and writes the joined dataset as Parquet.`,
  options: {
    ...DATASET_OPTIONS,
    out: {
      type: "string",
      value: "DIR",
      description:
        "where the joined *.parquet files go, listed in its manifest .etl-output.json;\nreplaced only once a run succeeds. A DIR holding other *.parquet files, or in\nuse by another run, is refused. With several final jobs (jobs no other job\nreads), each one's files go to DIR/<job id>/. Default: out/joined/ (git-ignored)",
    },
    report: {
      type: "string",
      value: "FILE",
      description: "write a JSON report: status, executionArn, startedAt, stoppedAt, states,\njobs (with rows read, dropped, written), notifications,\noutput {dir, files, rows, written}",
    },
    "fail-job": { type: "string", value: "JOB", multiple: true, description: "make that job's run fail on its engine (job id such as PSD, or job name such as etl-dev-PSD)" },
    "upload-before-start": { type: "boolean", description: "upload the datasets before starting the execution" },
  },
  epilogue: `Exit codes: 0 the workflow succeeded, 1 it failed (a job failed, or failed its data-quality gate),
2 bad usage or input, 130 interrupted (SIGINT or SIGTERM).
Environment: ETL_CONFIG (configuration file), ETL_ENV (environment), POWERTOOLS_LOG_LEVEL (handler logs, default WARN).`,
});

export const USAGE = START_COMMAND.usage;

export { UsageError };

export interface CliArguments {
  help: boolean;
  options: Omit<RuntimeOptions, "config" | "signal" | "onProgress">;
  reportFile?: string;
}

export { MAX_DELAY_MS } from "./dataset-inputs";

/** Parses argv (without node and the script); throws UsageError naming the bad flag or value. */
export function parseCliArguments(argv: string[], config: EtlConfig): CliArguments {
  const values = START_COMMAND.parse(argv);
  if (values === "help") return { help: true, options: { outDir: resolve(DEFAULT_OUT_DIR) } };
  const failJobs = values["fail-job"] ?? [];
  let datasets;
  try {
    jobIdsNamed(config, failJobs, "--fail-job");
    datasets = datasetArguments(config, values);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { inputs, uploadDelaysMs } = datasets;

  return {
    help: false,
    reportFile: values.report === undefined ? undefined : resolve(values.report),
    options: {
      inputs,
      outDir: resolve(values.out ?? DEFAULT_OUT_DIR),
      failJobs,
      uploadBeforeStart: values["upload-before-start"] ?? false,
      uploadDelaysMs,
    },
  };
}

/** Creates the report's folder and checks the file can be written, leaving no file behind that was not there. */
async function checkWritable(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const existed = await stat(file).then(
    (info) => {
      if (!info.isFile()) throw new Error("not a regular file");
      return true;
    },
    () => false,
  );
  await (await open(file, "a")).close();
  if (!existed) await rm(file, { force: true });
}

/** How long the shutdown after a signal may take before the process exits anyway. */
export const SHUTDOWN_GRACE_MS = 8_000;

/**
 * Run by `npm start`, the CLI's parent is npm. npm forwards SIGTERM to the script only when it is its direct
 * child (the start script `exec`s node); a wrapper in between, or npm killed outright, would leave this run
 * going on alone. So a run started by npm also stops when its parent process is gone.
 */
function watchParent(onGone: () => void): () => void {
  if (!process.env.npm_lifecycle_event) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  // Signals are handled from the first moment: a run interrupted while it checks its inputs ends as promptly.
  const interrupt = new AbortController();
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) {
      err(`${signal} again: exiting without waiting for the shutdown`);
      process.exit(130);
    }
    interrupted = true;
    err(`${signal}: stopping the run and closing the local services...`);
    interrupt.abort();
    // A shutdown that hangs must not keep the process: exit anyway (a stale lock is taken over by the next run).
    setTimeout(() => {
      err(`the shutdown took over ${SHUTDOWN_GRACE_MS} ms: exiting`);
      process.exit(130);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  removeEarlySignalHandlers();
  const stopWatching = watchParent(() => onSignal("parent process gone (npm was stopped)"));
  try {
    return await runCli(argv, out, err, interrupt, () => interrupted);
  } finally {
    stopWatching();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function runCli(argv: string[], out: (line: string) => void, err: (line: string) => void, interrupt: AbortController, isInterrupted: () => boolean): Promise<number> {
  let config: EtlConfig;
  let args: CliArguments;
  try {
    config = loadConfig();
    args = parseCliArguments(argv, config);
  } catch (e) {
    if (e instanceof UsageError) {
      err(usageErrorLine(START_COMMAND.spec.command, e));
      return 2;
    }
    if (e instanceof ConfigError) {
      err(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    out(`${USAGE}\n\n${datasetHelp(config, process.env.ETL_CONFIG ?? "etl.config.json")}`);
    return 0;
  }

  if (args.reportFile) {
    try {
      await checkWritable(args.reportFile);
    } catch (e) {
      err(`error: --report ${args.reportFile}: cannot write the report there (${(e as Error).message})`);
      return 2;
    }
  }
  if (isInterrupted()) return 130;

  const startMs = Date.now();
  // Before the runtime loads (about a second): the large inputs' copies for the store are made meanwhile, on another thread.
  const inputCopies = startRunInputCopies(args.options);
  let report: RunReport;
  try {
    report = await runtime().runLocalWorkflow({
      ...args.options,
      inputCopies,
      config,
      signal: interrupt.signal,
      onProgress: (event) => {
        const line = formatProgress(event, startMs);
        if (line) out(line);
      },
    });
  } catch (e) {
    if (isInterrupted()) {
      // Whatever the run was doing when Ctrl-C came, the answer is the same as for any Ctrl-C.
      err(`interrupted: ${(e as Error)?.message ?? e}`);
      return 130;
    }
    if (e instanceof InputError) {
      err(`error: ${e.message}`);
      return 2;
    }
    err(`error: the local run failed: ${(e as Error)?.stack ?? e}`);
    return 1;
  } finally {
    await inputCopies.close();
  }

  let reportError: string | undefined;
  if (args.reportFile) {
    try {
      await mkdir(dirname(args.reportFile), { recursive: true });
      await writeFile(args.reportFile, `${JSON.stringify(report, null, 2)}\n`);
    } catch (e) {
      reportError = `error: --report ${args.reportFile}: cannot write the report (${(e as Error).message})`;
    }
  }
  const firstRows: Record<string, Array<Record<string, unknown>>> = {};
  if (report.status === "SUCCEEDED")
    for (const folder of report.output.byJob ? Object.values(report.output.byJob) : [report.output]) if (folder.rows > 0) firstRows[folder.dir] = (await parquet().readParquet(folder.dir, 5)).first;
  out(formatSummary(report, firstRows, Date.now() - startMs));
  if (reportError) {
    err(reportError);
    return isInterrupted() ? 130 : 1;
  }
  if (args.reportFile) out(`  report: ${args.reportFile}`);
  if (isInterrupted()) return 130;
  return report.status === "SUCCEEDED" ? 0 : 1;
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      console.error(`error: ${e?.stack ?? e}`);
      process.exitCode = 1;
    },
  );
}
