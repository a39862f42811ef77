// The Glue adapter: StartJobRun with --etl_task_id, GetJobRuns per job (GetJobRun as the fallback), BatchStopJobRun.
import { BatchStopJobRunCommand, GetJobRunCommand, GetJobRunsCommand, StartJobRunCommand, type GlueClient, type JobRun, type WorkerType } from "@aws-sdk/client-glue";
import { describeError } from "../../shared/aws-errors";
import { mapConcurrent } from "../../shared/concurrency";
import type { Logger } from "../../shared/logger";
import { classifyServiceError, emptyListing, type EngineAdapter, type EngineRun, type RunListing, type RunLookup, type RunQuery, type StartRequest } from "../engine";

/** The Glue argument that ties a run to its task, so an unrecorded start can be found again. */
export const TASK_ID_ARGUMENT = "--etl_task_id";

/**
 * StartJobRun errors worth a retry by the ASL (besides 5xx, 429 and `$retryable`). ResourceNumberLimitExceeded is a
 * quota (e.g. concurrent runs per account) that clears as runs end.
 */
const RETRYABLE_START_ERRORS = new Set([
  "ConcurrentRunsExceededException",
  "ThrottlingException",
  "InternalServiceException",
  "OperationTimeoutException",
  "ResourceNumberLimitExceededException",
]);

const FAILED_STATES = new Set(["FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"]);
/** States in which a run still costs money and can be stopped (STOPPING is already on its way). */
const STOPPABLE_STATES = new Set(["STARTING", "RUNNING", "WAITING"]);
/**
 * GetJobRuns pages read per job per cycle beyond those the runs sought could fill, before falling back to
 * GetJobRun: calls grow with pages of 200 runs, not with runs, however many runs a job has in flight.
 */
const EXTRA_JOB_RUNS_PAGES = 5;
const JOB_RUNS_PAGE = 200;

export interface GlueClients {
  glue: GlueClient;
  /** Sends StartJobRun without SDK retries (see clients.ts); `glue` when not set. */
  glueStart?: GlueClient;
}

/** Glue's ten run states onto the runner's three. */
export function glueRun(run: JobRun): EngineRun {
  const state = run.JobRunState ?? "UNKNOWN";
  const id = run.Id ?? "";
  return {
    runId: id,
    state,
    // STARTING, RUNNING, STOPPING, WAITING (and any state Glue adds later): still in progress.
    status: state === "SUCCEEDED" ? "succeeded" : FAILED_STATES.has(state) ? "failed" : "running",
    stoppable: STOPPABLE_STATES.has(state),
    errorMessage: run.ErrorMessage,
    startedOn: run.StartedOn,
    completedOn: run.CompletedOn,
    executionTime: run.ExecutionTime,
    outputFields: { jobRunId: id },
  };
}

export class GlueEngine implements EngineAdapter {
  readonly engine = "glue" as const;
  readonly label = "Glue";
  readonly startCall = "StartJobRun";

  constructor(
    private readonly clients: GlueClients,
    private readonly logger: Logger,
  ) {}

  async start({ jobName, taskId, input }: StartRequest): Promise<string | undefined> {
    const command = new StartJobRunCommand({
      JobName: jobName,
      Arguments: { ...input.Arguments, [TASK_ID_ARGUMENT]: taskId },
      WorkerType: input.WorkerType as WorkerType | undefined,
      NumberOfWorkers: input.NumberOfWorkers,
    });
    // Not idempotent: sent by the single-attempt client (see clients.ts).
    const answer = await (this.clients.glueStart ?? this.clients.glue).send(command);
    return answer.JobRunId;
  }

  /** GetJobRuns per job (newest first) until every wanted run and task is found, bounded. */
  async describeRuns(queries: readonly RunQuery[], concurrency: number): Promise<RunListing> {
    const listing = emptyListing();
    await mapConcurrent(queries, concurrency, async ({ jobName, runIds, taskIds }) => {
      try {
        for (const run of await this.listJobRuns(jobName, runIds, taskIds)) {
          if (run.Id && runIds.has(run.Id)) listing.runs.set(run.Id, glueRun(run));
          const taskId = run.Arguments?.[TASK_ID_ARGUMENT];
          if (taskId && taskIds.has(taskId)) listing.runsByTask.set(taskId, glueRun(run));
        }
      } catch (error) {
        listing.unsearchedJobs.add(jobName);
        this.logger.warn("GetJobRuns failed; asking run by run, stale claims wait for the next cycle", { jobName, error: describeError(error) });
      }
    });
    return listing;
  }

  private async listJobRuns(jobName: string, runIds: ReadonlySet<string>, taskIds: ReadonlySet<string>): Promise<JobRun[]> {
    const found: JobRun[] = [];
    const missingRuns = new Set(runIds);
    const missingTasks = new Set(taskIds);
    let nextToken: string | undefined;
    const maxPages = Math.ceil((runIds.size + taskIds.size) / JOB_RUNS_PAGE) + EXTRA_JOB_RUNS_PAGES;
    for (let page = 0; page < maxPages; page++) {
      const answer = await this.clients.glue.send(new GetJobRunsCommand({ JobName: jobName, NextToken: nextToken, MaxResults: JOB_RUNS_PAGE }));
      for (const run of answer.JobRuns ?? []) {
        const taskId = run.Arguments?.[TASK_ID_ARGUMENT];
        if ((run.Id && missingRuns.delete(run.Id)) || (taskId && missingTasks.delete(taskId))) found.push(run);
      }
      nextToken = answer.NextToken;
      if (!nextToken || missingRuns.size + missingTasks.size === 0) break;
    }
    return found;
  }

  async describeRun(jobName: string, runId: string): Promise<RunLookup> {
    try {
      const answer = await this.clients.glue.send(new GetJobRunCommand({ JobName: jobName, RunId: runId }));
      return answer.JobRun ? glueRun(answer.JobRun) : "missing";
    } catch (error) {
      if (error instanceof Error && error.name === "EntityNotFoundException") return "missing";
      throw error;
    }
  }

  async stop(jobName: string, runId: string): Promise<void> {
    const answer = await this.clients.glue.send(new BatchStopJobRunCommand({ JobName: jobName, JobRunIds: [runId] }));
    const refused = (answer.Errors ?? []).map((e) => e.ErrorDetail?.ErrorMessage ?? e.ErrorDetail?.ErrorCode ?? "refused");
    if (refused.length) throw new Error(`BatchStopJobRun refused: ${refused.join("; ")}`);
  }

  classifyStartError(error: Error) {
    return classifyServiceError(error, RETRYABLE_START_ERRORS);
  }
}
