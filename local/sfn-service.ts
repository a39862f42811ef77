// A local Step Functions service for the API subset the handlers and the runner use (activities, long-poll,
// task tokens, executions), reachable by the real @aws-sdk/client-sfn. aws-local-stepfunctions interprets
// the state machine; this module runs its executions and adds what the library lacks: activity tasks with
// HeartbeatSeconds and AWS's token semantics (sfn/activities.ts), and the topology's service integrations
// (sfn/integrations.ts). The shared records and errors are in sfn/model.ts.
import "./polyfill"; // before aws-local-stepfunctions: it needs Promise.withResolvers
import "./sfn/lazy-validator"; // before aws-local-stepfunctions: asl-validator loaded only if called
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ExecutionError, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { allStates, type LoadedStateMachine } from "../asl/loader";
import { passOnce } from "../core/build-cache";
import { sha256 } from "../core/build-inputs";
import { parseResource, SUPPORTED_RESOURCES } from "../core/sfn-integrations";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./arns";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "./aws-json-server";
import { ActivityTasks } from "./sfn/activities";
import { historyEvents } from "./sfn/history";
import { LOCAL_INTEGRATIONS, type IntegrationContext, type LocalFunction, type ServiceEvent } from "./sfn/integrations";
import { isRedriveState, NotRedrivableError, redriveDefinition } from "./sfn/redrive";
import {
  ACTIVITY_ARN,
  CAUSE_MAX_CHARS,
  epochSeconds,
  ERROR_MAX_CHARS,
  iso,
  LocalRuntimeError,
  MAX_TIMER_SECONDS,
  NODE_TIMERS,
  TaskError,
  optionalString,
  OUTPUT_MAX_CHARS,
  requiredString,
  RESOURCE_NAME,
  type ExecutionDescription,
  type Execution,
  type PutEventsEntry,
  type SfnEvent,
  type SnsNotification,
  type StateExitStatus,
  type TaskStateInfo,
  type HeartbeatTimers,
} from "./sfn/model";

export type { ActivityTaskOutcome, ExecutionDescription, ExecutionStatus, PutEventsEntry, SfnEvent, SnsNotification, StateExitStatus, HeartbeatTimers } from "./sfn/model";

const LONG_POLL_MS = 60_000;
/** AWS: an execution can be redriven at most 1,000 times. */
const MAX_REDRIVES = 1000;

/** EventBridge's "Step Functions Execution Status Change" event, as AWS puts it on the default bus. */
export interface ExecutionStatusChangeEvent {
  version: "0";
  id: string;
  "detail-type": "Step Functions Execution Status Change";
  source: "aws.states";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
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
  /** Receives the "Step Functions Execution Status Change" event of every status change, as EventBridge would. Default: none. */
  onStatusChange?: (event: ExecutionStatusChangeEvent) => void;
  /** Retry pauses in ms by state name (the library's `retryIntervalOverrides`), e.g. for fast tests. Default: as the ASL says. */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Endpoints of the local services the `.sync` and request-response integrations call. Default: none. */
  serviceEndpoints?: IntegrationContext["endpoints"];
  /** The local function of a name or ARN, for lambda:invoke. Default: none (ResourceNotFoundException). */
  lambdaFunction?: (name: string) => LocalFunction | undefined;
  /** A `.sync` task re-checks its run this often in case a state-change event was lost (see `serviceEvent`). Default: 10,000 ms. */
  syncRecheckMs?: number;
  /**
   * The timers HeartbeatSeconds runs on (TimeoutSeconds, Retry and Wait stay on the library's real timers). Default:
   * Node's. A test passes timers it advances itself, to show heartbeat timing without waiting it out.
   */
  heartbeatTimers?: HeartbeatTimers;
}

/** `$$.Task.Token` evaluates to this while the library evaluates a state's Parameters; the task's token replaces it. */
const TOKEN_PLACEHOLDER = `local-task-token-${randomUUID()}`;

function replaceToken(value: unknown, token: string): unknown {
  if (typeof value === "string") return value.split(TOKEN_PLACEHOLDER).join(token);
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  return value;
}

/** Task states by name, and the states nested in each Parallel or Map state. */
function describeStates(definition: Record<string, unknown>) {
  const tasks = new Map<string, TaskStateInfo>();
  const nested = new Map<string, Set<string>>();
  for (const [name, state] of allStates(definition)) {
    if (state.Type === "Task") {
      if (state.TimeoutSecondsPath || state.HeartbeatSecondsPath) {
        throw new Error(`state '${name}': TimeoutSecondsPath and HeartbeatSecondsPath are not supported on Task states by the local Step Functions service; use TimeoutSeconds and HeartbeatSeconds`);
      }
      tasks.set(name, { resource: state.Resource, timeoutSeconds: state.TimeoutSeconds, heartbeatSeconds: state.HeartbeatSeconds });
    }
    const machines = [...(state.Branches ?? []), state.ItemProcessor ?? state.Iterator].filter(Boolean);
    if (machines.length) nested.set(name, new Set(machines.flatMap((m) => allStates(m).map(([n]) => n))));
  }
  return { tasks, nested };
}

/**
 * The definition the library runs. Its Task states default to a 60 s timeout, so Task states get an explicit
 * TimeoutSeconds (capped to what a timer can hold); the library then raises States.Timeout itself. Every Retry
 * and Catch on States.Timeout also lists States.HeartbeatTimeout, as AWS matches it.
 */
function libraryDefinition(definition: Record<string, unknown>): StateMachineDefinition {
  const copy = structuredClone(definition);
  for (const [, state] of allStates(copy)) {
    if (state.Type === "Task") {
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

/** The library's own package.json and its asl-validator's: what decides whether a definition passes its check. */
const LIBRARY_VALIDATOR = (() => {
  const library = join(dirname(require.resolve("aws-local-stepfunctions")), "..");
  return [join(library, "package.json"), require.resolve("asl-validator/package.json", { paths: [library] })].map((file) => readFileSync(file, "utf8")).join("\n");
})();

/**
 * The library checks each definition it is given with asl-validator, which compiles its JSON schemas on every call
 * (about 0.3-0.4 s of CPU a call): a definition that passed once is not checked again (the build cache). Unlike
 * asl/loader.ts, which keeps refusals too, one that fails here is not remembered: it fails every time.
 */
function libraryMachine(definition: StateMachineDefinition): StateMachine {
  return passOnce(`sfn-definition-valid/${sha256(LIBRARY_VALIDATOR, JSON.stringify(definition))}`, (passedBefore) =>
    new StateMachine(definition, passedBefore ? { validationOptions: { noValidate: true } } : undefined),
  );
}

export class LocalStepFunctions {
  readonly stateMachineArn: string;
  /** Messages published by `sns:publish` tasks, in order. */
  readonly notifications: SnsNotification[] = [];
  /** Every event recorded so far, in order. */
  readonly events: SfnEvent[] = [];

  private readonly tasks: ActivityTasks;
  private readonly executions = new Map<string, Execution>();
  private readonly machine: StateMachine;
  private readonly taskStates: Map<string, TaskStateInfo>;
  private readonly nestedStates: Map<string, Set<string>>;
  private readonly stateTypes = new Map<string, string>();
  private readonly region: string;
  private readonly accountId: string;
  private readonly creationDate = new Date();
  private readonly serviceEventWaiters = new Set<{ match: (event: ServiceEvent) => boolean; resolve: (event: ServiceEvent) => void }>();
  private server!: AwsJsonServer;
  private closed = false;
  /** Counts state entries across executions (StateRecord.seq). */
  private entries = 0;

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
        CreateActivity: (input) => service.tasks.create(input),
        ListActivities: () => service.tasks.list(),
        GetActivityTask: (input, signal) => service.tasks.getTask(input, signal),
        SendTaskSuccess: (input) => service.tasks.sendSuccess(input),
        SendTaskFailure: (input) => service.tasks.sendFailure(input),
        SendTaskHeartbeat: (input) => service.tasks.sendHeartbeat(input),
        StartExecution: (input) => service.startExecution(input),
        DescribeExecution: (input) => service.describeExecution(input),
        StopExecution: (input) => service.stopExecution(input),
        RedriveExecution: (input) => service.redriveExecution(input),
        GetExecutionHistory: (input) => service.getExecutionHistory(input),
        ListExecutions: (input) => service.listExecutions(input),
        ListStateMachines: (input) => service.listStateMachines(input),
        DescribeStateMachine: (input) => service.describeStateMachine(input),
      },
      onInternalError: (operation, error) => process.emitWarning(`local Step Functions: ${operation} failed: ${(error as Error)?.stack ?? error}`),
    });
    return service;
  }

  private constructor(private readonly options: LocalStepFunctionsOptions) {
    const file = options.stateMachine.file;
    const region = options.region ?? LOCAL_REGION;
    const accountId = options.accountId ?? LOCAL_ACCOUNT;
    const name = options.stateMachineName ?? "local-workflow";
    if (!RESOURCE_NAME.test(name)) throw new Error(`stateMachineName '${name}': use 1-80 letters, digits, '-' or '_'`);
    if (!/^\d{12}$/.test(accountId)) throw new Error(`accountId '${accountId}': expected 12 digits`);
    const longPollMs = options.longPollMs ?? LONG_POLL_MS;
    if (!Number.isInteger(longPollMs) || longPollMs < 1 || longPollMs > LONG_POLL_MS) {
      throw new Error(`longPollMs ${options.longPollMs}: expected an integer from 1 to ${LONG_POLL_MS}`);
    }
    const timers = options.heartbeatTimers ?? NODE_TIMERS;
    if (typeof timers.setTimeout !== "function" || typeof timers.clearTimeout !== "function") {
      throw new Error("heartbeatTimers: expected an object with setTimeout(callback, ms) and clearTimeout(handle)");
    }
    this.stateMachineArn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    this.region = region;
    this.accountId = accountId;
    for (const [stateName, state] of allStates(options.stateMachine.definition)) this.stateTypes.set(stateName, state.Type);
    this.tasks = new ActivityTasks({ region, accountId, longPollMs, timers, emit: (e, event, at) => this.emit(e, event, at), isClosed: () => this.closed });
    try {
      ({ tasks: this.taskStates, nested: this.nestedStates } = describeStates(options.stateMachine.definition));
      this.machine = libraryMachine(libraryDefinition(options.stateMachine.definition));
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    for (const activity of options.activities ?? []) this.tasks.create({ name: activity });
  }

  /**
   * A service's state-change event (a Glue job run's end, an Athena query's or EMR Serverless job run's state), as
   * EventBridge would deliver it to the rule Step Functions keeps for `.sync` tasks: the waiting tasks check their run.
   */
  serviceEvent(event: ServiceEvent): void {
    for (const waiter of [...this.serviceEventWaiters]) if (waiter.match(event)) waiter.resolve(event);
  }

  private nextServiceEvent(match: (event: ServiceEvent) => boolean, signal: AbortSignal): Promise<ServiceEvent> {
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (event: ServiceEvent) => {
          done();
          resolve(event);
        },
      };
      const aborted = () => {
        done();
        reject(new TaskError("States.Aborted", "no longer awaited"));
      };
      const done = () => {
        this.serviceEventWaiters.delete(waiter);
        signal.removeEventListener("abort", aborted);
      };
      if (signal.aborted) return aborted();
      this.serviceEventWaiters.add(waiter);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  /** The ARN CreateActivity gives an activity of this name. */
  activityArn(name: string): string {
    return this.tasks.arn(name);
  }

  /** Resolves once the service holds a GetActivityTask long-poll (at once if it holds one now; not one on its way). */
  pollHeld(): Promise<void> {
    return this.tasks.pollHeld();
  }

  /** Resolves when the execution has ended and every event about it is recorded. */
  async waitForExecution(executionArn: string): Promise<ExecutionDescription> {
    const execution = this.execution(executionArn);
    await execution.done;
    return this.describe(execution);
  }

  /**
   * Ends the service's work but keeps answering: aborts running executions, refuses new ones, and answers pending and
   * new long-polls with `{}`. A worker still busy then gets AWS's answers for a finished execution (TaskTimedOut for
   * its task), not a refused connection; close() stops listening. Idempotent.
   */
  async endWork(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const execution of this.executions.values()) {
        if (execution.status === "RUNNING") this.stop(execution, "LocalServiceClosed", "the local Step Functions service was closed");
      }
    }
    await Promise.all([...this.executions.values()].map((e) => e.done));
    this.tasks.releasePolls();
  }

  /** endWork(), then closes the server and every socket. Idempotent. */
  async close(): Promise<void> {
    await this.endWork();
    await this.server.close();
  }

  private taskHandlers(execution: Execution) {
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    const context: IntegrationContext = {
      region: this.stateMachineArn.split(":")[3],
      putEvents: this.options.putEvents,
      notifications: this.notifications,
      endpoints: this.options.serviceEndpoints ?? {},
      lambdaFunction: this.options.lambdaFunction,
      nextServiceEvent: (match, signal) => this.nextServiceEvent(match, signal),
      syncRecheckMs: this.options.syncRecheckMs ?? 10_000,
    };
    for (const [state, info] of this.taskStates) {
      const resource = info.resource;
      const integration = parseResource(resource);
      if (ACTIVITY_ARN.test(resource)) handlers[state] = (input) => this.tasks.schedule(execution, state, info, input);
      else if (integration) handlers[state] = (input) => this.runIntegration(execution, state, info, integration, input, context);
      else {
        handlers[state] = async () => {
          throw new LocalRuntimeError(`state '${state}': the local Step Functions service cannot run Resource '${resource}' (it runs activities and ${SUPPORTED_RESOURCES.join(", ")})`);
        };
      }
    }
    return handlers;
  }

  /** One integration Task: recorded as TaskScheduled and TaskClosed, cancelled when the execution stops waiting. */
  private async runIntegration(execution: Execution, state: string, info: TaskStateInfo, integration: NonNullable<ReturnType<typeof parseResource>>, input: unknown, context: IntegrationContext) {
    if (execution.status !== "RUNNING") throw new TaskError("States.Aborted", `execution ${execution.executionArn} has ended`);
    const task = this.tasks.integrationTask(execution, state, info);
    this.emit(execution, { type: "TaskScheduled", state, resource: info.resource, parameters: input });
    try {
      const output = await LOCAL_INTEGRATIONS[integration.api](
        { state, pattern: integration.pattern, input, signal: task.signal, openCallback: task.openCallback, withToken: replaceToken },
        context,
      );
      if (!task.recorded()) this.emit(execution, { type: "TaskClosed", state, resource: info.resource, outcome: "SUCCEEDED", output });
      return output;
    } catch (e) {
      const error = e as Error;
      if (!task.recorded()) this.emit(execution, { type: "TaskClosed", state, resource: info.resource, outcome: "FAILED", error: error.name, cause: error.message });
      throw e;
    } finally {
      task.close();
    }
  }

  // ---- executions ----

  private execution(executionArn: unknown): Execution {
    if (typeof executionArn !== "string") throw new AwsJsonError("ValidationException", "'executionArn' is required and must be a string");
    const execution = this.executions.get(executionArn);
    if (!execution) throw new AwsJsonError("ExecutionDoesNotExist", `execution '${executionArn}' does not exist`);
    return execution;
  }

  private describe(e: Execution): ExecutionDescription {
    const { executionArn, name, status, input, output, error, cause, startDate, stopDate, redriveCount, redriveDate } = e;
    return { executionArn, name, status, input, output, error, cause, startDate, stopDate, redriveCount, redriveDate };
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
      inputValue: input,
      startDate: new Date(),
      redriveCount: 0,
      records: new Map(),
      abort: () => undefined,
      tasks: new Set(),
      openStates: new Map(),
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, execution);
    this.emit(execution, { type: "ExecutionStarted", input });
    this.statusChange(execution);
    this.run(execution, this.machine);
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  /** Runs `machine` (the workflow, or a redrive's derived definition) for the execution. */
  private run(execution: Execution, machine: StateMachine) {
    const run = machine.run(execution.inputValue as never, {
      overrides: { taskResourceLocalHandlers: this.taskHandlers(execution), retryIntervalOverrides: this.options.retryIntervalOverrides },
      context: {
        Execution: { Id: execution.executionArn, Name: execution.name, StartTime: execution.startDate.toISOString(), Input: execution.inputValue as never, RedriveCount: execution.redriveCount },
        // Each callback task puts its own token in place of this one (see runIntegration).
        Task: { Token: TOKEN_PLACEHOLDER },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineArn.split(":").pop() },
      },
    });
    execution.abort = run.abort;
    const settled = run.result.then(
      (output) => ({ output }),
      (error: unknown) => ({ error }),
    );
    execution.done = Promise.all([settled, this.follow(execution, run.eventLogs)]).then(([result]) => this.finish(execution, result));
  }

  /**
   * AWS's RedriveExecution: the same execution (ARN, input) goes on from where it failed; states that succeeded
   * are not run again, only the failed branches of a Parallel state are. See local/sfn/redrive.ts for how.
   */
  private redriveExecution(request: Record<string, unknown>) {
    if (this.closed) throw new AwsJsonError("ServiceUnavailable", "the local Step Functions service is closing", 503);
    const execution = this.execution(request.executionArn);
    optionalString(request, "clientToken", 64);
    if (execution.status === "RUNNING") throw new AwsJsonError("ExecutionNotRedrivable", `execution '${execution.executionArn}' is still running`);
    if (execution.status === "SUCCEEDED") throw new AwsJsonError("ExecutionNotRedrivable", `execution '${execution.executionArn}' succeeded; only FAILED, TIMED_OUT and ABORTED executions can be redriven`);
    if (execution.redriveCount >= MAX_REDRIVES) throw new AwsJsonError("ExecutionNotRedrivable", `execution '${execution.executionArn}' was redriven ${MAX_REDRIVES} times, the most AWS allows`);
    let machine: StateMachine;
    try {
      machine = libraryMachine(libraryDefinition(redriveDefinition(this.options.stateMachine.definition, execution.records)));
    } catch (e) {
      if (e instanceof NotRedrivableError) throw new AwsJsonError("ExecutionNotRedrivable", `execution '${execution.executionArn}': ${e.message}`);
      throw e;
    }
    const redriveDate = new Date();
    Object.assign(execution, { status: "RUNNING", output: undefined, error: undefined, cause: undefined, stopDate: undefined, redriveCount: execution.redriveCount + 1, redriveDate });
    this.emit(execution, { type: "ExecutionRedriven", redriveCount: execution.redriveCount });
    this.statusChange(execution);
    this.run(execution, machine);
    return { redriveDate: epochSeconds(redriveDate) };
  }

  private getExecutionHistory(request: Record<string, unknown>) {
    const execution = this.execution(request.executionArn);
    const maxResults = pageSize(request.maxResults);
    const reverse = request.reverseOrder === true;
    const includeData = request.includeExecutionData !== false;
    let events = historyEvents(
      this.events.filter((e) => e.executionArn === execution.executionArn),
      this.stateTypes,
      `arn:aws:iam::${this.accountId}:role/local-workflow`,
      this.region,
    );
    if (!includeData) events = events.map(withoutData);
    if (reverse) events.reverse();
    const start = pageStart(request.nextToken, events.length);
    const page = events.slice(start, start + maxResults);
    const next = start + maxResults < events.length ? pageToken(start + maxResults) : undefined;
    return { events: page, ...(next && { nextToken: next }) };
  }

  private listExecutions(request: Record<string, unknown>) {
    const stateMachineArn = requiredString(request, "stateMachineArn");
    if (stateMachineArn !== this.stateMachineArn) throw new AwsJsonError("StateMachineDoesNotExist", `state machine '${stateMachineArn}' does not exist`);
    const statusFilter = optionalString(request, "statusFilter", 20);
    if (statusFilter !== undefined && !["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].includes(statusFilter)) {
      throw new AwsJsonError("ValidationException", `'statusFilter' ${statusFilter}: expected RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE`);
    }
    const redriveFilter = optionalString(request, "redriveFilter", 20);
    const all = [...this.executions.values()]
      .filter((e) => statusFilter === undefined || e.status === statusFilter)
      .filter((e) => redriveFilter === undefined || (redriveFilter === "REDRIVEN" ? e.redriveCount > 0 : e.redriveCount === 0))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const maxResults = pageSize(request.maxResults);
    const start = pageStart(request.nextToken, all.length);
    const page = all.slice(start, start + maxResults).map((e) => ({
      executionArn: e.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      ...(e.stopDate && { stopDate: epochSeconds(e.stopDate) }),
      redriveCount: e.redriveCount,
      ...(e.redriveDate && { redriveDate: epochSeconds(e.redriveDate) }),
    }));
    const next = start + maxResults < all.length ? pageToken(start + maxResults) : undefined;
    return { executions: page, ...(next && { nextToken: next }) };
  }

  private listStateMachines(request: Record<string, unknown>) {
    pageSize(request.maxResults);
    const name = this.stateMachineArn.split(":").pop();
    return { stateMachines: [{ stateMachineArn: this.stateMachineArn, name, type: "STANDARD", creationDate: epochSeconds(this.creationDate) }] };
  }

  private describeStateMachine(request: Record<string, unknown>) {
    const arn = requiredString(request, "stateMachineArn");
    if (arn !== this.stateMachineArn) throw new AwsJsonError("StateMachineDoesNotExist", `state machine '${arn}' does not exist`);
    return {
      stateMachineArn: this.stateMachineArn,
      name: this.stateMachineArn.split(":").pop(),
      status: "ACTIVE",
      definition: this.options.stateMachine.json,
      roleArn: `arn:aws:iam::${this.accountId}:role/local-workflow`,
      type: "STANDARD",
      creationDate: epochSeconds(this.creationDate),
    };
  }

  private describeExecution(request: Record<string, unknown>) {
    const e = this.execution(request.executionArn);
    const redrivable = e.status === "FAILED" || e.status === "TIMED_OUT" || e.status === "ABORTED";
    return {
      executionArn: e.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      stopDate: e.stopDate && epochSeconds(e.stopDate),
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      ...(e.output !== undefined && { outputDetails: { included: true } }),
      error: e.error,
      cause: e.cause,
      redriveCount: e.redriveCount,
      redriveDate: e.redriveDate && epochSeconds(e.redriveDate),
      redriveStatus: redrivable && e.redriveCount < MAX_REDRIVES ? "REDRIVABLE" : "NOT_REDRIVABLE",
      ...(!redrivable && { redriveStatusReason: e.status === "RUNNING" ? "Execution is RUNNING and cannot be redriven" : "Execution is SUCCEEDED and cannot be redriven" }),
    };
  }

  private stopExecution(request: Record<string, unknown>) {
    const execution = this.execution(request.executionArn);
    const error = optionalString(request, "error", ERROR_MAX_CHARS);
    const cause = optionalString(request, "cause", CAUSE_MAX_CHARS);
    // An execution that has ended is left as it is (AWS answers with its stop date too).
    if (execution.status === "RUNNING") this.stop(execution, error, cause);
    return { stopDate: epochSeconds(execution.stopDate ?? new Date()) };
  }

  private stop(execution: Execution, error?: string, cause?: string) {
    Object.assign(execution, { status: "ABORTED", error, cause, stopDate: new Date() });
    execution.abort();
    // The library does not tell local handlers about an abort: release their tasks so the run can unwind.
    this.tasks.abandon(execution);
  }

  /** Turns the library's event log into SfnEvents (state names and times hold inside Parallel branches too). */
  private async follow(execution: Execution, logs: AsyncGenerator<any>) {
    for await (const event of logs) {
      if (!event.state || isRedriveState(event.state.name)) continue;
      const name: string = event.state.name;
      const key = event.index === undefined ? name : `${name}[${event.index}]`;
      const at = iso(event.timestamp);
      const open = execution.openStates.get(key);
      switch (event.type) {
        case "StateEntered":
          if (open) this.exitState(execution, key, at); // a retried Parallel or Map runs its states again
          execution.openStates.set(key, { name });
          execution.records.set(name, { seq: ++this.entries, status: "OPEN", input: event.state.input });
          this.emit(execution, { type: "StateEntered", name, stateType: event.state.type, input: event.state.input }, at);
          break;
        case "StateFailed":
          if (!open) break;
          open.failure = { error: String(event.Error), cause: typeof event.Cause === "string" ? event.Cause : JSON.stringify(event.Cause), at };
          setRecordStatus(execution, name, "FAILED");
          // TimeoutSeconds is the library's (States.Timeout); its task is closed here, before any request is read.
          if (open.failure.error === "States.Timeout") this.tasks.abandon(execution, new Set([name]), "TIMED_OUT", open.failure.error, open.failure.cause);
          if (this.nestedStates.has(name)) {
            // A failed Parallel or Map has cancelled its branches: their open tasks and states end here.
            const inside = this.nestedStates.get(name)!;
            this.tasks.abandon(execution, inside);
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
          setRecordStatus(execution, name, "CAUGHT");
          break;
        case "StateExited":
          if (!open) break;
          if (!open.caught) setRecordStatus(execution, name, "SUCCEEDED", event.state.output);
          this.exitState(execution, key, at, open.caught ? "CAUGHT" : "SUCCEEDED", event.state.output);
          break;
      }
    }
  }

  private exitState(execution: Execution, key: string, at: string, status?: StateExitStatus, output?: unknown) {
    const open = execution.openStates.get(key)!;
    execution.openStates.delete(key);
    const failure = status === "SUCCEEDED" ? undefined : open.failure;
    this.emit(
      execution,
      { type: "StateExited", name: open.name, status: status ?? (failure ? "FAILED" : "ABORTED"), error: failure?.error, cause: failure?.cause, ...(status && { output }) },
      status ? at : (failure?.at ?? at),
    );
  }

  /** The "Step Functions Execution Status Change" event of the execution's current status. */
  private statusChange(e: Execution) {
    if (!this.options.onStatusChange) return;
    const detail = {
      executionArn: e.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate.getTime(),
      stopDate: e.stopDate?.getTime() ?? null,
      input: e.input,
      inputDetails: { included: true },
      output: e.output ?? null,
      outputDetails: e.output === undefined ? null : { included: true },
      error: e.error ?? null,
      cause: e.cause ?? null,
      redriveCount: e.redriveCount,
      redriveDate: e.redriveDate?.getTime() ?? null,
      redriveStatus: e.status === "SUCCEEDED" || e.status === "RUNNING" ? "NOT_REDRIVABLE" : "REDRIVABLE",
    };
    const event: ExecutionStatusChangeEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      account: this.accountId,
      time: iso().replace(/\.\d{3}Z$/, "Z"),
      region: this.region,
      resources: [e.executionArn],
      detail,
    };
    try {
      this.options.onStatusChange(event);
    } catch (err) {
      process.emitWarning(`local Step Functions: onStatusChange listener failed: ${(err as Error)?.stack ?? err}`);
    }
  }

  private finish(execution: Execution, result: { output?: unknown; error?: unknown }) {
    this.tasks.abandon(execution);
    const now = iso();
    for (const key of [...execution.openStates.keys()]) this.exitState(execution, key, now);
    if (execution.status === "ABORTED") {
      this.emit(execution, { type: "ExecutionAborted", error: execution.error, cause: execution.cause });
      this.statusChange(execution);
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
    this.statusChange(execution);
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

function setRecordStatus(execution: Execution, name: string, status: "FAILED" | "SUCCEEDED" | "CAUGHT", output?: unknown) {
  const record = execution.records.get(name);
  if (!record) return;
  record.status = status;
  if (status === "SUCCEEDED") record.output = output;
}

/** maxResults as AWS takes it: 1-1000, 0 or absent meaning the default of 100. */
function pageSize(value: unknown): number {
  if (value === undefined || value === null || value === 0) return 100;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1000) throw new AwsJsonError("ValidationException", `'maxResults' ${JSON.stringify(value)}: expected an integer from 0 to 1000`);
  return value;
}

const pageToken = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString("base64");

function pageStart(token: unknown, length: number): number {
  if (token === undefined || token === null) return 0;
  try {
    const offset = JSON.parse(Buffer.from(String(token), "base64").toString("utf8")).offset;
    if (Number.isInteger(offset) && offset >= 0 && offset <= length) return offset;
  } catch {
    // answered below
  }
  throw new AwsJsonError("InvalidToken", "'nextToken' is not a token this service gave");
}

/** includeExecutionData false: the history without inputs and outputs. */
function withoutData<T extends object>(event: T): T {
  const copy = structuredClone(event);
  for (const value of Object.values(copy) as unknown[]) {
    if (value && typeof value === "object") for (const k of ["input", "output", "inputDetails", "outputDetails"]) delete (value as Record<string, unknown>)[k];
  }
  return copy;
}
