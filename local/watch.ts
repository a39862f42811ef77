// `npm run watch -- <execution ARN> [--endpoint URL]`: follows an execution, on AWS or on the local endpoint
// (`npm run serve`), through GetExecutionHistory, printing the progress lines `npm start` prints. Exit 0 when it
// succeeds, 1 when it fails, times out or is aborted, 2 on bad usage or an unknown execution.
import type { HistoryEvent, SFNClient } from "@aws-sdk/client-sfn";
import { defineCommand, integerOption, runAsScript, runCommand, UsageError } from "../core/cli-args";
import { formatProgress } from "./progress";
import type { ProgressEvent } from "./runtime";

// Loaded once the arguments parse (core/cli-args.ts: entry points).
const sfn = () => require("@aws-sdk/client-sfn") as typeof import("@aws-sdk/client-sfn");

export const WATCH_COMMAND = defineCommand({
  command: "npm run watch --",
  positional: { name: "<execution ARN>", description: "the execution to follow: arn:aws:states:<region>:<account>:execution:<state machine>:<name>" },
  summary: `Follows a Step Functions execution of the workflow, on AWS or on the local endpoint of npm run serve,
with the progress lines npm start prints (states, job runs, the outcome), until it ends. A redriven execution
is followed from its latest redrive.`,
  options: {
    endpoint: { type: "string", value: "URL", description: "the Step Functions endpoint, e.g. http://127.0.0.1:4566 (npm run serve).\nDefault: AWS (the SDK's usual configuration)" },
    "interval-ms": { type: "string", value: "MS", description: "pause between two reads of the history, at least 1000 (AWS allows 5 per second). Default: 2000" },
  },
  epilogue: `Exit codes: 0 the execution succeeded, 1 it failed, timed out or was aborted, 2 bad usage or no such execution.
Credentials and region: the SDK's usual chain (AWS_PROFILE, AWS_REGION, ...); the region defaults to the ARN's.
With --endpoint and no credentials configured, any will do (the local endpoint checks none).`,
});

/** AWS's GetExecutionHistory quota is 5 requests per second (bucket 250): a read per second at most keeps far below. */
export const MIN_INTERVAL_MS = 1000;

const TERMINAL: Record<string, "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED"> = {
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionTimedOut: "TIMED_OUT",
  ExecutionAborted: "ABORTED",
};

/** Turns history events, in order, into progress events; keeps what it needs across calls (one per execution). */
export class HistoryFollower {
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" = "RUNNING";
  lastId = 0;
  private readonly stateOf = new Map<number, string>();
  private readonly open = new Map<string, string | undefined>();

  constructor(private readonly executionArn: string) {}

  follow(events: readonly HistoryEvent[]): ProgressEvent[] {
    const out: ProgressEvent[] = [];
    for (const e of events) {
      if ((e.id ?? 0) <= this.lastId) continue;
      this.lastId = e.id!;
      const at = (e.timestamp ?? new Date()).toISOString();
      const push = (event: Record<string, unknown> & { type: ProgressEvent["type"] }) => out.push({ at, ...event } as ProgressEvent);
      const type = e.type ?? "";
      const entered = e.stateEnteredEventDetails?.name;
      const state = entered ?? e.stateExitedEventDetails?.name ?? this.stateOf.get(e.previousEventId ?? -1);
      if (state !== undefined) this.stateOf.set(e.id!, state);

      if (type === "ExecutionStarted" || type === "ExecutionRedriven") {
        this.status = "RUNNING";
        push({ type: "execution", status: "RUNNING", executionArn: this.executionArn });
      } else if (type.endsWith("StateEntered") && entered) {
        this.open.set(entered, undefined);
        push({ type: "state", name: entered, phase: "entered" });
      } else if (type.endsWith("StateExited") && state) {
        this.open.delete(state);
        push({ type: "state", name: state, phase: "exited", status: "SUCCEEDED" });
      } else if (type.endsWith("StateAborted") && state) {
        this.open.delete(state);
        push({ type: "state", name: state, phase: "exited", status: "ABORTED" });
      } else if (type.endsWith("StateFailed") && state) {
        this.open.delete(state);
        push({ type: "state", name: state, phase: "exited", status: "FAILED", error: this.lastError(state) });
      } else if (type === "ActivitySucceeded" || type === "TaskSucceeded") {
        const job = parseJson(e.activitySucceededEventDetails?.output ?? e.taskSucceededEventDetails?.output);
        const runId = job?.jobRunId ?? job?.runId;
        if (job?.jobName && runId) push({ type: "job", jobName: job.jobName, engine: job.engine ?? "glue", runId, state: job.state ?? "SUCCEEDED" });
      } else if (["ActivityFailed", "ActivityTimedOut", "TaskFailed", "TaskTimedOut"].includes(type)) {
        const details = e.activityFailedEventDetails ?? e.activityTimedOutEventDetails ?? e.taskFailedEventDetails ?? e.taskTimedOutEventDetails;
        if (state) this.open.set(state, details?.error);
        const job = parseJson(details?.cause);
        const runId = job?.jobRunId ?? job?.runId;
        if (job?.jobName && runId) push({ type: "job", jobName: job.jobName, engine: job.engine ?? "glue", runId, state: job.state ?? "FAILED", errorMessage: job.errorMessage });
      } else if (TERMINAL[type]) {
        this.status = TERMINAL[type];
        const details = e.executionFailedEventDetails ?? e.executionTimedOutEventDetails ?? e.executionAbortedEventDetails;
        // The states that failed the execution end with it.
        for (const [name, error] of this.open) if (error !== undefined) push({ type: "state", name, phase: "exited", status: "FAILED", error });
        this.open.clear();
        push({ type: "execution", status: this.status, executionArn: this.executionArn, error: details?.error, cause: details?.cause });
      }
    }
    return out;
  }

  /** A failed Parallel state fails with the error of the state inside it that failed. */
  private lastError(_parallel: string): string | undefined {
    return [...this.open.values()].find((error) => error !== undefined);
  }
}

function parseJson(text: string | undefined): Record<string, any> | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Every history event newer than `afterId`, oldest first (read newest first, so a long history is not re-read). */
async function newEvents(client: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const { GetExecutionHistoryCommand } = sfn();
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000, nextToken }));
    for (const e of page.events ?? []) {
      if ((e.id ?? 0) <= afterId) return events.reverse();
      events.push(e);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return events.reverse();
}

export interface WatchOptions {
  executionArn: string;
  endpoint?: string;
  intervalMs: number;
  out: (line: string) => void;
  signal?: AbortSignal;
}

/** Follows the execution until it ends; returns its final status. */
export async function watch(options: WatchOptions): Promise<string> {
  const region = /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(options.executionArn)?.[1];
  const localCredentials = options.endpoint && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {};
  const { SFNClient } = sfn();
  const client = new SFNClient({ ...(options.endpoint && { endpoint: options.endpoint }), region: process.env.AWS_REGION ?? region, ...localCredentials });
  const follower = new HistoryFollower(options.executionArn);
  let startMs: number | undefined;
  try {
    for (;;) {
      const events = await newEvents(client, options.executionArn, follower.lastId);
      startMs ??= events[0]?.timestamp?.getTime();
      for (const event of follower.follow(events)) {
        const line = formatProgress(event, startMs ?? Date.now());
        if (line) options.out(line);
      }
      // Ended, and no redrive after the end (a redrive adds events, which the next read would show).
      if (follower.status !== "RUNNING") return follower.status;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.intervalMs);
        options.signal?.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("interrupted"))), { once: true });
      });
    }
  } finally {
    client.destroy();
  }
}

type WatchValues = Exclude<ReturnType<typeof WATCH_COMMAND.parse>, "help">;

async function run(values: WatchValues, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const executionArn = values.positional!;
  if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(executionArn)) throw new UsageError(`'${executionArn}' is not an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)`);
  if (values.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(values.endpoint)) throw new UsageError(`--endpoint: expected a URL such as http://127.0.0.1:4566, got '${values.endpoint}'`);
  const intervalMs = integerOption("interval-ms", values["interval-ms"], { min: MIN_INTERVAL_MS, unit: "milliseconds" }) ?? 2000;
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  try {
    const status = await watch({ executionArn, endpoint: values.endpoint, intervalMs, out, signal: interrupt.signal });
    return status === "SUCCEEDED" ? 0 : 1;
  } catch (e) {
    if (e instanceof sfn().ExecutionDoesNotExist) {
      err(`error: ${e.message}`);
      return 2;
    }
    if (interrupt.signal.aborted) return 130;
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/** Runs the command on argv; returns the exit code. */
export function main(argv: readonly string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  return runCommand(WATCH_COMMAND, argv, (values) => run(values, out, err), { out, err });
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  runAsScript(WATCH_COMMAND, (values) => run(values, console.log, console.error));
}
