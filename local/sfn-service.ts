// A local Step Functions service for the API subset the handlers and the runner use (activities, long-poll,
// task tokens, executions), reachable by the real @aws-sdk/client-sfn. aws-local-stepfunctions interprets
// the state machine; this module adds what it lacks: activity tasks with HeartbeatSeconds, the events and
// SNS integrations, and AWS's token semantics.
import "./polyfill"; // before aws-local-stepfunctions: it needs Promise.withResolvers
import { randomBytes, randomUUID } from "node:crypto";
import { ExecutionError, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { allStates, type LoadedStateMachine } from "../asl/loader";
import { LOCAL_ACCOUNT, LOCAL_REGION, localActivityArn } from "./arns";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "./aws-json-server";

const OUTPUT_MAX_CHARS = 262_144;
const ERROR_MAX_CHARS = 256;
const CAUSE_MAX_CHARS = 32_768;
const LONG_POLL_MS = 60_000;
// setTimeout fires at once beyond 2^31-1 ms, so longer task timeouts are capped (about 24.8 days).
const MAX_TIMER_SECONDS = 2_147_483;
const PUT_EVENTS = "arn:aws:states:::events:putEvents";
const SNS_PUBLISH = "arn:aws:states:::sns:publish";
const ACTIVITY_ARN = /^arn:aws:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_-]{1,80}$/;
const RESOURCE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const TOKEN = /^[A-Za-z0-9_-]{64}$/;

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";
export type StateExitStatus = "SUCCEEDED" | "CAUGHT" | "FAILED" | "ABORTED";
export type ActivityTaskOutcome = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "HEARTBEAT_TIMED_OUT" | "ABORTED";

/**
 * What happens in executions, in the order recorded. `at` (ISO-8601, milliseconds) is when it happened: events from
 * inside Parallel branches can be recorded a moment after their `at`, so sort by `at` for a timeline.
 */
export type SfnEvent = { at: string; executionArn: string } & (
  | { type: "ExecutionStarted"; input: unknown }
  | { type: "StateEntered"; name: string }
  | { type: "StateRetried"; name: string; attempt: number; error?: string; cause?: string }
  | { type: "StateExited"; name: string; status: StateExitStatus; error?: string; cause?: string }
  | { type: "ActivityTaskScheduled"; state: string; activityArn: string; input: unknown }
  | { type: "ActivityTaskStarted"; state: string; activityArn: string }
  | { type: "ActivityTaskClosed"; state: string; activityArn: string; outcome: ActivityTaskOutcome; error?: string; cause?: string }
  | { type: "ExecutionSucceeded"; output: unknown }
  | { type: "ExecutionFailed"; error: string; cause: string }
  | { type: "ExecutionAborted"; error?: string; cause?: string }
);

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: unknown;
  [field: string]: unknown;
}

export interface SnsNotification {
  topicArn: string;
  subject?: string;
  message: string;
  at: string;
}

export interface ExecutionDescription {
  executionArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

export interface LocalStepFunctionsOptions {
  /** The workflow as `loadStateMachine` (asl/loader.ts) returns it. */
  stateMachine: LoadedStateMachine;
  /** Name in the state machine's ARN. Default: `local-workflow`. */
  stateMachineName?: string;
  /** Region in ARNs (see `localActivityArn`). Default: `us-east-1`. */
  region?: string;
  /** Account in ARNs. Default: `000000000000`. */
  accountId?: string;
  /** Activities that exist from the start (CreateActivity adds more). Default: none. */
  activities?: readonly string[];
  /** Receives the entries of every `events:putEvents` task. Default: the entries are dropped. */
  putEvents?: (entries: PutEventsEntry[]) => void | Promise<void>;
  /** Called with every event as it is recorded (see `events`). Default: none. */
  onEvent?: (event: SfnEvent) => void;
  /** How long GetActivityTask holds a request when no task is waiting. Default: 60,000 ms, as AWS. */
  longPollMs?: number;
  /** Port on 127.0.0.1. Default: 0 (ephemeral). */
  port?: number;
  /** Retry pauses in ms by state name (the library's `retryIntervalOverrides`), e.g. for fast tests. Default: as the ASL says. */
  retryIntervalOverrides?: Record<string, number | number[]>;
}

/** A failure as Step Functions sees it: Retry and Catch match `name`; Catch's `Cause` is `message`. */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Like States.Runtime: fails the execution; no Retry or Catch may hide it. */
class LocalRuntimeError extends TaskError {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(message: string) {
    super("States.Runtime", message);
  }
}

interface Activity {
  arn: string;
  name: string;
  creationDate: Date;
  /** Scheduled tasks nobody has polled yet, oldest first. */
  queue: ActivityTask[];
  /** Waiting GetActivityTask requests, oldest first. */
  polls: Array<(task: ActivityTask | undefined) => void>;
}

interface ActivityTask {
  token: string;
  activity: Activity;
  state: string;
  execution: Execution;
  input: string;
  status: "SCHEDULED" | "STARTED" | "CLOSED";
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

interface OpenState {
  name: string;
  failure?: { error: string; cause: string; at: string };
  caught?: boolean;
}

interface Execution extends ExecutionDescription {
  abort: () => void;
  tasks: Set<ActivityTask>;
  /** States entered and not yet exited, keyed by name (and Map index). */
  openStates: Map<string, OpenState>;
  done: Promise<void>;
}

interface TaskStateInfo {
  resource: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

const iso = (time: number | Date = Date.now()) => new Date(time).toISOString();
const epochSeconds = (date: Date) => date.getTime() / 1000;

function optionalString(input: Record<string, unknown>, field: string, max: number): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new AwsJsonError("ValidationException", `'${field}' must be a string`);
  if (value.length > max) throw new AwsJsonError("ValidationException", `'${field}' is ${value.length} characters; at most ${max} are allowed`);
  return value;
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "") throw new AwsJsonError("ValidationException", `'${field}' is required and must be a non-empty string`);
  return value;
}

/** Task states by name, and the states nested in each Parallel or Map state. */
function describeStates(definition: Record<string, unknown>) {
  const tasks = new Map<string, TaskStateInfo>();
  const nested = new Map<string, Set<string>>();
  for (const [name, state] of allStates(definition)) {
    if (state.Type === "Task") {
      if (ACTIVITY_ARN.test(state.Resource) && (state.TimeoutSecondsPath || state.HeartbeatSecondsPath)) {
        throw new Error(`state '${name}': TimeoutSecondsPath and HeartbeatSecondsPath are not supported on activity tasks by the local Step Functions service; use TimeoutSeconds and HeartbeatSeconds`);
      }
      tasks.set(name, { resource: state.Resource, timeoutSeconds: state.TimeoutSeconds, heartbeatSeconds: state.HeartbeatSeconds });
    }
    const machines = [...(state.Branches ?? []), state.ItemProcessor ?? state.Iterator].filter(Boolean);
    if (machines.length) nested.set(name, new Set(machines.flatMap((m) => allStates(m).map(([n]) => n))));
  }
  return { tasks, nested };
}

/**
 * The definition the library runs. Its Task states default to a 60 s timeout, so activity tasks get an explicit
 * TimeoutSeconds (capped to what a timer can hold); the library then raises States.Timeout itself. Every Retry
 * and Catch on States.Timeout also lists States.HeartbeatTimeout, as AWS matches it.
 */
function libraryDefinition(definition: Record<string, unknown>): StateMachineDefinition {
  const copy = structuredClone(definition);
  for (const [, state] of allStates(copy)) {
    if (state.Type === "Task" && ACTIVITY_ARN.test(state.Resource)) {
      state.TimeoutSeconds = Math.min(state.TimeoutSeconds ?? MAX_TIMER_SECONDS, MAX_TIMER_SECONDS);
    }
    // In AWS, States.Timeout also matches a heartbeat timeout (States.HeartbeatTimeout matches only that).
    for (const rule of [...(Array.isArray(state.Retry) ? state.Retry : []), ...(Array.isArray(state.Catch) ? state.Catch : [])]) {
      const errors: unknown = rule?.ErrorEquals;
      if (Array.isArray(errors) && errors.includes("States.Timeout") && !errors.includes("States.HeartbeatTimeout")) errors.push("States.HeartbeatTimeout");
    }
  }
  return copy as unknown as StateMachineDefinition;
}

export class LocalStepFunctions {
  readonly stateMachineArn: string;
  /** Messages published by `sns:publish` tasks, in order. */
  readonly notifications: SnsNotification[] = [];
  /** Every event recorded so far, in order. */
  readonly events: SfnEvent[] = [];

  private readonly activities = new Map<string, Activity>();
  private readonly tokens = new Map<string, ActivityTask>();
  private readonly executions = new Map<string, Execution>();
  private readonly machine: StateMachine;
  private readonly taskStates: Map<string, TaskStateInfo>;
  private readonly nestedStates: Map<string, Set<string>>;
  private readonly region: string;
  private readonly accountId: string;
  private readonly longPollMs: number;
  private server!: AwsJsonServer;
  private closed = false;

  /** `http://127.0.0.1:<port>`: the SDK client's `endpoint` or `AWS_ENDPOINT_URL_SFN`. */
  get endpoint(): string {
    return this.server.endpoint;
  }

  /** Starts the service on 127.0.0.1. Throws on bad options or a definition the service cannot run. */
  static async start(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    const service = new LocalStepFunctions(options);
    service.server = await startAwsJsonServer({
      service: "AWSStepFunctions",
      port: options.port,
      handlers: {
        CreateActivity: (input) => service.createActivity(input),
        ListActivities: () => service.listActivities(),
        GetActivityTask: (input, signal) => service.getActivityTask(input, signal),
        SendTaskSuccess: (input) => service.sendTaskSuccess(input),
        SendTaskFailure: (input) => service.sendTaskFailure(input),
        SendTaskHeartbeat: (input) => service.sendTaskHeartbeat(input),
        StartExecution: (input) => service.startExecution(input),
        DescribeExecution: (input) => service.describeExecution(input),
        StopExecution: (input) => service.stopExecution(input),
      },
      onInternalError: (operation, error) => process.emitWarning(`local Step Functions: ${operation} failed: ${(error as Error)?.stack ?? error}`),
    });
    return service;
  }

  private constructor(private readonly options: LocalStepFunctionsOptions) {
    const file = options.stateMachine.file;
    this.region = options.region ?? LOCAL_REGION;
    this.accountId = options.accountId ?? LOCAL_ACCOUNT;
    const name = options.stateMachineName ?? "local-workflow";
    if (!RESOURCE_NAME.test(name)) throw new Error(`stateMachineName '${name}': use 1-80 letters, digits, '-' or '_'`);
    if (!/^\d{12}$/.test(this.accountId)) throw new Error(`accountId '${this.accountId}': expected 12 digits`);
    this.longPollMs = options.longPollMs ?? LONG_POLL_MS;
    if (!Number.isInteger(this.longPollMs) || this.longPollMs < 1 || this.longPollMs > LONG_POLL_MS) {
      throw new Error(`longPollMs ${options.longPollMs}: expected an integer from 1 to ${LONG_POLL_MS}`);
    }
    this.stateMachineArn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
    try {
      ({ tasks: this.taskStates, nested: this.nestedStates } = describeStates(options.stateMachine.definition));
      this.machine = new StateMachine(libraryDefinition(options.stateMachine.definition));
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    for (const activity of options.activities ?? []) this.createActivity({ name: activity });
  }

  /** The ARN CreateActivity gives an activity of this name. */
  activityArn(name: string): string {
    return localActivityArn(name, this.region, this.accountId);
  }

  /** Resolves when the execution has ended and every event about it is recorded. */
  async waitForExecution(executionArn: string): Promise<ExecutionDescription> {
    const execution = this.execution(executionArn);
    await execution.done;
    return this.describe(execution);
  }

  /** Answers pending long-polls with `{}`, aborts running executions, closes the server and every socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const execution of this.executions.values()) {
      if (execution.status === "RUNNING") this.stop(execution, "LocalServiceClosed", "the local Step Functions service was closed");
    }
    await Promise.all([...this.executions.values()].map((e) => e.done));
    for (const activity of this.activities.values()) for (const poll of activity.polls.splice(0)) poll(undefined);
    await this.server.close();
  }

  // ---- activities and tasks ----

  private createActivity(input: Record<string, unknown>) {
    const name = requiredString(input, "name");
    if (!RESOURCE_NAME.test(name)) throw new AwsJsonError("InvalidName", `activity name '${name}': use 1-80 letters, digits, '-' or '_'`);
    const arn = this.activityArn(name);
    let activity = this.activities.get(arn);
    if (!activity) {
      activity = { arn, name, creationDate: new Date(), queue: [], polls: [] };
      this.activities.set(arn, activity);
    }
    return { activityArn: arn, creationDate: epochSeconds(activity.creationDate) };
  }

  private listActivities() {
    return {
      activities: [...this.activities.values()].map((a) => ({ activityArn: a.arn, name: a.name, creationDate: epochSeconds(a.creationDate) })),
    };
  }

  private async getActivityTask(input: Record<string, unknown>, signal: AbortSignal) {
    const arn = requiredString(input, "activityArn");
    const activity = this.activities.get(arn);
    if (!activity) throw new AwsJsonError("ActivityDoesNotExist", `activity '${arn}' does not exist`);
    let task = activity.queue.shift();
    if (task) this.handOut(task);
    else if (!this.closed && !signal.aborted) {
      task = await new Promise<ActivityTask | undefined>((resolve) => {
        const finish = (handed: ActivityTask | undefined) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", gone);
          const index = activity.polls.indexOf(finish);
          if (index >= 0) activity.polls.splice(index, 1);
          resolve(handed);
        };
        const gone = () => finish(undefined);
        const timer = setTimeout(gone, this.longPollMs);
        signal.addEventListener("abort", gone, { once: true });
        activity.polls.push(finish);
      });
    }
    // A task closed meanwhile is still handed over: its token then answers TaskTimedOut, as in AWS.
    if (!task) return {};
    return { taskToken: task.token, input: task.input };
  }

  /** Marks the task started; called exactly once per task, synchronously with taking it off the queue. */
  private handOut(task: ActivityTask) {
    task.status = "STARTED";
    this.emit(task.execution, { type: "ActivityTaskStarted", state: task.state, activityArn: task.activity.arn });
  }

  /** The open task of a token, or the error AWS gives for it. */
  private openTask(input: Record<string, unknown>): ActivityTask {
    const token = input.taskToken;
    if (typeof token !== "string" || !TOKEN.test(token)) throw new AwsJsonError("InvalidToken", "the task token is malformed");
    const task = this.tokens.get(token);
    if (!task) throw new AwsJsonError("TaskDoesNotExist", "no task has this token");
    if (task.status === "CLOSED") throw new AwsJsonError("TaskTimedOut", `the task of state '${task.state}' is closed (completed, timed out or its execution ended)`);
    return task;
  }

  private sendTaskSuccess(input: Record<string, unknown>) {
    const output = input.output;
    if (typeof output !== "string") throw new AwsJsonError("InvalidOutput", "'output' is required and must be a JSON string");
    if (output.length > OUTPUT_MAX_CHARS) throw new AwsJsonError("InvalidOutput", `'output' is ${output.length} characters; at most ${OUTPUT_MAX_CHARS} are allowed`);
    let value: unknown;
    try {
      value = JSON.parse(output);
    } catch (e) {
      throw new AwsJsonError("InvalidOutput", `'output' is not JSON: ${(e as Error).message}`);
    }
    const task = this.openTask(input);
    this.closeTask(task, "SUCCEEDED");
    task.resolve(value);
    return {};
  }

  private sendTaskFailure(input: Record<string, unknown>) {
    const error = optionalString(input, "error", ERROR_MAX_CHARS) ?? "";
    const cause = optionalString(input, "cause", CAUSE_MAX_CHARS) ?? "";
    const task = this.openTask(input);
    this.closeTask(task, "FAILED", error, cause);
    task.reject(new TaskError(error, cause));
    return {};
  }

  private sendTaskHeartbeat(input: Record<string, unknown>) {
    this.armHeartbeat(this.openTask(input));
    return {};
  }

  private armHeartbeat(task: ActivityTask) {
    if (task.heartbeatMs === undefined) return;
    clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = setTimeout(() => {
      const cause = `no heartbeat or result for state '${task.state}' within HeartbeatSeconds`;
      this.closeTask(task, "HEARTBEAT_TIMED_OUT", "States.HeartbeatTimeout", cause);
      task.reject(new TaskError("States.HeartbeatTimeout", cause));
    }, task.heartbeatMs);
  }

  /** Marks the task closed (its token then answers TaskTimedOut) and stops its timers. */
  private closeTask(task: ActivityTask, outcome: ActivityTaskOutcome, error?: string, cause?: string): boolean {
    if (task.status === "CLOSED") return false;
    task.status = "CLOSED";
    clearTimeout(task.heartbeatTimer);
    const queued = task.activity.queue.indexOf(task);
    if (queued >= 0) task.activity.queue.splice(queued, 1);
    task.execution.tasks.delete(task);
    this.emit(task.execution, { type: "ActivityTaskClosed", state: task.state, activityArn: task.activity.arn, outcome, error, cause });
    return true;
  }

  /** Closes open tasks (all, or those of the given states) that their execution no longer waits for. */
  private abandonTasks(execution: Execution, states?: ReadonlySet<string>, outcome: ActivityTaskOutcome = "ABORTED", error?: string, cause?: string) {
    for (const task of [...execution.tasks]) {
      if (states && !states.has(task.state)) continue;
      this.closeTask(task, outcome, error, cause);
      task.reject(new TaskError("States.Aborted", `the task of state '${task.state}' was cancelled`));
    }
  }

  private runActivityTask(execution: Execution, state: string, info: TaskStateInfo, input: unknown): Promise<unknown> {
    const activity = this.activities.get(info.resource);
    if (!activity) return Promise.reject(new LocalRuntimeError(`state '${state}': activity '${info.resource}' does not exist (create it with CreateActivity)`));
    if (execution.status !== "RUNNING") return Promise.reject(new TaskError("States.Aborted", `execution ${execution.executionArn} has ended`));
    return new Promise((resolve, reject) => {
      const task: ActivityTask = {
        token: randomBytes(48).toString("base64url"),
        activity,
        state,
        execution,
        input: JSON.stringify(input),
        status: "SCHEDULED",
        heartbeatMs: info.heartbeatSeconds === undefined ? undefined : Math.min(info.heartbeatSeconds, MAX_TIMER_SECONDS) * 1000,
        resolve,
        reject,
      };
      this.tokens.set(task.token, task);
      execution.tasks.add(task);
      this.emit(execution, { type: "ActivityTaskScheduled", state, activityArn: activity.arn, input });
      // As in AWS, the heartbeat clock starts when the task is scheduled.
      this.armHeartbeat(task);
      const poll = activity.polls.shift();
      if (poll) {
        this.handOut(task);
        poll(task);
      } else activity.queue.push(task);
    });
  }

  private async putEventsTask(input: unknown) {
    const entries = (input as { Entries?: unknown })?.Entries;
    if (!Array.isArray(entries)) throw new TaskError("EventBridge.ValidationException", "events:putEvents needs Parameters.Entries, an array");
    await this.options.putEvents?.(entries as PutEventsEntry[]);
    return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
  }

  private snsPublishTask(input: unknown) {
    const { TopicArn, Subject, Message } = (input ?? {}) as Record<string, unknown>;
    if (typeof TopicArn !== "string") throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.TopicArn, a string");
    if (Message === undefined) throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.Message");
    this.notifications.push({
      topicArn: TopicArn,
      subject: typeof Subject === "string" ? Subject : undefined,
      message: typeof Message === "string" ? Message : JSON.stringify(Message),
      at: iso(),
    });
    return { MessageId: randomUUID() };
  }

  private taskHandlers(execution: Execution) {
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    for (const [state, info] of this.taskStates) {
      if (ACTIVITY_ARN.test(info.resource)) handlers[state] = (input) => this.runActivityTask(execution, state, info, input);
      else if (info.resource === PUT_EVENTS) handlers[state] = (input) => this.putEventsTask(input);
      else if (info.resource === SNS_PUBLISH) handlers[state] = async (input) => this.snsPublishTask(input);
      else {
        handlers[state] = async () => {
          throw new LocalRuntimeError(`state '${state}': the local Step Functions service cannot run Resource '${info.resource}' (it runs activities, ${PUT_EVENTS} and ${SNS_PUBLISH})`);
        };
      }
    }
    return handlers;
  }

  // ---- executions ----

  private execution(executionArn: unknown): Execution {
    if (typeof executionArn !== "string") throw new AwsJsonError("ValidationException", "'executionArn' is required and must be a string");
    const execution = this.executions.get(executionArn);
    if (!execution) throw new AwsJsonError("ExecutionDoesNotExist", `execution '${executionArn}' does not exist`);
    return execution;
  }

  private describe(e: Execution): ExecutionDescription {
    const { executionArn, name, status, input, output, error, cause, startDate, stopDate } = e;
    return { executionArn, name, status, input, output, error, cause, startDate, stopDate };
  }

  private startExecution(request: Record<string, unknown>) {
    if (this.closed) throw new AwsJsonError("ServiceUnavailable", "the local Step Functions service is closing", 503);
    const stateMachineArn = requiredString(request, "stateMachineArn");
    if (stateMachineArn !== this.stateMachineArn) {
      throw new AwsJsonError("StateMachineDoesNotExist", `state machine '${stateMachineArn}' does not exist (this service runs '${this.stateMachineArn}')`);
    }
    const name = optionalString(request, "name", 80) ?? randomUUID();
    if (!RESOURCE_NAME.test(name)) throw new AwsJsonError("InvalidName", `execution name '${name}': use 1-80 letters, digits, '-' or '_'`);
    const inputText = optionalString(request, "input", OUTPUT_MAX_CHARS) ?? "{}";
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch (e) {
      throw new AwsJsonError("InvalidExecutionInput", `'input' is not JSON: ${(e as Error).message}`);
    }
    if (input === null || typeof input !== "object" || Array.isArray(input)) throw new AwsJsonError("InvalidExecutionInput", "'input' must be a JSON object");

    const executionArn = this.stateMachineArn.replace(":stateMachine:", ":execution:") + `:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: the same name and input while running is an idempotent retry of the same start.
      if (existing.status === "RUNNING" && existing.input === inputText) return { executionArn, startDate: epochSeconds(existing.startDate) };
      throw new AwsJsonError("ExecutionAlreadyExists", `execution '${name}' already exists`);
    }

    const execution: Execution = {
      executionArn,
      name,
      status: "RUNNING",
      input: inputText,
      startDate: new Date(),
      abort: () => undefined,
      tasks: new Set(),
      openStates: new Map(),
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, execution);
    this.emit(execution, { type: "ExecutionStarted", input });
    const run = this.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: this.taskHandlers(execution), retryIntervalOverrides: this.options.retryIntervalOverrides },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: execution.startDate.toISOString() },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineArn.split(":").pop() },
      },
    });
    execution.abort = run.abort;
    const settled = run.result.then(
      (output) => ({ output }),
      (error: unknown) => ({ error }),
    );
    execution.done = Promise.all([settled, this.follow(execution, run.eventLogs)]).then(([result]) => this.finish(execution, result));
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private describeExecution(request: Record<string, unknown>) {
    const e = this.execution(request.executionArn);
    return {
      executionArn: e.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      stopDate: e.stopDate && epochSeconds(e.stopDate),
      input: e.input,
      output: e.output,
      error: e.error,
      cause: e.cause,
    };
  }

  private stopExecution(request: Record<string, unknown>) {
    const execution = this.execution(request.executionArn);
    const error = optionalString(request, "error", ERROR_MAX_CHARS);
    const cause = optionalString(request, "cause", CAUSE_MAX_CHARS);
    if (execution.status === "RUNNING") this.stop(execution, error, cause);
    return { stopDate: epochSeconds(execution.stopDate ?? new Date()) };
  }

  private stop(execution: Execution, error?: string, cause?: string) {
    Object.assign(execution, { status: "ABORTED", error, cause, stopDate: new Date() });
    execution.abort();
    // The library does not tell local handlers about an abort: release their tasks so the run can unwind.
    this.abandonTasks(execution);
  }

  /** Turns the library's event log into SfnEvents (state names and times hold inside Parallel branches too). */
  private async follow(execution: Execution, logs: AsyncGenerator<any>) {
    for await (const event of logs) {
      if (!event.state) continue;
      const name: string = event.state.name;
      const key = event.index === undefined ? name : `${name}[${event.index}]`;
      const at = iso(event.timestamp);
      const open = execution.openStates.get(key);
      switch (event.type) {
        case "StateEntered":
          if (open) this.exitState(execution, key, at); // a retried Parallel or Map runs its states again
          execution.openStates.set(key, { name });
          this.emit(execution, { type: "StateEntered", name }, at);
          break;
        case "StateFailed":
          if (!open) break;
          open.failure = { error: String(event.Error), cause: typeof event.Cause === "string" ? event.Cause : JSON.stringify(event.Cause), at };
          // TimeoutSeconds is the library's (States.Timeout); its task is closed here, before any request is read.
          if (open.failure.error === "States.Timeout") this.abandonTasks(execution, new Set([name]), "TIMED_OUT", open.failure.error, open.failure.cause);
          if (this.nestedStates.has(name)) {
            // A failed Parallel or Map has cancelled its branches: their open tasks and states end here.
            const inside = this.nestedStates.get(name)!;
            this.abandonTasks(execution, inside);
            for (const [k, s] of [...execution.openStates]) if (inside.has(s.name)) this.exitState(execution, k, at);
          }
          break;
        case "StateRetried":
          if (!open) break;
          this.emit(execution, { type: "StateRetried", name, attempt: event.retry.attempt, error: open.failure?.error, cause: open.failure?.cause }, at);
          open.failure = undefined;
          break;
        case "StateCaught":
          if (open) open.caught = true;
          break;
        case "StateExited":
          if (open) this.exitState(execution, key, at, open.caught ? "CAUGHT" : "SUCCEEDED");
          break;
      }
    }
  }

  private exitState(execution: Execution, key: string, at: string, status?: StateExitStatus) {
    const open = execution.openStates.get(key)!;
    execution.openStates.delete(key);
    const failure = status === "SUCCEEDED" ? undefined : open.failure;
    this.emit(execution, { type: "StateExited", name: open.name, status: status ?? (failure ? "FAILED" : "ABORTED"), error: failure?.error, cause: failure?.cause }, status ? at : (failure?.at ?? at));
  }

  private finish(execution: Execution, result: { output?: unknown; error?: unknown }) {
    this.abandonTasks(execution);
    const now = iso();
    for (const key of [...execution.openStates.keys()]) this.exitState(execution, key, now);
    if (execution.status === "ABORTED") {
      this.emit(execution, { type: "ExecutionAborted", error: execution.error, cause: execution.cause });
      return;
    }
    execution.stopDate = new Date();
    if ("error" in result) {
      const raw = result.error instanceof ExecutionError ? (result.error.cause as Error) : (result.error as Error);
      execution.status = "FAILED";
      execution.error = raw?.name ?? "States.Runtime";
      execution.cause = raw?.message ?? String(raw);
      this.emit(execution, { type: "ExecutionFailed", error: execution.error, cause: execution.cause });
    } else {
      execution.status = "SUCCEEDED";
      execution.output = JSON.stringify(result.output);
      this.emit(execution, { type: "ExecutionSucceeded", output: result.output });
    }
  }

  private emit(execution: Execution, event: Record<string, unknown> & { type: SfnEvent["type"] }, at = iso()) {
    const recorded = { ...event, at, executionArn: execution.executionArn } as SfnEvent;
    this.events.push(recorded);
    try {
      this.options.onEvent?.(recorded);
    } catch (e) {
      process.emitWarning(`local Step Functions: onEvent listener failed: ${(e as Error)?.stack ?? e}`);
    }
  }
}
