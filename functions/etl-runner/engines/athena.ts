// The Athena adapter: the job's statement (an UNLOAD into the run's staging folder) with the task id as the
// ClientRequestToken; BatchGetQueryExecution for checks; a lost start is found by its staging folder in the query
// text (ListQueryExecutions on the workgroup); StopQueryExecution.
import {
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from "@aws-sdk/client-athena";
import { STAGING_URI_MARKER } from "../../../core/job-spec";
import { describeError } from "../../shared/aws-errors";
import { mapConcurrent } from "../../shared/concurrency";
import type { Logger } from "../../shared/logger";
import { classifyServiceError, emptyListing, type EngineAdapter, type EngineRun, type RunListing, type RunLookup, type RunQuery, type StartRequest } from "../engine";
import type { JobSpecs } from "../job-specs";
import { stagingRunUri } from "../s3-uri";

/** BatchGetQueryExecution takes at most 50 ids. */
const BATCH_SIZE = 50;
/** ListQueryExecutions pages (50 ids each) searched per workgroup per cycle for lost starts. */
const MAX_LIST_PAGES = 5;
const RETRYABLE_START_ERRORS = new Set(["TooManyRequestsException", "ThrottlingException", "InternalServerException"]);

/** Athena's five query states onto the runner's three. */
export function athenaRun(execution: QueryExecution): EngineRun {
  const state = execution.Status?.State ?? "UNKNOWN";
  const statistics = execution.Statistics;
  const reason = [execution.Status?.AthenaError?.ErrorMessage, execution.Status?.StateChangeReason].filter(Boolean);
  const outputFields: Record<string, number> = {};
  if (statistics?.DataScannedInBytes !== undefined) outputFields.dataScannedInBytes = statistics.DataScannedInBytes;
  if (statistics?.EngineExecutionTimeInMillis !== undefined) outputFields.engineExecutionTimeInMillis = statistics.EngineExecutionTimeInMillis;
  return {
    runId: execution.QueryExecutionId ?? "",
    state,
    // QUEUED, RUNNING (and any state Athena adds later): still in progress.
    status: state === "SUCCEEDED" ? "succeeded" : state === "FAILED" || state === "CANCELLED" ? "failed" : "running",
    stoppable: state === "QUEUED" || state === "RUNNING",
    errorMessage: [...new Set(reason)].join(": ") || undefined,
    startedOn: execution.Status?.SubmissionDateTime,
    completedOn: execution.Status?.CompletionDateTime,
    executionTime: statistics?.TotalExecutionTimeInMillis !== undefined ? statistics.TotalExecutionTimeInMillis / 1000 : undefined,
    outputFields,
  };
}

const chunks = <T>(items: readonly T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export class AthenaEngine implements EngineAdapter {
  readonly engine = "athena" as const;
  readonly label = "Athena";
  readonly startCall = "StartQueryExecution";

  constructor(
    private readonly athena: AthenaClient,
    private readonly specs: JobSpecs,
    private readonly logger: Logger,
  ) {}

  async start({ jobName, taskId }: StartRequest): Promise<string | undefined> {
    const spec = await this.specs.get(jobName, "athena");
    const answer = await this.athena.send(
      new StartQueryExecutionCommand({
        QueryString: spec.query.split(STAGING_URI_MARKER).join(stagingRunUri(spec.stagingUri, taskId)),
        WorkGroup: spec.workGroup,
        QueryExecutionContext: { Database: spec.database },
        // Athena answers a repeated token with the same query: a start whose answer was lost cannot run twice.
        ClientRequestToken: taskId,
      }),
    );
    return answer.QueryExecutionId;
  }

  async describeRuns(queries: readonly RunQuery[], concurrency: number): Promise<RunListing> {
    const listing = emptyListing();
    // Recorded runs: every job's ids together, 50 per call.
    const runIds = [...new Set(queries.flatMap((q) => [...q.runIds]))];
    await mapConcurrent(chunks(runIds, BATCH_SIZE), concurrency, async (ids) => {
      try {
        for (const execution of await this.batchGet(ids)) listing.runs.set(execution.QueryExecutionId!, athenaRun(execution));
      } catch (error) {
        this.logger.warn("BatchGetQueryExecution failed; asking query by query", { count: ids.length, error: describeError(error) });
      }
    });
    // Lost starts: the run's staging folder (it holds the task id) is in its query text.
    const wanted = queries.filter((q) => q.taskIds.size > 0);
    const byWorkGroup = new Map<string, Array<{ jobName: string; taskId: string; uri: string }>>();
    for (const { jobName, taskIds } of wanted) {
      try {
        const spec = await this.specs.get(jobName, "athena");
        const tasks = byWorkGroup.get(spec.workGroup) ?? byWorkGroup.set(spec.workGroup, []).get(spec.workGroup)!;
        for (const taskId of taskIds) tasks.push({ jobName, taskId, uri: stagingRunUri(spec.stagingUri, taskId) });
      } catch (error) {
        listing.unsearchedJobs.add(jobName);
        this.logger.warn("job spec unreadable; stale claims wait for the next cycle", { jobName, error: describeError(error) });
      }
    }
    await mapConcurrent([...byWorkGroup], concurrency, async ([workGroup, tasks]) => {
      try {
        await this.searchWorkGroup(workGroup, tasks, listing);
      } catch (error) {
        for (const t of tasks) listing.unsearchedJobs.add(t.jobName);
        this.logger.warn("ListQueryExecutions failed; stale claims wait for the next cycle", { workGroup, error: describeError(error) });
      }
    });
    return listing;
  }

  private async batchGet(ids: string[]): Promise<QueryExecution[]> {
    const answer = await this.athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids }));
    return (answer.QueryExecutions ?? []).filter((e) => e.QueryExecutionId);
  }

  /** Newest first, bounded: the queries of a stale claim are at most minutes old. */
  private async searchWorkGroup(workGroup: string, tasks: Array<{ taskId: string; uri: string }>, listing: RunListing): Promise<void> {
    const missing = new Map(tasks.map((t) => [t.taskId, t.uri]));
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES && missing.size > 0; page++) {
      const answer = await this.athena.send(new ListQueryExecutionsCommand({ WorkGroup: workGroup, MaxResults: BATCH_SIZE, NextToken: nextToken }));
      const ids = answer.QueryExecutionIds ?? [];
      if (ids.length > 0)
        for (const execution of await this.batchGet(ids))
          for (const [taskId, uri] of missing)
            if (execution.Query?.includes(uri)) {
              listing.runsByTask.set(taskId, athenaRun(execution));
              missing.delete(taskId);
            }
      nextToken = answer.NextToken;
      if (!nextToken) break;
    }
  }

  async describeRun(_jobName: string, runId: string): Promise<RunLookup> {
    try {
      const answer = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: runId }));
      return answer.QueryExecution ? athenaRun(answer.QueryExecution) : "missing";
    } catch (error) {
      // Athena answers an unknown id with InvalidRequestException "QueryExecution <id> was not found".
      if (error instanceof Error && error.name === "InvalidRequestException" && /not found/i.test(error.message)) return "missing";
      throw error;
    }
  }

  async stop(_jobName: string, runId: string): Promise<void> {
    await this.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: runId }));
  }

  classifyStartError(error: Error) {
    return classifyServiceError(error, RETRYABLE_START_ERRORS);
  }
}
