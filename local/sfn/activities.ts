// The local Step Functions service's activities: CreateActivity, GetActivityTask with its long-poll, and task tokens
// with AWS's semantics (each handed out once; SendTask* on a closed task answers TaskTimedOut), HeartbeatSeconds
// enforced from the moment a task is scheduled.
import { randomBytes } from "node:crypto";
import { localActivityArn } from "../arns";
import { AwsJsonError } from "../aws-json-server";
import {
  CAUSE_MAX_CHARS,
  ERROR_MAX_CHARS,
  epochSeconds,
  LocalRuntimeError,
  MAX_TIMER_SECONDS,
  optionalString,
  OUTPUT_MAX_CHARS,
  requiredString,
  RESOURCE_NAME,
  TaskError,
  type Activity,
  type ActivityTask,
  type ActivityTaskOutcome,
  type Emit,
  type Execution,
  type TaskStateInfo,
  type HeartbeatTimers,
} from "./model";

const TOKEN = /^[A-Za-z0-9_-]{64}$/;

export interface ActivityTasksOptions {
  region: string;
  accountId: string;
  /** How long GetActivityTask holds a request when no task is waiting. */
  longPollMs: number;
  emit: Emit;
  /** A closing service answers new polls at once. */
  isClosed: () => boolean;
  /** What HeartbeatSeconds is timed with. */
  timers: HeartbeatTimers;
}

export class ActivityTasks {
  private readonly activities = new Map<string, Activity>();
  private readonly tokens = new Map<string, ActivityTask>();
  private readonly pollHeldWaiters: Array<() => void> = [];

  constructor(private readonly options: ActivityTasksOptions) {}

  /** The ARN CreateActivity gives an activity of this name. */
  arn(name: string): string {
    return localActivityArn(name, this.options.region, this.options.accountId);
  }

  /** Resolves once a GetActivityTask request is held waiting for a task (at once if one is held now). */
  pollHeld(): Promise<void> {
    if ([...this.activities.values()].some((activity) => activity.polls.length > 0)) return Promise.resolve();
    return new Promise((resolve) => this.pollHeldWaiters.push(resolve));
  }

  /** Answers every waiting GetActivityTask with no task (the service is closing). */
  releasePolls(): void {
    for (const activity of this.activities.values()) for (const poll of activity.polls.splice(0)) poll(undefined);
  }

  create(input: Record<string, unknown>) {
    const name = requiredString(input, "name");
    if (!RESOURCE_NAME.test(name)) throw new AwsJsonError("InvalidName", `activity name '${name}': use 1-80 letters, digits, '-' or '_'`);
    const arn = this.arn(name);
    let activity = this.activities.get(arn);
    if (!activity) {
      activity = { arn, name, creationDate: new Date(), queue: [], polls: [] };
      this.activities.set(arn, activity);
    }
    return { activityArn: arn, creationDate: epochSeconds(activity.creationDate) };
  }

  list() {
    return {
      activities: [...this.activities.values()].map((a) => ({ activityArn: a.arn, name: a.name, creationDate: epochSeconds(a.creationDate) })),
    };
  }

  async getTask(input: Record<string, unknown>, signal: AbortSignal) {
    const arn = requiredString(input, "activityArn");
    const activity = this.activities.get(arn);
    if (!activity) throw new AwsJsonError("ActivityDoesNotExist", `activity '${arn}' does not exist`);
    let task = activity.queue.shift();
    if (task) this.handOut(task);
    else if (!this.options.isClosed() && !signal.aborted) {
      task = await new Promise<ActivityTask | undefined>((resolve) => {
        const finish = (handed: ActivityTask | undefined) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", gone);
          const index = activity.polls.indexOf(finish);
          if (index >= 0) activity.polls.splice(index, 1);
          resolve(handed);
        };
        const gone = () => finish(undefined);
        const timer = setTimeout(gone, this.options.longPollMs);
        signal.addEventListener("abort", gone, { once: true });
        activity.polls.push(finish);
        for (const wake of this.pollHeldWaiters.splice(0)) wake();
      });
    }
    // A task closed meanwhile is still handed over: its token then answers TaskTimedOut, as in AWS.
    if (!task) return {};
    return { taskToken: task.token, input: task.input };
  }

  /** Marks the task started; called exactly once per task, synchronously with taking it off the queue. */
  private handOut(task: ActivityTask) {
    task.status = "STARTED";
    this.options.emit(task.execution, { type: "ActivityTaskStarted", state: task.state, activityArn: task.activity!.arn });
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

  sendSuccess(input: Record<string, unknown>) {
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
    this.closeTask(task, "SUCCEEDED", undefined, undefined, output);
    task.resolve(value);
    return {};
  }

  sendFailure(input: Record<string, unknown>) {
    const error = optionalString(input, "error", ERROR_MAX_CHARS) ?? "";
    const cause = optionalString(input, "cause", CAUSE_MAX_CHARS) ?? "";
    const task = this.openTask(input);
    this.closeTask(task, "FAILED", error, cause);
    task.reject(new TaskError(error, cause));
    return {};
  }

  sendHeartbeat(input: Record<string, unknown>) {
    this.armHeartbeat(this.openTask(input));
    return {};
  }

  private armHeartbeat(task: ActivityTask) {
    if (task.heartbeatMs === undefined) return;
    this.options.timers.clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = this.options.timers.setTimeout(() => {
      const cause = `no heartbeat or result for state '${task.state}' within HeartbeatSeconds`;
      this.closeTask(task, "HEARTBEAT_TIMED_OUT", "States.HeartbeatTimeout", cause);
      task.reject(new TaskError("States.HeartbeatTimeout", cause));
    }, task.heartbeatMs);
  }

  /** Marks the task closed (its token then answers TaskTimedOut) and stops its timers. */
  private closeTask(task: ActivityTask, outcome: ActivityTaskOutcome, error?: string, cause?: string, output?: string): boolean {
    if (task.status === "CLOSED") return false;
    task.status = "CLOSED";
    task.outcome = outcome;
    this.options.timers.clearTimeout(task.heartbeatTimer);
    task.execution.tasks.delete(task);
    if (!task.activity) {
      // An integration task: its handler records its result; a timeout or an abort is recorded now, not once the
      // handler's clean-up (stopping the engine's run) is done, which may be after the execution ended.
      if (endedByExecution(outcome)) this.options.emit(task.execution, { type: "TaskClosed", state: task.state, resource: task.resource!, outcome, error, cause });
      return true;
    }
    const queued = task.activity.queue.indexOf(task);
    if (queued >= 0) task.activity.queue.splice(queued, 1);
    this.options.emit(task.execution, { type: "ActivityTaskClosed", state: task.state, activityArn: task.activity.arn, outcome, error, cause, output });
    return true;
  }

  /** Closes open tasks (all, or those of the given states) that their execution no longer waits for. */
  abandon(execution: Execution, states?: ReadonlySet<string>, outcome: ActivityTaskOutcome = "ABORTED", error?: string, cause?: string) {
    for (const task of [...execution.tasks]) {
      if (states && !states.has(task.state)) continue;
      this.closeTask(task, outcome, error, cause);
      task.reject(new TaskError("States.Aborted", `the task of state '${task.state}' was cancelled`));
      task.abort?.();
    }
  }

  /**
   * A service-integration task of an execution: `signal` aborts when the execution stops waiting for it (stopped,
   * timed out, its branch failed); `openCallback` gives it a token that SendTaskSuccess/Failure/Heartbeat answer,
   * with HeartbeatSeconds running from then, as for activity tasks. Call `close` when the handler is done.
   */
  integrationTask(execution: Execution, state: string, info: TaskStateInfo) {
    const controller = new AbortController();
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const answer = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
    answer.catch(() => undefined); // awaited only by callbacks
    const task: ActivityTask = { token: "", state, execution, input: "", status: "STARTED", resolve, reject, abort: () => controller.abort(), resource: info.resource };
    if (execution.status !== "RUNNING") controller.abort();
    else execution.tasks.add(task);
    return {
      signal: controller.signal,
      openCallback: () => {
        if (task.token) throw new LocalRuntimeError(`state '${state}': its task token was already opened`);
        task.token = randomBytes(48).toString("base64url");
        task.heartbeatMs = info.heartbeatSeconds === undefined ? undefined : Math.min(info.heartbeatSeconds, MAX_TIMER_SECONDS) * 1000;
        this.tokens.set(task.token, task);
        this.armHeartbeat(task);
        return { token: task.token, answer };
      },
      close: () => this.closeTask(task, "SUCCEEDED"),
      /** Whether its end is recorded already: the execution stopped waiting for it (timed out, aborted, no heartbeat). */
      recorded: () => task.outcome !== undefined && endedByExecution(task.outcome),
    };
  }

  schedule(execution: Execution, state: string, info: TaskStateInfo, input: unknown): Promise<unknown> {
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
      this.options.emit(execution, { type: "ActivityTaskScheduled", state, activityArn: activity.arn, input });
      // As in AWS, the heartbeat clock starts when the task is scheduled.
      this.armHeartbeat(task);
      const poll = activity.polls.shift();
      if (poll) {
        this.handOut(task);
        poll(task);
      } else activity.queue.push(task);
    });
  }
}

/** Whether a task's outcome is the execution's doing (timed out, aborted, no heartbeat), not its handler's answer. */
function endedByExecution(outcome: ActivityTaskOutcome): boolean {
  return outcome !== "SUCCEEDED" && outcome !== "FAILED";
}
