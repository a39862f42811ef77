// In-memory Glue, Athena, EMR Serverless and S3 behind aws-sdk-client-mock: each answers the commands the runner
// sends with AWS's shapes and error names (idempotency tokens honoured, unknown runs refused as AWS refuses them),
// so the contract suite drives every adapter through the same scenarios.
import { AthenaClient, BatchGetQueryExecutionCommand, GetQueryExecutionCommand, ListQueryExecutionsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand, type QueryExecution, type QueryExecutionState } from "@aws-sdk/client-athena";
import { CancelJobRunCommand, EMRServerlessClient, GetJobRunCommand as EmrGetJobRunCommand, ListJobRunsCommand, StartJobRunCommand as EmrStartJobRunCommand, type JobRun as EmrJobRun, type JobRunState } from "@aws-sdk/client-emr-serverless";
import { BatchStopJobRunCommand, GetJobRunCommand, GetJobRunsCommand, GlueClient, StartJobRunCommand, type JobRun } from "@aws-sdk/client-glue";
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseS3Uri } from "../../../functions/etl-runner/s3-uri";
import { mockClient } from "aws-sdk-client-mock";
import type { EngineName, JobSpec } from "../../../core/job-spec";
import { STAGING_URI_MARKER } from "../../../core/job-spec";
import type { EngineAdapter } from "../../../functions/etl-runner/engine";
import { AthenaEngine } from "../../../functions/etl-runner/engines/athena";
import { EmrServerlessEngine } from "../../../functions/etl-runner/engines/emr-serverless";
import { GlueEngine, TASK_ID_ARGUMENT } from "../../../functions/etl-runner/engines/glue";
import type { JobSpecs } from "../../../functions/etl-runner/job-specs";
import type { Logger } from "../../../functions/shared/logger";
import { answerCommands, awsError } from "../fakes";

/** An SDK call that never got an answer (network, timeout): no $metadata. */
export const noAnswer = () => Object.assign(new Error("socket hang up"), { name: "TimeoutError" });

export const DATA_BUCKET = "data-lake-etl-dev-1";
export const ARTIFACT_BUCKET = "artifacts-etl-dev-1";
export const SPECS_URI = `s3://${ARTIFACT_BUCKET}/glue-scripts/jobs/`;

/** An in-memory S3 with the calls the runner makes. */
export class FakeS3 {
  readonly client = new S3Client({ region: "us-east-1" });
  readonly objects = new Map<string, string>();
  readonly mock = mockClient(this.client);
  /** Errors to throw once, for the first call of `command` whose input `when` accepts. */
  readonly failures: Array<{ command: string; when?: (input: any) => boolean; error: Error }> = [];
  /** Calls to hold, once each: the first call of `command` whose input `when` accepts waits for `until` (interleaving callers). */
  readonly holds: Array<{ command: string; when?: (input: any) => boolean; until: Promise<unknown>; reached: () => void }> = [];

  constructor() {
    const answer = answerCommands(this.mock);
    const failing = async (command: string, input?: any) => {
      const held = this.holds.findIndex((h) => h.command === command && (!h.when || h.when(input)));
      if (held >= 0) {
        const [hold] = this.holds.splice(held, 1);
        hold.reached();
        await hold.until;
      }
      const index = this.failures.findIndex((f) => f.command === command && (!f.when || f.when(input)));
      if (index >= 0) throw this.failures.splice(index, 1)[0].error;
    };
    answer(GetObjectCommand, async (input) => {
      const { Bucket, Key } = input;
      await failing("GetObject", input);
      const body = this.objects.get(`${Bucket}/${Key}`);
      if (body === undefined) throw awsError("NoSuchKey", "The specified key does not exist.", 404);
      return { Body: { transformToString: async () => body, transformToByteArray: async () => Buffer.from(body) } };
    });
    answer(PutObjectCommand, async (input) => {
      const { Bucket, Key, Body } = input;
      await failing("PutObject", input);
      this.objects.set(`${Bucket}/${Key}`, String(Body));
      return {};
    });
    answer(CopyObjectCommand, async (input) => {
      const { Bucket, Key, CopySource } = input;
      await failing("CopyObject", input);
      const source = decodeURIComponent(String(CopySource));
      const body = this.objects.get(source);
      if (body === undefined) throw awsError("NoSuchKey", `no ${source}`, 404);
      this.objects.set(`${Bucket}/${Key}`, body);
      return {};
    });
    answer(ListObjectsV2Command, async (input) => {
      const { Bucket, Prefix = "" } = input;
      await failing("ListObjectsV2", input);
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${Bucket}/${Prefix}`)).map((k) => k.slice(Bucket!.length + 1)).sort();
      return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
    });
    answer(DeleteObjectsCommand, async (input) => {
      const { Bucket, Delete } = input;
      await failing("DeleteObjects", input);
      for (const { Key } of Delete!.Objects!) this.objects.delete(`${Bucket}/${Key}`);
      return {};
    });
    answer(DeleteObjectCommand, async (input) => {
      const { Bucket, Key } = input;
      await failing("DeleteObject", input);
      this.objects.delete(`${Bucket}/${Key}`);
      return {};
    });
  }

  under(bucket: string, prefix: string): Record<string, string> {
    return Object.fromEntries([...this.objects].filter(([k]) => k.startsWith(`${bucket}/${prefix}`)).map(([k, v]) => [k.slice(bucket.length + 1 + prefix.length), v]));
  }
}

/** How a scenario drives one engine. */
export interface FakeEngine {
  readonly engine: EngineName;
  readonly jobName: string;
  adapter(specs: JobSpecs, logger: Logger, s3: () => S3Client): EngineAdapter;
  /** The spec the stacks would write for the job (none for Glue). */
  readonly spec?: JobSpec;
  /** Every state of the engine, by what the runner must do. */
  readonly states: { succeeded: string; failed: string[]; running: string[]; runningNotStoppable: string[] };
  readonly retryableStartErrors: Error[];
  readonly permanentStartErrors: Error[];
  /** The next start: answered (default), refused with `error`, or created but its answer lost. */
  nextStart: { kind: "answer" } | { kind: "refuse"; error: Error } | { kind: "lose-answer"; created: boolean };
  /** Starts received: the idempotency key each carried and the request as sent. */
  readonly starts: Array<{ key: string; input: any }>;
  /** Runs the engine knows, by id. */
  runIds(): string[];
  setState(runId: string, state: string, errorMessage?: string): void;
  /** Adds a run as if the engine had started it for `taskId`; its id may be given (e.g. a very long one). */
  addRun(taskId: string, state: string, runId?: string): string;
  readonly stopped: string[];
  /** Engine calls by command name (for batching assertions). */
  calls(): Record<string, number>;
  /** The success output fields only this engine adds. */
  readonly extraOutput: (runId: string) => Record<string, unknown>;
  /** The id the next started run gets (default: the engine's own). */
  nextRunId?: string;
  /** Athena: how its counts statements end, and the JSON line they write; `refusals`: the next starts of one refused, in order. */
  counts?: { line: string; state: string; refusals?: Error[] };
  /** The engine's state-change event for a run, as EventBridge delivers it. */
  stateChangeEvent(runId: string, taskId: string, state: string): unknown;
  /** The call that describes many runs at once, and the one that describes a single run. */
  readonly batchCall: string;
  readonly perRunCall: string;
}

function takeRunId(fake: FakeEngine): string | undefined {
  const id = fake.nextRunId;
  fake.nextRunId = undefined;
  return id;
}

const count = (mock: { calls(): Array<{ args: [any] }> }) => {
  const out: Record<string, number> = {};
  for (const call of mock.calls()) {
    const name = call.args[0].constructor.name.replace(/Command$/, "");
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
};

export function fakeGlue(jobName = "etl-dev-LoadOrders"): FakeEngine {
  const client = new GlueClient({ region: "us-east-1" });
  const mock = mockClient(client);
  const answer = answerCommands(mock);
  const runs = new Map<string, JobRun>();
  let n = 0;
  const fake: FakeEngine = {
    engine: "glue",
    jobName,
    adapter: (_specs, logger) => new GlueEngine({ glue: client }, logger),
    states: { succeeded: "SUCCEEDED", failed: ["FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"], running: ["STARTING", "RUNNING", "WAITING"], runningNotStoppable: ["STOPPING"] },
    retryableStartErrors: [awsError("ConcurrentRunsExceededException"), awsError("ThrottlingException"), awsError("InternalServiceException", "x", 500), awsError("ResourceNumberLimitExceededException"), awsError("SomeThrottle", "x", 429)],
    permanentStartErrors: [awsError("EntityNotFoundException"), awsError("InvalidInputException"), awsError("AccessDeniedException", "x", 403)],
    nextStart: { kind: "answer" },
    starts: [],
    runIds: () => [...runs.keys()],
    setState: (id, state, message) => Object.assign(runs.get(id)!, { JobRunState: state, ErrorMessage: message, CompletedOn: new Date("2026-11-23T12:05:00Z"), ExecutionTime: 300 }),
    addRun: (taskId, state, id = `jr_${++n}`) => {
      runs.set(id, { Id: id, JobName: jobName, JobRunState: state as JobRun["JobRunState"], Arguments: { [TASK_ID_ARGUMENT]: taskId }, StartedOn: new Date("2026-11-23T12:00:00Z") });
      return id;
    },
    stopped: [],
    calls: () => count(mock),
    extraOutput: (runId) => ({ jobRunId: runId }),
    stateChangeEvent: (runId, _taskId, state) => ({ source: "aws.glue", "detail-type": "Glue Job State Change", detail: { jobName, jobRunId: runId, state } }),
    batchCall: "GetJobRuns",
    perRunCall: "GetJobRun",
  };
  answer(StartJobRunCommand, async (input) => {
    const next = fake.nextStart;
    fake.nextStart = { kind: "answer" };
    fake.starts.push({ key: input.Arguments[TASK_ID_ARGUMENT], input });
    if (next.kind === "refuse") throw next.error;
    const id = next.kind === "lose-answer" && !next.created ? undefined : fake.addRun(input.Arguments[TASK_ID_ARGUMENT], "STARTING", takeRunId(fake));
    if (next.kind === "lose-answer") throw noAnswer();
    return { JobRunId: id };
  });
  answer(GetJobRunsCommand, async ({ JobName }) => ({ JobRuns: [...runs.values()].filter((r) => r.JobName === JobName).reverse() }));
  answer(GetJobRunCommand, async ({ RunId }) => {
    if (!runs.has(RunId)) throw awsError("EntityNotFoundException", `run ${RunId} not found`);
    return { JobRun: runs.get(RunId) };
  });
  answer(BatchStopJobRunCommand, async ({ JobRunIds }) => {
    fake.stopped.push(...JobRunIds);
    return { SuccessfulSubmissions: JobRunIds.map((JobRunId: string) => ({ JobName: jobName, JobRunId })), Errors: [] };
  });
  return fake;
}

export function fakeAthena(jobName = "etl-dev-CleanClicks"): FakeEngine {
  const client = new AthenaClient({ region: "us-east-1" });
  const mock = mockClient(client);
  const answer = answerCommands(mock);
  const executions = new Map<string, QueryExecution>();
  const tokens = new Map<string, string>();
  let n = 0;
  let s3Client: (() => S3Client) | undefined;
  const spec: JobSpec = {
    engine: "athena",
    jobName,
    workGroup: "etl-dev-etl",
    database: "etl_orchestrator",
    query: `UNLOAD (SELECT 1) TO '${STAGING_URI_MARKER}' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
    countsQuery: `UNLOAD (SELECT 5 AS "rows.read", 4 AS "rows.kept", 4 AS "written") TO '${STAGING_URI_MARKER}' WITH (format = 'JSON', compression = 'GZIP')`,
    quality: { inputs: { rows: { maxDroppedFraction: null } }, minOutputRows: 1, notNull: [] },
    outputUri: `s3://${DATA_BUCKET}/processed/clicks/`,
    stagingUri: `s3://${DATA_BUCKET}/staging/${jobName}/`,
  };
  const create = (query: string, state: string, id = `q-${++n}`) => {
    executions.set(id, { QueryExecutionId: id, Query: query, WorkGroup: spec.workGroup, Status: { State: state as QueryExecutionState, SubmissionDateTime: new Date("2026-11-23T12:00:00Z") } });
    return id;
  };
  const fake: FakeEngine = {
    engine: "athena",
    jobName,
    spec,
    adapter: (specs, logger, s3) => {
      s3Client = s3;
      return new AthenaEngine(client, specs, logger, s3);
    },
    counts: { line: JSON.stringify({ "rows.read": 5, "rows.kept": 4, written: 4 }), state: "SUCCEEDED" },
    states: { succeeded: "SUCCEEDED", failed: ["FAILED", "CANCELLED"], running: ["QUEUED", "RUNNING"], runningNotStoppable: [] },
    retryableStartErrors: [awsError("TooManyRequestsException"), awsError("InternalServerException", "x", 500), awsError("ThrottlingException", "x", 429)],
    permanentStartErrors: [awsError("InvalidRequestException", "line 1:8: mismatched input"), awsError("AccessDeniedException", "x", 403), awsError("ResourceNotFoundException", "no workgroup")],
    nextStart: { kind: "answer" },
    starts: [],
    runIds: () => [...executions.keys()],
    setState: (id, state, message) => {
      const execution = executions.get(id)!;
      execution.Status = { ...execution.Status, State: state as QueryExecutionState, StateChangeReason: message, CompletionDateTime: new Date("2026-11-23T12:05:00Z") };
      execution.Statistics = { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 2100, TotalExecutionTimeInMillis: 2500 };
    },
    addRun: (taskId, state, id) => create(spec.query.split(STAGING_URI_MARKER).join(`${spec.stagingUri}${taskId}/`), state, id),
    stopped: [],
    calls: () => count(mock),
    extraOutput: () => ({ dataScannedInBytes: 1234, engineExecutionTimeInMillis: 2100, counts: { rowsRead: { rows: 5 }, rowsDropped: { rows: 1 }, rowsWritten: 4 } }),
    stateChangeEvent: (runId, _taskId, state) => ({
      source: "aws.athena",
      "detail-type": "Athena Query State Change",
      detail: { queryExecutionId: runId, workgroupName: spec.workGroup, currentState: state, previousState: "RUNNING", versionId: "0" },
    }),
    batchCall: "BatchGetQueryExecution",
    perRunCall: "GetQueryExecution",
  };
  answer(StartQueryExecutionCommand, async (input) => {
    const next = fake.nextStart;
    fake.nextStart = { kind: "answer" };
    fake.starts.push({ key: input.ClientRequestToken, input });
    if (next.kind === "refuse") throw next.error;
    const refusal = /\.counts\/'/.test(input.QueryString) ? fake.counts!.refusals?.shift() : undefined;
    if (refusal) throw refusal;
    // Athena's idempotency: a token it has seen answers with the same query execution.
    let id = tokens.get(input.ClientRequestToken);
    if (!id && !(next.kind === "lose-answer" && !next.created)) {
      // A counts statement (core/athena-query.ts) ends as fake.counts says and writes its JSON line.
      const counts = /TO '(s3:\/\/[^']+\.counts\/)'/.exec(input.QueryString)?.[1];
      id = create(input.QueryString, counts ? fake.counts!.state : "QUEUED", counts ? undefined : takeRunId(fake));
      tokens.set(input.ClientRequestToken, id);
      if (counts && fake.counts!.state === "SUCCEEDED") {
        const { bucket, key } = parseS3Uri(counts);
        await s3Client!().send(new PutObjectCommand({ Bucket: bucket, Key: `${key}${id}_00000.gz`, Body: fake.counts!.line }));
      }
    }
    if (next.kind === "lose-answer") throw noAnswer();
    return { QueryExecutionId: id };
  });
  answer(BatchGetQueryExecutionCommand, async ({ QueryExecutionIds }) => {
    if (QueryExecutionIds.length > 50) throw awsError("InvalidRequestException", "at most 50 ids");
    return {
      QueryExecutions: QueryExecutionIds.filter((id: string) => executions.has(id)).map((id: string) => executions.get(id)),
      UnprocessedQueryExecutionIds: QueryExecutionIds.filter((id: string) => !executions.has(id)).map((id: string) => ({ QueryExecutionId: id, ErrorCode: "INVALID_INPUT", ErrorMessage: "not found" })),
    };
  });
  answer(GetQueryExecutionCommand, async ({ QueryExecutionId }) => {
    if (!executions.has(QueryExecutionId)) throw awsError("InvalidRequestException", `QueryExecution ${QueryExecutionId} was not found`);
    return { QueryExecution: executions.get(QueryExecutionId) };
  });
  answer(ListQueryExecutionsCommand, async ({ WorkGroup, MaxResults = 50, NextToken }) => {
    const ids = [...executions.values()].filter((e) => e.WorkGroup === WorkGroup).map((e) => e.QueryExecutionId!).reverse();
    const start = NextToken ? Number(NextToken) : 0;
    return { QueryExecutionIds: ids.slice(start, start + MaxResults), NextToken: start + MaxResults < ids.length ? String(start + MaxResults) : undefined };
  });
  answer(StopQueryExecutionCommand, async ({ QueryExecutionId }) => {
    fake.stopped.push(QueryExecutionId);
    return {};
  });
  return fake;
}

export function fakeEmrServerless(jobName = "etl-dev-JoinAll"): FakeEngine {
  const client = new EMRServerlessClient({ region: "us-east-1" });
  const mock = mockClient(client);
  const answer = answerCommands(mock);
  const runs = new Map<string, EmrJobRun>();
  const tokens = new Map<string, string>();
  let n = 0;
  const spec: JobSpec = {
    engine: "emr-serverless",
    jobName,
    applicationId: "00fabc123",
    executionRoleArn: "arn:aws:iam::123456789012:role/etl-dev-emr-job",
    entryPoint: `s3://${ARTIFACT_BUCKET}/glue-scripts/join_all.py`,
    entryPointArguments: ["--etl_inputs", "[]", "--etl_sql", "join_all.sql"],
    sparkSubmitParameters: "--py-files s3://artifacts/glue-scripts/etl_common.py",
    outputUri: `s3://${DATA_BUCKET}/curated/joined/`,
    stagingUri: `s3://${DATA_BUCKET}/staging/${jobName}/`,
  };
  const create = (name: string, state: string, id = `00f${String(++n).padStart(13, "0")}`) => {
    const at = new Date("2026-11-23T12:00:00Z");
    runs.set(id, { applicationId: spec.applicationId, jobRunId: id, name, arn: `arn:aws:emr-serverless:us-east-1:123456789012:/applications/${spec.applicationId}/jobruns/${id}`, createdBy: "runner", createdAt: at, updatedAt: at, executionRole: spec.executionRoleArn, state: state as JobRunState, stateDetails: "", releaseLabel: "emr-7.9.0", jobDriver: undefined });
    return id;
  };
  const fake: FakeEngine = {
    engine: "emr-serverless",
    jobName,
    spec,
    adapter: (specs, logger) => new EmrServerlessEngine(client, specs, logger),
    states: { succeeded: "SUCCESS", failed: ["FAILED", "CANCELLED"], running: ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED"], runningNotStoppable: ["CANCELLING"] },
    retryableStartErrors: [awsError("InternalServerException", "x", 500), awsError("ThrottlingException", "x", 429), awsError("ServiceQuotaExceededException", "too many runs", 402)],
    permanentStartErrors: [awsError("ValidationException", "bad entryPoint"), awsError("AccessDeniedException", "x", 403), awsError("ResourceNotFoundException", "no application", 404)],
    nextStart: { kind: "answer" },
    starts: [],
    runIds: () => [...runs.keys()],
    setState: (id, state, message) =>
      Object.assign(runs.get(id)!, { state, stateDetails: message ?? "", updatedAt: new Date("2026-11-23T12:05:00Z"), endedAt: new Date("2026-11-23T12:05:00Z"), startedAt: new Date("2026-11-23T12:00:30Z"), totalExecutionDurationSeconds: 270 }),
    addRun: (taskId, state, id) => create(`${jobName}:${taskId}`, state, id),
    stopped: [],
    calls: () => count(mock),
    extraOutput: () => ({}),
    stateChangeEvent: (runId, taskId, state) => ({
      source: "aws.emr-serverless",
      "detail-type": "EMR Serverless Job Run State Change",
      detail: { jobRunId: runId, jobRunName: `${jobName}:${taskId}`, applicationId: spec.applicationId, arn: "arn", releaseLabel: "emr-7.9.0", state, previousState: "RUNNING", createdBy: "runner", updatedAt: "2026-11-23T12:05:00Z", createdAt: "2026-11-23T12:00:00Z" },
    }),
    batchCall: "ListJobRuns",
    perRunCall: "GetJobRun",
  };
  answer(EmrStartJobRunCommand, async (input) => {
    const next = fake.nextStart;
    fake.nextStart = { kind: "answer" };
    fake.starts.push({ key: input.clientToken, input });
    if (next.kind === "refuse") throw next.error;
    let id = tokens.get(input.clientToken);
    if (!id && !(next.kind === "lose-answer" && !next.created)) {
      id = create(input.name, "SUBMITTED", takeRunId(fake));
      tokens.set(input.clientToken, id);
    }
    if (next.kind === "lose-answer") throw noAnswer();
    return { applicationId: input.applicationId, jobRunId: id, arn: runs.get(id!)!.arn };
  });
  answer(ListJobRunsCommand, async ({ applicationId, maxResults = 50, nextToken }) => {
    const all = [...runs.values()].filter((r) => r.applicationId === applicationId).reverse();
    const start = nextToken ? Number(nextToken) : 0;
    const page = all.slice(start, start + maxResults).map((r) => ({ applicationId: r.applicationId, id: r.jobRunId, name: r.name, arn: r.arn, createdBy: r.createdBy, createdAt: r.createdAt, updatedAt: r.updatedAt, executionRole: r.executionRole, state: r.state, stateDetails: r.stateDetails, releaseLabel: r.releaseLabel }));
    return { jobRuns: page, nextToken: start + maxResults < all.length ? String(start + maxResults) : undefined };
  });
  answer(EmrGetJobRunCommand, async ({ applicationId, jobRunId }) => {
    const run = runs.get(jobRunId);
    if (!run || run.applicationId !== applicationId) throw awsError("ResourceNotFoundException", `Job run ${jobRunId} does not exist`, 404);
    return { jobRun: run };
  });
  answer(CancelJobRunCommand, async ({ applicationId, jobRunId }) => {
    fake.stopped.push(jobRunId);
    return { applicationId, jobRunId };
  });
  return fake;
}

export const ENGINE_FAKES: Array<() => FakeEngine> = [() => fakeGlue(), () => fakeAthena(), () => fakeEmrServerless()];
