// The Athena adapter: the job's statement (an UNLOAD into the run's staging folder) with the task id as the
// ClientRequestToken, started once every raw input file's header passed the other engines' rules, and bound to those
// files (athena-headers.ts, core/athena-inputs.ts) with its counts statement, both kept in the staging area for the
// run (a restart sends the same statement under the same token; the counts read the files the job read);
// BatchGetQueryExecution for checks; a lost start is found by its staging folder in the query text
// (ListQueryExecutions on the workgroup); StopQueryExecution. Once the statement
// succeeded, the job's counts statement (core/athena-query.ts athenaCountsQuery, bound to the same files) runs,
// started idempotently (token `<taskId>-counts`) on each check until it ends: the run is reported succeeded only with
// its counts, within the data-quality limits (else failed with "DataQualityError: ..."), so nothing is published
// before the gate passed.
import {
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from "@aws-sdk/client-athena";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { athenaCounts } from "../../../core/athena-counts";
import { ATHENA_QUERY_LIMIT, bindCountsAsExecuted, bindRawRows } from "../../../core/athena-inputs";
import { STAGING_URI_MARKER, type AthenaJobSpec } from "../../../core/job-spec";
import { checkQuality } from "../../../core/quality";
import { describeError } from "../../shared/aws-errors";
import { mapConcurrent } from "../../shared/concurrency";
import type { Logger } from "../../shared/logger";
import { checkRawInputs } from "./athena-headers";
import { classifyServiceError, emptyListing, JobInputError, type EngineAdapter, type EngineRun, type RunListing, type RunLookup, type RunQuery, type StartRequest } from "../engine";
import type { JobSpecs } from "../job-specs";
import { countsRunUri, parseS3Uri, stagingRunUri, statementsRunUri } from "../s3-uri";

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

/** A run's job and counts statements, as bound at its first start. */
interface RunStatements {
  job: string;
  counts: string;
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
    private readonly s3: () => S3Client,
  ) {}

  async start({ jobName, taskId, deadline }: StartRequest): Promise<string | undefined> {
    const spec = await this.specs.get(jobName, "athena");
    const { job } = await this.runStatements(spec, taskId, deadline);
    const answer = await this.athena.send(
      new StartQueryExecutionCommand({
        QueryString: job,
        WorkGroup: spec.workGroup,
        QueryExecutionContext: { Database: spec.database },
        // Athena answers a repeated token with the same query: a start whose answer was lost cannot run twice.
        ClientRequestToken: taskId,
      }),
    );
    return answer.QueryExecutionId;
  }

  /**
   * The run's statements: the spec's, unless it reads raw inputs. Then, at the task's first start, every raw file's
   * header checked (athena-headers.ts, JobInputError naming a refused file), both statements bound to those files,
   * held to Athena's limit and kept (statementsRunUri) before the job's starts; a restart of the task takes them as
   * kept, so a file that arrived since cannot change the statement sent under the same token.
   */
  private async runStatements(spec: AthenaJobSpec, taskId: string, deadline?: number): Promise<RunStatements> {
    const job = spec.query.split(STAGING_URI_MARKER).join(stagingRunUri(spec.stagingUri, taskId));
    const counts = spec.countsQuery.split(STAGING_URI_MARKER).join(countsRunUri(spec.stagingUri, taskId));
    if (!spec.rawInputs?.length) return { job, counts };
    const kept = await this.keptStatements(spec, taskId);
    if (kept) return kept;
    const files = await checkRawInputs(this.s3(), spec.rawInputs, { deadline });
    const bound: RunStatements = { job: bindRawRows(job, spec.rawInputs, files), counts: bindRawRows(counts, spec.rawInputs, files) };
    const longest = Math.max(Buffer.byteLength(bound.job, "utf8"), Buffer.byteLength(bound.counts, "utf8"));
    if (longest > ATHENA_QUERY_LIMIT) {
      const listed = spec.rawInputs.map((r) => `${files[r.table]?.length ?? 0} files under ${r.uri}`).join(", ");
      throw new JobInputError(`the job's statements would be ${longest} bytes long, over Athena's limit of ${ATHENA_QUERY_LIMIT}: they name every file they read (${listed}); merge the files into fewer parts`);
    }
    const { bucket, key } = parseS3Uri(statementsRunUri(spec.stagingUri, taskId));
    await this.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(bound), ContentType: "application/json" }));
    return bound;
  }

  /**
   * The statements kept at the task's first start, undefined before it. Listed first: a GetObject of a missing key
   * answers 403 to a role whose ListBucket is limited by prefix.
   */
  private async keptStatements(spec: AthenaJobSpec, taskId: string): Promise<RunStatements | undefined> {
    const uri = statementsRunUri(spec.stagingUri, taskId);
    const { bucket, key } = parseS3Uri(uri);
    const listed = await this.s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    if (!(listed.Contents ?? []).some((o) => o.Key === key)) return undefined;
    const answer = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await answer.Body?.transformToString("utf8")) ?? "";
    let kept: Partial<RunStatements> | undefined;
    try {
      kept = JSON.parse(text) as Partial<RunStatements>;
    } catch {
      // refused below
    }
    if (typeof kept?.job !== "string" || typeof kept.counts !== "string") throw new Error(`${uri}: not a run's statements (a JSON object with the strings "job" and "counts")`);
    return { job: kept.job, counts: kept.counts };
  }

  async describeRuns(queries: readonly RunQuery[], concurrency: number): Promise<RunListing> {
    const listing = emptyListing();
    // Recorded runs: every job's ids together, 50 per call.
    const jobOf = new Map(queries.flatMap((q) => [...q.runIds].map((id) => [id, q.jobName] as const)));
    const byEarlierRunner = new Set(queries.flatMap((q) => [...(q.earlierRunnerRunIds ?? [])]));
    const runIds = [...jobOf.keys()];
    await mapConcurrent(chunks(runIds, BATCH_SIZE), concurrency, async (ids) => {
      let executions: QueryExecution[];
      try {
        executions = await this.batchGet(ids);
      } catch (error) {
        this.logger.warn("BatchGetQueryExecution failed; asking query by query", { count: ids.length, error: describeError(error) });
        return;
      }
      for (const execution of executions) {
        try {
          listing.runs.set(execution.QueryExecutionId!, await this.counted(jobOf.get(execution.QueryExecutionId!)!, execution, byEarlierRunner.has(execution.QueryExecutionId!)));
        } catch (error) {
          // Left out: the runner asks describeRun, and the next cycle again if that fails too.
          this.logger.warn("counting the rows of a succeeded query failed", { queryExecutionId: execution.QueryExecutionId, error: describeError(error) });
        }
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
              listing.runsByTask.set(taskId, athenaRun(execution)); // adopted, then checked (and counted) as recorded
              missing.delete(taskId);
            }
      nextToken = answer.NextToken;
      if (!nextToken) break;
    }
  }

  async describeRun(jobName: string, runId: string, byEarlierRunner = false): Promise<RunLookup> {
    try {
      const answer = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: runId }));
      if (!answer.QueryExecution) return "missing";
      return await this.counted(jobName, answer.QueryExecution, byEarlierRunner);
    } catch (error) {
      // Athena answers an unknown id with InvalidRequestException "QueryExecution <id> was not found".
      if (error instanceof Error && error.name === "InvalidRequestException" && /not found/i.test(error.message)) return "missing";
      throw error;
    }
  }

  /**
   * The run of a job statement: as Athena reports it until it succeeded; then running while its counts statement
   * runs, failed when that fails or the counts are over the limits, else succeeded with the counts.
   * `byEarlierRunner`: its task was claimed by a runner before the kept statements (RunQuery.earlierRunnerRunIds).
   */
  private async counted(jobName: string, execution: QueryExecution, byEarlierRunner = false): Promise<EngineRun> {
    const run = athenaRun(execution);
    if (run.status !== "succeeded") return run;
    const spec = await this.specs.get(jobName, "athena");
    const taskId = taskIdOf(spec, execution.Query);
    if (taskId === undefined) throw new Error(`query ${run.runId} of job ${jobName} does not write under ${spec.stagingUri}: not a run of the runner`);
    const countsUri = countsRunUri(spec.stagingUri, taskId);
    // Bound to raw files: as kept at the start, whatever the spec says now (a redeploy while the run was in flight).
    let countsQuery = spec.rawInputs?.length ? (await this.keptStatements(spec, taskId))?.counts : (await this.runStatements(spec, taskId)).counts;
    if (countsQuery === undefined && byEarlierRunner) {
      // A run an earlier runner started keeps no statements: its counts as that runner bound them, from the statement
      // it executed and the spec's templates (none when the job was redeployed with other SQL since).
      countsQuery = bindCountsAsExecuted(
        spec.countsQuery.split(STAGING_URI_MARKER).join(countsUri),
        spec.query.split(STAGING_URI_MARKER).join(stagingRunUri(spec.stagingUri, taskId)),
        execution.Query ?? "",
        spec.rawInputs!,
      );
      this.logger.info("counting a run an earlier runner started, without kept statements: the counts statement bound as its executed statement (fallback countsAsExecuted)", {
        jobName,
        queryExecutionId: run.runId,
        fallback: "countsAsExecuted",
        aligned: countsQuery !== undefined,
      });
      if (countsQuery === undefined)
        return { ...run, state: "COUNTS_FAILED", status: "failed", errorMessage: `query ${run.runId}, started by an earlier runner, is not the job's statement as its spec now gives it (the job was redeployed while it ran): its rows cannot be counted` };
    }
    if (countsQuery === undefined)
      return { ...run, state: "COUNTS_FAILED", status: "failed", errorMessage: `query ${run.runId} has no statements kept at ${statementsRunUri(spec.stagingUri, taskId)}: its rows cannot be counted` };
    const countsToken = `${taskId}-counts`;
    let started;
    try {
      started = await this.athena.send(
        new StartQueryExecutionCommand({
          QueryString: countsQuery,
          WorkGroup: spec.workGroup,
          QueryExecutionContext: { Database: spec.database },
          // The same token on every check: one counts statement per run, however often it is asked.
          ClientRequestToken: countsToken,
        }),
      );
    } catch (error) {
      // Refused on every check, never ending: the run fails now rather than by its task's timeout.
      if (isIdempotencyMismatch(error))
        return { ...run, state: "COUNTS_FAILED", status: "failed", errorMessage: `the counts statement's token ${countsToken} was already used with another statement (an earlier runner's, or the counts template since redeployed), so Athena refuses this one: its rows cannot be counted (${describeError(error)})` };
      throw error;
    }
    const counting = (await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: started.QueryExecutionId }))).QueryExecution;
    const countsRun = athenaRun(counting ?? {});
    if (countsRun.status === "running") return { ...run, state: "COUNTING", status: "running", stoppable: false };
    if (countsRun.status === "failed")
      return { ...run, state: "COUNTS_FAILED", status: "failed", errorMessage: `the counts statement (query ${countsRun.runId}) ended ${countsRun.state}: ${countsRun.errorMessage ?? "no reason given"}` };
    const counts = athenaCounts(await this.readCounts(countsUri), spec.quality);
    const cause = checkQuality(counts, spec.quality);
    if (cause !== undefined) return { ...run, state: "DATA_QUALITY", status: "failed", errorMessage: `DataQualityError: ${cause}`, counts };
    return { ...run, counts };
  }

  /** The counts statement's JSON line (UNLOAD writes it gzip-compressed, in one file). */
  private async readCounts(countsUri: string): Promise<string> {
    const { bucket, key: prefix } = parseS3Uri(countsUri);
    const listed = await this.s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const files = (listed.Contents ?? []).map((o) => o.Key!).filter(Boolean);
    if (files.length === 0) throw new Error(`the counts statement wrote nothing under ${countsUri}`);
    const lines: string[] = [];
    for (const key of files) {
      const answer = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
      const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
      lines.push(...text.split("\n").filter((l) => l.trim() !== ""));
    }
    if (lines.length !== 1) throw new Error(`the counts statement wrote ${lines.length} lines under ${countsUri}, expected 1`);
    return lines[0];
  }

  /** A counts statement names its task in its destination, <stagingUri><taskId>.counts/. */
  async taskOfHelperRun(runId: string): Promise<string | undefined> {
    const lookup = await this.describeQuery(runId);
    return lookup ? /\bTO '[^']*\/([^/']+)\.counts\/'/.exec(lookup.Query ?? "")?.[1] : undefined;
  }

  private async describeQuery(runId: string): Promise<QueryExecution | undefined> {
    try {
      return (await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: runId }))).QueryExecution;
    } catch (error) {
      if (error instanceof Error && error.name === "InvalidRequestException" && /not found/i.test(error.message)) return undefined;
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

/** The task id of a job statement, from its destination (<stagingUri><taskId>/) in the query text. */
function taskIdOf(spec: AthenaJobSpec, query: string | undefined): string | undefined {
  const at = query?.indexOf(`TO '${spec.stagingUri}`);
  if (query === undefined || at === undefined || at < 0) return undefined;
  return /^([^/']+)\/'/.exec(query.slice(at + 4 + spec.stagingUri.length))?.[1];
}

/** Athena's refusal of a ClientRequestToken already used with other parameters (InvalidRequestException, "Idempotent parameters do not match"). */
function isIdempotencyMismatch(error: unknown): boolean {
  return error instanceof Error && /InvalidRequest|Idempoten/i.test(error.name) && /idempotent parameters? do not match|idempoten.*mismatch/i.test(error.message);
}
