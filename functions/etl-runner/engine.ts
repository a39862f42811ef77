// The one interface between the runner protocol (claim, adoption, checks, heartbeats, answers) and an ETL technology.
// The protocol lives in start.ts and check.ts, written once; each technology is an adapter in engines/.
import type { EngineName } from "../../core/job-spec";
import type { QualityCounts } from "../../core/quality";
import type { RunnerTaskInput } from "./task-input";

export type { EngineName };

/** What the protocol needs to know of a run's state. */
export type RunStatus = "running" | "succeeded" | "failed";

/** One run as the runner sees it, whatever the engine. */
export interface EngineRun {
  runId: string;
  /** The engine's own state name (SUCCEEDED, SUCCESS, QUEUED, ...), reported in task outputs and failure causes. */
  state: string;
  status: RunStatus;
  /** In progress and still costing: the run of a task that is gone is stopped (not when it is already stopping). */
  stoppable: boolean;
  /** The engine's reason for a failed run. */
  errorMessage?: string;
  startedOn?: Date;
  completedOn?: Date;
  /** Seconds. */
  executionTime?: number;
  /** Engine-specific fields of the success output (Glue: jobRunId; Athena: the cost of the query). */
  outputFields?: Record<string, string | number>;
  /** The job's counts, where the engine reports them (Athena: its counts statement). */
  counts?: QualityCounts;
}

/** A run, "missing" when the engine does not know it. */
export type RunLookup = EngineRun | "missing";

export interface StartRequest {
  jobName: string;
  /** The idempotency key: the SHA-256 (hex) of the task token. */
  taskId: string;
  input: RunnerTaskInput;
  /**
   * Epoch ms by which start must have answered: the Lambda invocation's end less START_OUTCOME_MARGIN_MS (start.ts),
   * undefined without a Lambda context. An adapter's own limits apply too; the earlier one wins.
   */
  deadline?: number;
}

/** What a check cycle asks about one job: its recorded runs, and the tasks whose start answer was lost. */
export interface RunQuery {
  jobName: string;
  runIds: ReadonlySet<string>;
  taskIds: ReadonlySet<string>;
  /** Of runIds, the runs whose task a runner before RUNNER_VERSION 2 claimed (runs-table.ts): read as it left them. */
  earlierRunnerRunIds?: ReadonlySet<string>;
}

export interface RunListing {
  /** Runs found, by run id. A run id left out is asked again with describeRun. */
  runs: Map<string, EngineRun>;
  /** Runs of tasks whose start answer was lost, by task id. */
  runsByTask: Map<string, EngineRun>;
  /** Jobs whose runs could not be searched: their stale claims wait for the next cycle (a run may exist). */
  unsearchedJobs: Set<string>;
}

export type StartErrorClass = "retryable" | "permanent";

/**
 * The run's input is refused before anything starts (Athena: a file's header, checked by the runner): the task fails
 * as a failed job does (JobFailedError, the message naming the file), since another engine's job fails on that input.
 */
export class JobInputError extends Error {
  override name = "JobInputError";
}

/**
 * The run's input could not be checked before anything started (Athena: a file's header could not be read, or the
 * check ran out of time): the message names the file or the count checked. Retryable when trying again can help.
 */
export class JobInputReadError extends Error {
  override name = "JobInputReadError";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * A start not begun: too little of the invocation is left to check the run's input (Athena) before its deadline.
 * Nothing is started or answered: the claim stays STARTING and the check cycle starts it again once it is stale.
 */
export class StartDeferredError extends Error {
  override name = "StartDeferredError";
}

/** A STARTING claim older than this is taken over: its invocation died or lost its start's answer. A start must end well within it. */
export const STALE_CLAIM_MS = 120_000;

export interface EngineAdapter {
  readonly engine: EngineName;
  /** For messages: "Glue", "Athena", "EMR Serverless". */
  readonly label: string;
  /** The engine call that starts a run, for messages: "StartJobRun", "StartQueryExecution". */
  readonly startCall: string;
  /**
   * Starts the run of a task; the engine carries the task id so the run can be found again (and, where the engine
   * has idempotency tokens, a repeated start returns the same run). Sent once, never retried by the SDK. Returns the
   * run id; throws the SDK's error (classified with classifyStartError), a JobSpecError, a JobInputError or a JobInputReadError.
   */
  start(request: StartRequest): Promise<string | undefined>;
  /** Describes many runs in few calls (batch and list APIs), and finds the runs of the given tasks. */
  describeRuns(queries: readonly RunQuery[], concurrency: number): Promise<RunListing>;
  /**
   * One run (a state-change event, or the fallback for a run describeRuns left out); throws when it cannot ask.
   * `byEarlierRunner`: its task was claimed by a runner before RUNNER_VERSION 2 (as RunQuery.earlierRunnerRunIds).
   */
  describeRun(jobName: string, runId: string, byEarlierRunner?: boolean): Promise<RunLookup>;
  /** Stops a run nobody waits for; throws when the engine refuses. */
  stop(jobName: string, runId: string): Promise<void>;
  /**
   * The task a run belongs to when the run is a helper of the task's run rather than the run itself (Athena: the counts
   * statement), so that the helper's state-change event wakes the task; undefined for any other run.
   */
  taskOfHelperRun?(runId: string): Promise<string | undefined>;
  /** A start error the ASL should retry (throttling, quotas, 5xx) or not (bad request, access, not found). */
  classifyStartError(error: Error): StartErrorClass;
}

/** What every engine counts as retryable: 5xx, 429, and errors the SDK marks `$retryable`; plus the engine's own names. */
export function classifyServiceError(error: Error & { $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } }, retryableNames: ReadonlySet<string>): StartErrorClass {
  const retryable = retryableNames.has(error.name) || error.$fault === "server" || error.$retryable != null || error.$metadata?.httpStatusCode === 429;
  return retryable ? "retryable" : "permanent";
}

/** An empty listing, for adapters to fill. */
export function emptyListing(): RunListing {
  return { runs: new Map(), runsByTask: new Map(), unsearchedJobs: new Set() };
}
