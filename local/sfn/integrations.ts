// The local handler of each Step Functions service integration (core/sfn-integrations.ts): keyed by the same API
// names, so an integration added there without a local handler here fails the type check. Glue, Athena and EMR
// Serverless are reached through their real SDK clients at the local services' endpoints; `.sync` waits for the
// run's end on the services' state-change events (a slow re-check covers a lost event), stops the run when the
// execution stops waiting, and fails as Step Functions does (`States.TaskFailed` with the run in the cause, or
// `<Service>.<Exception>` for an API error), so Retry and Catch written for AWS behave the same here.
import { randomUUID } from "node:crypto";
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from "@aws-sdk/client-athena";
import { CancelJobRunCommand, EMRServerlessClient, GetJobRunCommand as GetEmrJobRunCommand, StartJobRunCommand as StartEmrJobRunCommand } from "@aws-sdk/client-emr-serverless";
import { BatchStopJobRunCommand, GetJobRunCommand, GlueClient, StartJobRunCommand } from "@aws-sdk/client-glue";
import type { IntegrationApi, IntegrationPattern } from "../../core/sfn-integrations";
import { iso, LocalRuntimeError, TaskError, type PutEventsEntry, type SnsNotification } from "./model";

/** An EventBridge event as a service emits it (Glue, Athena, EMR Serverless state changes). */
export interface ServiceEvent {
  source: string;
  "detail-type": string;
  detail: Record<string, unknown>;
}

/** A local Lambda function: its answer, or the error it threw. */
export type LocalFunction = (event: unknown) => Promise<unknown>;

/** What the integrations reach locally. */
export interface IntegrationContext {
  region: string;
  /** Receives the entries of every `events:putEvents` task. */
  putEvents?: (entries: PutEventsEntry[]) => void | Promise<void>;
  /** `sns:publish` tasks append here. */
  notifications: SnsNotification[];
  /** The local services' endpoints (the SDK clients' `endpoint`). */
  endpoints: { glue?: string; athena?: string; emrServerless?: string };
  /** The function of a name (or ARN), for lambda:invoke; undefined when there is none. */
  lambdaFunction?: (name: string) => LocalFunction | undefined;
  /** Resolves with the next service event that `match` accepts (or never, if none comes). */
  nextServiceEvent: (match: (event: ServiceEvent) => boolean, signal: AbortSignal) => Promise<ServiceEvent>;
  /** A `.sync` task re-checks its run this often, in case a state-change event was lost. */
  syncRecheckMs: number;
}

/** One Task state's call. */
export interface IntegrationCall {
  state: string;
  pattern: IntegrationPattern;
  /** The state's request (Parameters evaluated); a callback's token is still the placeholder (see `withToken`). */
  input: unknown;
  /** Aborted when the execution stops waiting for this task (stopped, timed out, its branch failed). */
  signal: AbortSignal;
  /** `.waitForTaskToken`: opens the task's token (HeartbeatSeconds runs from here) and resolves with its answer. */
  openCallback: () => { token: string; answer: Promise<unknown> };
  /** The request with the callback's token in place of `$$.Task.Token`. */
  withToken: (input: unknown, token: string) => unknown;
}

export type LocalIntegration = (call: IntegrationCall, context: IntegrationContext) => Promise<unknown>;

const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

function client<T>(Client: new (config: object) => T, endpoint: string | undefined, service: string, context: IntegrationContext): T {
  // A setup problem, not the service's answer: no Retry or Catch may hide it.
  if (!endpoint) throw new LocalRuntimeError(`the local Step Functions service was given no ${service} endpoint (serviceEndpoints); it cannot run this task`);
  return new Client({ endpoint, region: context.region, credentials: CREDENTIALS });
}

/** An SDK error as Step Functions reports it: `<Service>.<Exception>`, the message as the cause. */
async function call<T>(service: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    const error = e as Error & { $metadata?: unknown };
    throw new TaskError(`${service}.${error.$metadata ? error.name : "SdkClientException"}`, error.message);
  }
}

/** Dates as epoch milliseconds, as Step Functions serializes the services' answers. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).filter(([k, v]) => k !== "$metadata" && v !== undefined).map(([k, v]) => [k, plain(v)]));
  return value;
}

const recase = (value: unknown, first: (c: string) => string, keep = (_: string) => false): unknown => {
  if (Array.isArray(value)) return value.map((v) => recase(v, first, keep));
  if (value && typeof value === "object" && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [first(k[0]) + k.slice(1), keep(k) ? v : recase(v, first, keep)]));
  return value;
};
// The EMR Serverless integration speaks PascalCase; its API camelCase. Maps of names (spark properties, tags) keep theirs.
const KEEP_KEYS = new Set(["properties", "Properties", "tags", "Tags"]);
const toCamel = (v: unknown) => recase(v, (c) => c.toLowerCase(), (k) => KEEP_KEYS.has(k));
const toPascal = (v: unknown) => recase(v, (c) => c.toUpperCase(), (k) => KEEP_KEYS.has(k));

function request(call: IntegrationCall, service: string): Record<string, any> {
  if (call.input === null || typeof call.input !== "object" || Array.isArray(call.input)) throw new TaskError(`${service}.ValidationException`, `state '${call.state}': the request must be an object`);
  return call.input as Record<string, any>;
}

/**
 * Waits for a run's end: subscribes to its state-change events before each check, so none is missed between the
 * check and the wait; a slow re-check covers a lost event. `stop` is called if the execution stops waiting.
 */
async function untilFinished<R>(
  call: IntegrationCall,
  context: IntegrationContext,
  check: () => Promise<{ done: boolean; result: R }>,
  isEvent: (e: ServiceEvent) => boolean,
  stop: () => Promise<unknown>,
): Promise<R> {
  try {
    for (;;) {
      const waiter = new AbortController();
      const signal = AbortSignal.any([waiter.signal, call.signal]);
      const event = context.nextServiceEvent(isEvent, signal);
      event.catch(() => undefined);
      try {
        const state = await check();
        if (state.done) return state.result;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, context.syncRecheckMs);
          const aborted = () => reject(new TaskError("States.Aborted", `state '${call.state}': no longer awaited`));
          if (call.signal.aborted) aborted();
          call.signal.addEventListener("abort", aborted, { once: true });
          void event.then(() => resolve(), () => undefined).finally(() => {
            clearTimeout(timer);
            call.signal.removeEventListener("abort", aborted);
          });
        });
      } finally {
        waiter.abort();
      }
    }
  } catch (e) {
    // As AWS does when a .sync task times out or its execution stops: stop the run (best effort).
    if (call.signal.aborted) await stop().catch(() => undefined);
    throw e;
  }
}

const GLUE_FAILED = new Set(["FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"]);

async function glueStartJobRun(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const glue = client(GlueClient, context.endpoints.glue, "Glue", context);
  try {
    const input = request(c, "Glue");
    const { JobRunId } = await call("Glue", () => glue.send(new StartJobRunCommand(input as never)));
    // Step Functions adds the job's name to StartJobRun's answer.
    if (c.pattern !== "sync") return { JobName: input.JobName, JobRunId };
    return await untilFinished(
      c,
      context,
      async () => {
        const run = (await call("Glue", () => glue.send(new GetJobRunCommand({ JobName: input.JobName, RunId: JobRunId })))).JobRun!;
        if (run.JobRunState === "SUCCEEDED") return { done: true, result: plain(run) };
        if (GLUE_FAILED.has(run.JobRunState!)) throw new TaskError("States.TaskFailed", JSON.stringify(plain(run)));
        return { done: false, result: undefined };
      },
      (e) => e.source === "aws.glue" && e.detail.jobRunId === JobRunId,
      () => glue.send(new BatchStopJobRunCommand({ JobName: input.JobName, JobRunIds: [JobRunId!] })),
    );
  } finally {
    glue.destroy();
  }
}

async function athenaStartQueryExecution(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const athena = client(AthenaClient, context.endpoints.athena, "Athena", context);
  try {
    const input = request(c, "Athena");
    const { QueryExecutionId } = await call("Athena", () => athena.send(new StartQueryExecutionCommand(input as never)));
    if (c.pattern !== "sync") return { QueryExecutionId };
    return await untilFinished(
      c,
      context,
      async () => {
        const answer = await call("Athena", () => athena.send(new GetQueryExecutionCommand({ QueryExecutionId })));
        const state = answer.QueryExecution?.Status?.State;
        if (state === "SUCCEEDED") return { done: true, result: plain(answer) };
        if (state === "FAILED" || state === "CANCELLED") throw new TaskError("States.TaskFailed", JSON.stringify(plain(answer)));
        return { done: false, result: undefined };
      },
      (e) => e.source === "aws.athena" && e.detail.queryExecutionId === QueryExecutionId,
      () => athena.send(new StopQueryExecutionCommand({ QueryExecutionId })),
    );
  } finally {
    athena.destroy();
  }
}

async function emrServerlessStartJobRun(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const emr = client(EMRServerlessClient, context.endpoints.emrServerless, "EMRServerless", context);
  try {
    const input = toCamel(request(c, "EMRServerless")) as Record<string, any>;
    // The SDK fills clientToken when absent: one StartJobRun per state entry, as Step Functions does.
    const started = await call("EMRServerless", () => emr.send(new StartEmrJobRunCommand({ clientToken: randomUUID(), ...input } as never)));
    const { applicationId, jobRunId } = started;
    if (c.pattern !== "sync") return toPascal(plain(started));
    return await untilFinished(
      c,
      context,
      async () => {
        const answer = await call("EMRServerless", () => emr.send(new GetEmrJobRunCommand({ applicationId, jobRunId })));
        const state = answer.jobRun?.state;
        if (state === "SUCCESS") return { done: true, result: toPascal(plain(answer)) };
        if (state === "FAILED" || state === "CANCELLED") throw new TaskError("States.TaskFailed", JSON.stringify(toPascal(plain(answer))));
        return { done: false, result: undefined };
      },
      (e) => e.source === "aws.emr-serverless" && e.detail.jobRunId === jobRunId,
      () => emr.send(new CancelJobRunCommand({ applicationId, jobRunId })),
    );
  } finally {
    emr.destroy();
  }
}

/** A function's error as Step Functions reports it: its errorType, with the Lambda error payload as the cause. */
function functionError(e: unknown): TaskError {
  const error = e instanceof Error ? e : new Error(String(e));
  const type = error.name && error.name !== "TaskError" ? error.name : "Error";
  return new TaskError(type, JSON.stringify({ errorType: type, errorMessage: error.message, trace: (error.stack ?? "").split("\n") }));
}

async function lambdaInvoke(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const input = request(c, "Lambda");
  const name = String(input.FunctionName ?? "");
  const fn = context.lambdaFunction?.(name);
  if (!fn) throw new TaskError("Lambda.ResourceNotFoundException", `Function not found: ${name} (the local runtime runs the project's functions and the configuration's lambdaFunctions)`);
  const invoke = async (payload: unknown) => {
    try {
      return await fn(payload);
    } catch (e) {
      throw functionError(e);
    }
  };
  if (c.pattern === "waitForTaskToken") {
    const callback = c.openCallback();
    const payload = (c.withToken(input, callback.token) as Record<string, unknown>).Payload;
    if (input.InvocationType === "Event") void invoke(payload).catch((e) => process.emitWarning(`local Lambda ${name}: ${(e as Error).message}`));
    else await invoke(payload);
    return callback.answer;
  }
  if (input.InvocationType === "Event") {
    void invoke(input.Payload).catch((e) => process.emitWarning(`local Lambda ${name}: ${(e as Error).message}`));
    return { StatusCode: 202, Payload: "" };
  }
  const result = await invoke(input.Payload);
  return { ExecutedVersion: "$LATEST", Payload: result ?? null, StatusCode: 200 };
}

async function eventsPutEvents(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const callback = c.pattern === "waitForTaskToken" ? c.openCallback() : undefined;
  const input = (callback ? c.withToken(c.input, callback.token) : c.input) as { Entries?: unknown };
  const entries = input?.Entries;
  if (!Array.isArray(entries)) throw new TaskError("EventBridge.ValidationException", "events:putEvents needs Parameters.Entries, an array");
  await context.putEvents?.(entries as PutEventsEntry[]);
  const answer = { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
  return callback ? callback.answer : answer;
}

async function snsPublish(c: IntegrationCall, context: IntegrationContext): Promise<unknown> {
  const { TopicArn, Subject, Message } = (c.input ?? {}) as Record<string, unknown>;
  if (typeof TopicArn !== "string") throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.TopicArn, a string");
  if (Message === undefined) throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.Message");
  context.notifications.push({ topicArn: TopicArn, subject: typeof Subject === "string" ? Subject : undefined, message: typeof Message === "string" ? Message : JSON.stringify(Message), at: iso() });
  return { MessageId: randomUUID() };
}

export const LOCAL_INTEGRATIONS: Record<IntegrationApi, LocalIntegration> = {
  "glue:startJobRun": glueStartJobRun,
  "athena:startQueryExecution": athenaStartQueryExecution,
  "emr-serverless:startJobRun": emrServerlessStartJobRun,
  "lambda:invoke": lambdaInvoke,
  "events:putEvents": eventsPutEvents,
  "sns:publish": snsPublish,
};
