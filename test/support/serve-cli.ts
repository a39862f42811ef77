// `npm run serve` as a child process, and the real AWS CLI (the pinned awscli of .venv/, `npm run python:setup`)
// against its endpoint (awsCli: each command a process of its own): what the end-to-end tests of the local endpoint
// share.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, type DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import { scriptArgs } from "./scripts";

export const ROOT = resolve(__dirname, "..", "..");
export const AWS_CLI = join(ROOT, ".venv", "bin", "aws");

/** Fails naming the fix when the pinned AWS CLI is not installed. */
export function requireAwsCli(): void {
  if (!existsSync(AWS_CLI)) throw new Error(`the AWS CLI is missing from .venv/ (${AWS_CLI}): run 'npm run python:setup' (it installs requirements.txt, awscli included)`);
}

/** No profile, no metadata lookups: any credentials are accepted by the local endpoint. */
export function cliEnv(region: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: "any-key",
    AWS_SECRET_ACCESS_KEY: "any-secret",
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    POWERTOOLS_LOG_LEVEL: "ERROR",
    ...extra,
  };
}

export interface Served {
  endpoint: string;
  bucket: string;
  stateMachineArn: string;
  output: () => string;
  /** Resolves with the first output line matching `pattern` (already printed or still to come): no polling. */
  waitForLine: (pattern: RegExp, what: string, timeoutMs?: number) => Promise<string>;
  stop: () => Promise<number | null>;
}

/**
 * `npm run serve -- --port 0 ...args` until its `ready` line: what npm runs (package.json's script, without npm's own
 * process and its CPU), or through npm itself (`viaNpm`: a Ctrl-C then reaches npm and serve, npm forwarding its own
 * too, as in a terminal). `stop` sends Ctrl-C (SIGINT to its process group).
 */
export function startServe(args: string[], env: NodeJS.ProcessEnv, { viaNpm = false } = {}): Promise<Served> {
  return new Promise((resolvePromise, reject) => {
    const [file, ...command] = viaNpm ? ["npm", "run", "--silent", "serve", "--"] : [process.execPath, ...scriptArgs("serve")];
    /** What was run, as the errors below name it. */
    const ran = viaNpm ? "npm run serve" : `node ${command.map((arg) => relative(ROOT, resolve(ROOT, arg))).join(" ")} (npm run serve's command)`;
    const child: ChildProcess = spawn(file, [...command, "--port", "0", ...args], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    /** Lines awaited by waitForLine, checked as each chunk comes. */
    const awaited = new Set<() => void>();
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    let closed = false;
    void exited.then(() => {
      closed = true;
      awaited.forEach((check) => check());
    });
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`${ran} printed no 'ready' line within 150 s\n${stdout}\n${stderr}`));
    }, 150_000);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk;
      awaited.forEach((check) => check());
      if (!/^ready/m.test(stdout)) return;
      clearTimeout(timer);
      const field = (name: string) => new RegExp(`^${name}: (\\S+)`, "m").exec(stdout)?.[1] ?? "";
      resolvePromise({
        endpoint: field("endpoint"),
        bucket: field("bucket"),
        stateMachineArn: field("state machine"),
        output: () => `${stdout}${stderr}`,
        waitForLine: (pattern, what, timeoutMs = 90_000) =>
          new Promise((resolveLine, rejectLine) => {
            let ended = false;
            const check = () => {
              const lines = stdout.split("\n");
              if (!closed) lines.pop(); // a line still being written
              const line = lines.find((l) => pattern.test(l));
              if (line === undefined && !closed && !ended) return;
              awaited.delete(check);
              clearTimeout(lineTimer);
              if (line !== undefined) resolveLine(line);
              else rejectLine(new Error(`${ran} ${ended ? `printed no line for ${what} within ${timeoutMs} ms` : `exited before ${what}`}\n${stdout}\n${stderr}`));
            };
            const lineTimer = setTimeout(() => ((ended = true), check()), timeoutMs);
            awaited.add(check);
            check();
          }),
        stop: async () => {
          process.kill(-child.pid!, "SIGINT");
          let stopTimer: NodeJS.Timeout | undefined;
          const stopped = await Promise.race([exited, new Promise<"timeout">((r) => (stopTimer = setTimeout(() => r("timeout"), 60_000)))]);
          // Cleared: a pending timer would keep mocha's process (a file run alone) alive 60 s after the tests.
          clearTimeout(stopTimer);
          if (stopped === "timeout") {
            process.kill(-child.pid!, "SIGKILL");
            throw new Error(`${ran} did not stop within 60 s of Ctrl-C\n${stdout}\n${stderr}`);
          }
          return stopped;
        },
      });
    });
    child.on("error", reject);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${ran} exited (${code}) before it was ready\n${stdout}\n${stderr}`));
    });
  });
}

/** `text` as a regular expression matching it literally. */
export const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AwsCli {
  /** `aws args`: its exit code and output. */
  run: (args: string[]) => Promise<CommandResult>;
  /** Ends the forking process (after the commands sent); resolves once it exited. */
  close: () => Promise<void>;
}

/**
 * The AWS CLI of .venv/ with `env`: each command is the installed `aws` script run in a process of its own, forked
 * from one Python process that imported awscli once (test/support/aws-cli-forks.py), which saves most of an `aws`
 * process's 0.5 s of CPU. Commands run one at a time, in the order sent. Close it after the tests (an `after` hook).
 */
export function awsCli(env: NodeJS.ProcessEnv): AwsCli {
  requireAwsCli();
  const child = spawn(join(ROOT, ".venv", "bin", "python"), [join(__dirname, "aws-cli-forks.py"), AWS_CLI], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  const waiting: Array<{ resolve: (r: CommandResult) => void; reject: (e: Error) => void }> = [];
  let stderr = "";
  let pending = "";
  let ended: Error | undefined;
  const fail = (error: Error) => {
    ended ??= error;
    for (const w of waiting.splice(0)) w.reject(ended);
  };
  const exited = new Promise<void>((r) =>
    child.on("close", (code, signal) => {
      fail(new Error(`the AWS CLI's forking process (test/support/aws-cli-forks.py) exited (${code ?? signal})\n${stderr}`));
      r();
    }),
  );
  child.on("error", fail);
  child.stdin!.on("error", () => undefined); // a write after it exited: reported by the close handler
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) waiting.shift()?.resolve(JSON.parse(line) as CommandResult);
  });
  return {
    run: (args) =>
      new Promise((resolvePromise, reject) => {
        if (ended) return reject(ended);
        waiting.push({ resolve: resolvePromise, reject });
        child.stdin!.write(`${JSON.stringify({ args })}\n`);
      }),
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

export function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface SdkSetup {
  /** StartExecution with input {}: the execution's ARN. */
  startExecution: (stateMachineArn: string) => Promise<string>;
  /** PutObject of a local file, as `aws s3 cp FILE s3://bucket/key` sends it. */
  upload: (file: string, bucket: string, key: string) => Promise<void>;
  close: () => void;
}

/** An SDK client's options for the local endpoint (which accepts any credentials). */
const localClientOptions = (endpoint: string, region: string) => ({ endpoint, region, credentials: { accessKeyId: "any-key", secretAccessKey: "any-secret" } });

/**
 * Sets state up through the endpoint from this process (the SDK), for a test whose point is elsewhere: an AWS CLI
 * process costs ~0.1 s of CPU per call. The walkthrough (test/e2e/serve-aws-cli.test.ts) does these with the AWS CLI.
 */
export function sdkSetup(endpoint: string, region: string): SdkSetup {
  const options = localClientOptions(endpoint, region);
  const sfn = new SFNClient(options);
  const s3 = new S3Client({ ...options, forcePathStyle: true });
  return {
    startExecution: async (stateMachineArn) => (await sfn.send(new StartExecutionCommand({ stateMachineArn, input: "{}" }))).executionArn!,
    upload: async (file, bucket, key) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }))),
    close: () => {
      sfn.destroy();
      s3.destroy();
    },
  };
}

/**
 * Waits until the execution is no longer RUNNING (and `done`, if given, holds of its description), asking Step
 * Functions through the endpoint in-process: a wait, not a check, so it costs no AWS CLI process per poll (the tests
 * then ask the AWS CLI what they assert).
 */
export async function executionSettled(
  endpoint: string,
  region: string,
  executionArn: string,
  done: (description: DescribeExecutionCommandOutput) => boolean = () => true,
  timeoutMs = 120_000,
): Promise<DescribeExecutionCommandOutput> {
  const sfn = new SFNClient(localClientOptions(endpoint, region));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const description = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (description.status !== "RUNNING" && done(description)) return description;
      if (Date.now() > deadline) throw new Error(`execution ${executionArn} still ${description.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    sfn.destroy();
  }
}
