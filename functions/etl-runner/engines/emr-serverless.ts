// The EMR Serverless adapter: StartJobRun with the task id as the clientToken and `<jobName>:<taskId>` as the run's
// name; ListJobRuns per application for checks and lost starts (GetJobRun as the fallback); CancelJobRun.
import {
  CancelJobRunCommand,
  GetJobRunCommand,
  ListJobRunsCommand,
  StartJobRunCommand,
  type EMRServerlessClient,
  type JobRun,
  type JobRunSummary,
} from "@aws-sdk/client-emr-serverless";
import { describeError } from "../../shared/aws-errors";
import { mapConcurrent } from "../../shared/concurrency";
import type { Logger } from "../../shared/logger";
import { classifyServiceError, emptyListing, type EngineAdapter, type EngineRun, type RunListing, type RunLookup, type RunQuery, type StartRequest } from "../engine";
import type { JobSpecs } from "../job-specs";
import { stagingRunUri } from "../s3-uri";

/**
 * ListJobRuns pages (50 runs each, newest first) read per application per cycle beyond those the runs sought could
 * fill, before falling back to GetJobRun: calls grow with pages, not with runs.
 */
const EXTRA_LIST_PAGES = 5;
const LIST_PAGE = 50;
const RETRYABLE_START_ERRORS = new Set(["ThrottlingException", "InternalServerException", "ServiceQuotaExceededException", "TooManyRequestsException"]);
const RUNNING_STATES = new Set(["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED"]);
const FAILED_STATES = new Set(["FAILED", "CANCELLED"]);

/** The name of the run of a task: finds it after a lost start answer, and names its job in state-change events. */
export const emrRunName = (jobName: string, taskId: string) => `${jobName}:${taskId}`;

/** EMR Serverless's nine job run states onto the runner's three. */
export function emrRun(run: JobRun | JobRunSummary): EngineRun {
  const state = run.state ?? "UNKNOWN";
  const detail = run as Partial<JobRun>;
  return {
    runId: ("jobRunId" in run ? run.jobRunId : run.id) ?? "",
    state,
    // SUBMITTED, PENDING, SCHEDULED, RUNNING, QUEUED, CANCELLING (and any state added later): still in progress.
    status: state === "SUCCESS" ? "succeeded" : FAILED_STATES.has(state) ? "failed" : "running",
    // CANCELLING is already on its way.
    stoppable: RUNNING_STATES.has(state),
    errorMessage: run.stateDetails || undefined,
    startedOn: detail.startedAt ?? run.createdAt,
    completedOn: detail.endedAt ?? (state === "SUCCESS" || FAILED_STATES.has(state) ? run.updatedAt : undefined),
    executionTime: detail.totalExecutionDurationSeconds,
  };
}

export class EmrServerlessEngine implements EngineAdapter {
  readonly engine = "emr-serverless" as const;
  readonly label = "EMR Serverless";
  readonly startCall = "StartJobRun";

  constructor(
    private readonly emr: EMRServerlessClient,
    private readonly specs: JobSpecs,
    private readonly logger: Logger,
  ) {}

  async start({ jobName, taskId }: StartRequest): Promise<string | undefined> {
    const spec = await this.specs.get(jobName, "emr-serverless");
    const answer = await this.emr.send(
      new StartJobRunCommand({
        applicationId: spec.applicationId,
        executionRoleArn: spec.executionRoleArn,
        // EMR Serverless answers a repeated token with the same run: a start whose answer was lost cannot run twice.
        clientToken: taskId,
        name: emrRunName(jobName, taskId),
        jobDriver: {
          sparkSubmit: {
            entryPoint: spec.entryPoint,
            entryPointArguments: [...spec.entryPointArguments, "--etl_output", stagingRunUri(spec.stagingUri, taskId), "--etl_task_id", taskId],
            sparkSubmitParameters: spec.sparkSubmitParameters || undefined,
          },
        },
      }),
    );
    return answer.jobRunId;
  }

  /** One ListJobRuns listing per application (the jobs usually share one), until every wanted run and task is found. */
  async describeRuns(queries: readonly RunQuery[], concurrency: number): Promise<RunListing> {
    const listing = emptyListing();
    const byApplication = new Map<string, RunQuery[]>();
    for (const query of queries) {
      try {
        const { applicationId } = await this.specs.get(query.jobName, "emr-serverless");
        (byApplication.get(applicationId) ?? byApplication.set(applicationId, []).get(applicationId)!).push(query);
      } catch (error) {
        listing.unsearchedJobs.add(query.jobName);
        this.logger.warn("job spec unreadable; its runs wait for the next cycle", { jobName: query.jobName, error: describeError(error) });
      }
    }
    await mapConcurrent([...byApplication], concurrency, async ([applicationId, appQueries]) => {
      const missingRuns = new Set(appQueries.flatMap((q) => [...q.runIds]));
      const missingTasks = new Map(appQueries.flatMap((q) => [...q.taskIds].map((taskId) => [emrRunName(q.jobName, taskId), taskId] as const)));
      const finished: EngineRun[] = [];
      try {
        let nextToken: string | undefined;
        const maxPages = Math.ceil((missingRuns.size + missingTasks.size) / LIST_PAGE) + EXTRA_LIST_PAGES;
        for (let page = 0; page < maxPages && missingRuns.size + missingTasks.size > 0; page++) {
          const answer = await this.emr.send(new ListJobRunsCommand({ applicationId, maxResults: LIST_PAGE, nextToken }));
          for (const summary of answer.jobRuns ?? []) {
            const run = emrRun(summary);
            if (summary.id && missingRuns.delete(summary.id)) {
              listing.runs.set(summary.id, run);
              if (run.status === "succeeded") finished.push(run);
            }
            const taskId = summary.name ? missingTasks.get(summary.name) : undefined;
            if (taskId) {
              listing.runsByTask.set(taskId, run);
              missingTasks.delete(summary.name!);
            }
          }
          nextToken = answer.nextToken;
          if (!nextToken) break;
        }
      } catch (error) {
        for (const q of appQueries) listing.unsearchedJobs.add(q.jobName);
        this.logger.warn("ListJobRuns failed; asking run by run, stale claims wait for the next cycle", { applicationId, error: describeError(error) });
      }
      // A listing has no execution times: a succeeded run is read once more, for its task output.
      await mapConcurrent(finished, concurrency, async (run) => {
        try {
          const detail = await this.emr.send(new GetJobRunCommand({ applicationId, jobRunId: run.runId }));
          if (detail.jobRun) listing.runs.set(run.runId, emrRun(detail.jobRun));
        } catch (error) {
          this.logger.warn("GetJobRun failed; reporting the run from its listing", { applicationId, jobRunId: run.runId, error: describeError(error) });
        }
      });
    });
    return listing;
  }

  async describeRun(jobName: string, runId: string): Promise<RunLookup> {
    const { applicationId } = await this.specs.get(jobName, "emr-serverless");
    try {
      const answer = await this.emr.send(new GetJobRunCommand({ applicationId, jobRunId: runId }));
      return answer.jobRun ? emrRun(answer.jobRun) : "missing";
    } catch (error) {
      if (error instanceof Error && error.name === "ResourceNotFoundException") return "missing";
      throw error;
    }
  }

  async stop(jobName: string, runId: string): Promise<void> {
    const { applicationId } = await this.specs.get(jobName, "emr-serverless");
    await this.emr.send(new CancelJobRunCommand({ applicationId, jobRunId: runId }));
  }

  classifyStartError(error: Error) {
    return classifyServiceError(error, RETRYABLE_START_ERRORS);
  }
}
