// The local Step Functions service's model, shared by its parts (activities, integrations, executions): the
// recorded events, the execution and task records, the errors Step Functions raises, and request validation.
import { SFN_LIMITS } from "../../core/sfn-limits";
import { AwsJsonError } from "../aws-json-server";
import type { StateRecord } from "./redrive";

export const OUTPUT_MAX_CHARS = SFN_LIMITS.output;
export const ERROR_MAX_CHARS = SFN_LIMITS.error;
export const CAUSE_MAX_CHARS = SFN_LIMITS.cause;
// setTimeout fires at once beyond 2^31-1 ms, so longer task timeouts are capped (about 24.8 days).
export const MAX_TIMER_SECONDS = 2_147_483;
export const ACTIVITY_ARN = /^arn:aws:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_-]{1,80}$/;
export const RESOURCE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
export type StateExitStatus = "SUCCEEDED" | "CAUGHT" | "FAILED" | "ABORTED";
export type ActivityTaskOutcome = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "HEARTBEAT_TIMED_OUT" | "ABORTED";

/**
 * What happens in executions, in the order recorded. `at` (ISO-8601, milliseconds) is when it happened: events from
 * inside Parallel branches can be recorded a moment after their `at`, so sort by `at` for a timeline.
 */
export type SfnEvent = { at: string; executionArn: string } & (
  | { type: "ExecutionStarted"; input: unknown }
  | { type: "ExecutionRedriven"; redriveCount: number }
  | { type: "StateEntered"; name: string; stateType?: string; input?: unknown }
  | { type: "StateRetried"; name: string; attempt: number; error?: string; cause?: string }
  | { type: "StateExited"; name: string; status: StateExitStatus; error?: string; cause?: string; stateType?: string; output?: unknown }
  | { type: "ActivityTaskScheduled"; state: string; activityArn: string; input: unknown }
  | { type: "ActivityTaskStarted"; state: string; activityArn: string }
  | { type: "ActivityTaskClosed"; state: string; activityArn: string; outcome: ActivityTaskOutcome; error?: string; cause?: string; output?: string }
  | { type: "TaskScheduled"; state: string; resource: string; parameters: unknown }
  | { type: "TaskClosed"; state: string; resource: string; outcome: ActivityTaskOutcome; error?: string; cause?: string; output?: unknown }
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
  /** How many times it was redriven (RedriveExecution), and when last. */
  redriveCount: number;
  redriveDate?: Date;
}

/** A failure as Step Functions sees it: Retry and Catch match `name`; Catch's `Cause` is `message`. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Like States.Runtime: fails the execution; no Retry or Catch may hide it. */
export class LocalRuntimeError extends TaskError {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(message: string) {
    super("States.Runtime", message);
  }
}

export interface Activity {
  arn: string;
  name: string;
  creationDate: Date;
  /** Scheduled tasks nobody has polled yet, oldest first. */
  queue: ActivityTask[];
  /** Waiting GetActivityTask requests, oldest first. */
  polls: Array<(task: ActivityTask | undefined) => void>;
}

/** An activity task, or a service-integration task (no activity; a token only for `.waitForTaskToken`). */
export interface ActivityTask {
  token: string;
  activity?: Activity;
  state: string;
  execution: Execution;
  input: string;
  status: "SCHEDULED" | "STARTED" | "CLOSED";
  heartbeatMs?: number;
  heartbeatTimer?: unknown;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  /** An integration task's: tells its handler the execution no longer waits. */
  abort?: () => void;
  /** An integration task's Resource (its TaskClosed names it). */
  resource?: string;
  /** How it was closed, once closed. */
  outcome?: ActivityTaskOutcome;
}

export interface OpenState {
  name: string;
  failure?: { error: string; cause: string; at: string };
  caught?: boolean;
}

export interface Execution extends ExecutionDescription {
  /** The input as parsed (the redrives' context object carries it). */
  inputValue: unknown;
  /** What each state did in its latest attempt (local/sfn/redrive.ts), by state name. */
  records: Map<string, StateRecord>;
  abort: () => void;
  tasks: Set<ActivityTask>;
  /** States entered and not yet exited, keyed by name (and Map index). */
  openStates: Map<string, OpenState>;
  done: Promise<void>;
}

/**
 * The timers HeartbeatSeconds runs on: Node's by default. A caller that must show a heartbeat timeout's timing
 * without waiting it out in real time (a test) passes timers it advances itself.
 */
export interface HeartbeatTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const NODE_TIMERS: HeartbeatTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TaskStateInfo {
  resource: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

export const iso = (time: number | Date = Date.now()) => new Date(time).toISOString();
export const epochSeconds = (date: Date) => date.getTime() / 1000;

export function optionalString(input: Record<string, unknown>, field: string, max: number): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new AwsJsonError("ValidationException", `'${field}' must be a string`);
  if (value.length > max) throw new AwsJsonError("ValidationException", `'${field}' is ${value.length} characters; at most ${max} are allowed`);
  return value;
}

export function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "") throw new AwsJsonError("ValidationException", `'${field}' is required and must be a non-empty string`);
  return value;
}

/** Records an event about an execution (see SfnEvent). */
export type Emit = (execution: Execution, event: Record<string, unknown> & { type: SfnEvent["type"] }, at?: string) => void;
