// `npm start` for the end-to-end tests (test/e2e/cli.test.ts and the example's test/example/e2e-cli.test.ts): as a
// child process, or its entry function in this process; and check that every local server it announced is closed.
import { spawn } from "node:child_process";
import { expect } from "chai";
import { loadConfig, PROJECT_ROOT, resourceNames, type EtlConfig } from "../../core/config";
import { main } from "../../local/cli";
import { withEnv } from "../../local/env";
import type { RunReport } from "../../local/runtime";
import { listening } from "../listening";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The local endpoints the run announced. */
  endpoints: string[];
}

/** Runs `npm start -- args` as npm does (`node tools/launch.cjs local/cli.ts args`); `onLine` sees stdout lines as they come. */
export function runCli(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["tools/launch.cjs", "local/cli.ts", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) onLine?.(line, child);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    // The CLI sets process.exitCode and lets the event loop drain: a leaked server or timer would hang it here.
    // Only a hang: a run takes seconds idle, a minute or more on a loaded machine (below mocha's 180 s).
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the CLI did not exit within 150 s\n${stdout}\n${stderr}`));
    }, 150_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise(cliResult(code, stdout, stderr));
    });
  });
}

/** A run's result from its exit code and output: the endpoints are those its "local services up" line names. */
export function cliResult(code: number | null, stdout: string, stderr: string): CliResult {
  const services = /local services up: (.*)/.exec(stdout)?.[1] ?? "";
  return { code, stdout, stderr, endpoints: [...services.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]) };
}

/**
 * What a run in this process must leave as it found: the environment and the signal handlers. Not the user-agent
 * tag Powertools adds to process.env once per process when first imported (by the handlers here, as in Lambda).
 */
const processState = () => {
  const { AWS_SDK_UA_APP_ID: _userAgent, ...env } = process.env;
  return { env, SIGINT: process.listenerCount("SIGINT"), SIGTERM: process.listenerCount("SIGTERM") };
};

/**
 * Runs the CLI's entry function (local/cli.ts main) in this process, with `env` set for the run, and captures what
 * it prints: what a child process would print, exit code and files, without a process's start-up. Fails if the
 * run left an environment variable or a signal handler behind. Signals and the launcher need `runCli`.
 */
export async function runCliInProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const before = processState();
  let stdout = "";
  let stderr = "";
  const code = await withEnv({ POWERTOOLS_LOG_LEVEL: "ERROR", ...env }, () =>
    main(
      args,
      (line) => (stdout += `${line}\n`),
      (line) => (stderr += `${line}\n`),
    ),
  );
  expect(processState(), "the run restored the environment and the signal handlers").to.deep.equal(before);
  return cliResult(code, stdout, stderr);
}

/** S3, DynamoDB, Step Functions, EventBridge and one service per engine the configuration's jobs use (Glue always). */
export const serviceCount = (config: EtlConfig) => 4 + new Set(["glue", ...Object.values(config.jobs).map((j) => j.engine)]).size;

export async function expectAllClosed(result: CliResult, config: EtlConfig = loadConfig()): Promise<void> {
  expect(result.endpoints, result.stdout).to.have.length(serviceCount(config));
  for (const endpoint of result.endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
}

/** Each job's run is reported with the job's engine and that engine's run id. */
export function expectEngines(report: RunReport, config: EtlConfig): void {
  const names = resourceNames(config);
  const runIds = { glue: /^jr_[0-9a-f]{64}$/, athena: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "emr-serverless": /^[0-9a-z]{16}$/ } as const;
  for (const [id, job] of Object.entries(config.jobs)) {
    const runs = report.jobs.filter((j) => j.jobName === names.glueJob(id));
    expect(runs, id).to.have.length(1);
    expect(runs[0].engine, id).to.equal(job.engine);
    expect(runs[0].runId, id).to.match(runIds[job.engine]);
  }
}
