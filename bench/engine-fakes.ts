// In-process fakes of the three engines' AWS APIs at scale, for the runner-scale benchmark: the calls the runner's
// adapters make, answered with AWS's shapes and page sizes (Glue GetJobRuns up to 200 per page, Athena
// BatchGetQueryExecution at most 50 ids, EMR Serverless ListJobRuns up to 50 per page), newest first. Every run
// is RUNNING. Calls are counted per operation on each client's mock.
import { AthenaClient, BatchGetQueryExecutionCommand, GetQueryExecutionCommand, type QueryExecution } from "@aws-sdk/client-athena";
import { EMRServerlessClient, GetJobRunCommand as EmrGetJobRunCommand, ListJobRunsCommand, type JobRun as EmrJobRun } from "@aws-sdk/client-emr-serverless";
import { GetJobRunCommand, GetJobRunsCommand, GlueClient, type JobRun } from "@aws-sdk/client-glue";
import { mockClient } from "aws-sdk-client-mock";
import { TASK_ID_ARGUMENT } from "../functions/etl-runner/engines/glue";

const region = "us-east-1";
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 400 } });

/** Calls by operation, from an aws-sdk-client-mock mock. */
function counter(mock: { calls(): Array<{ args: unknown[] }> }) {
  return (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const call of mock.calls()) {
      const name = (call.args[0] as object).constructor.name.replace(/Command$/, "");
      out[name] = (out[name] ?? 0) + 1;
    }
    return out;
  };
}

function page<T>(items: T[], size: number, token: string | undefined): { items: T[]; next?: string } {
  const start = token ? Number(token) : 0;
  return { items: items.slice(start, start + size), next: start + size < items.length ? String(start + size) : undefined };
}

export function scaleGlue() {
  const client = new GlueClient({ region });
  const mock = mockClient(client);
  const byJob = new Map<string, JobRun[]>();
  const byId = new Map<string, JobRun>();
  let n = 0;
  mock.on(GetJobRunsCommand).callsFake(async ({ JobName, MaxResults = 100, NextToken }) => {
    if (MaxResults > 200) throw awsError("InvalidInputException", "MaxResults is at most 200");
    const { items, next } = page(byJob.get(JobName) ?? [], MaxResults, NextToken);
    return { JobRuns: items, NextToken: next };
  });
  mock.on(GetJobRunCommand).callsFake(async ({ RunId }) => {
    const run = byId.get(RunId);
    if (!run) throw awsError("EntityNotFoundException", `run ${RunId} not found`);
    return { JobRun: run };
  });
  return {
    client,
    calls: counter(mock),
    reset: () => mock.resetHistory(),
    addRun(jobName: string, taskId: string): string {
      const run: JobRun = { Id: `jr_${++n}`, JobName: jobName, JobRunState: "RUNNING", Arguments: { [TASK_ID_ARGUMENT]: taskId }, StartedOn: new Date() };
      (byJob.get(jobName) ?? byJob.set(jobName, []).get(jobName)!).unshift(run);
      byId.set(run.Id!, run);
      return run.Id!;
    },
  };
}

export function scaleAthena() {
  const client = new AthenaClient({ region });
  const mock = mockClient(client);
  const executions = new Map<string, QueryExecution>();
  let n = 0;
  mock.on(BatchGetQueryExecutionCommand).callsFake(async ({ QueryExecutionIds }) => {
    if (QueryExecutionIds.length > 50) throw awsError("InvalidRequestException", "at most 50 ids");
    return {
      QueryExecutions: QueryExecutionIds.filter((id: string) => executions.has(id)).map((id: string) => executions.get(id)),
      UnprocessedQueryExecutionIds: QueryExecutionIds.filter((id: string) => !executions.has(id)).map((id: string) => ({ QueryExecutionId: id, ErrorCode: "INVALID_INPUT" })),
    };
  });
  mock.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }) => {
    if (!executions.has(QueryExecutionId)) throw awsError("InvalidRequestException", `QueryExecution ${QueryExecutionId} was not found`);
    return { QueryExecution: executions.get(QueryExecutionId) };
  });
  return {
    client,
    calls: counter(mock),
    reset: () => mock.resetHistory(),
    addRun(workGroup: string, query: string): string {
      const id = `q-${++n}`;
      executions.set(id, { QueryExecutionId: id, Query: query, WorkGroup: workGroup, Status: { State: "RUNNING", SubmissionDateTime: new Date() } });
      return id;
    },
  };
}

export function scaleEmrServerless() {
  const client = new EMRServerlessClient({ region });
  const mock = mockClient(client);
  const byApplication = new Map<string, EmrJobRun[]>();
  const byId = new Map<string, EmrJobRun>();
  let n = 0;
  mock.on(ListJobRunsCommand).callsFake(async ({ applicationId, maxResults = 50, nextToken }) => {
    if (maxResults > 50) throw awsError("ValidationException", "maxResults is at most 50");
    const { items, next } = page(byApplication.get(applicationId) ?? [], maxResults, nextToken);
    const jobRuns = items.map((r) => ({ applicationId: r.applicationId, id: r.jobRunId, name: r.name, arn: r.arn, createdBy: r.createdBy, createdAt: r.createdAt, updatedAt: r.updatedAt, executionRole: r.executionRole, state: r.state, stateDetails: r.stateDetails, releaseLabel: r.releaseLabel }));
    return { jobRuns, nextToken: next };
  });
  mock.on(EmrGetJobRunCommand).callsFake(async ({ jobRunId }) => {
    const run = byId.get(jobRunId);
    if (!run) throw awsError("ResourceNotFoundException", `Job run ${jobRunId} does not exist`);
    return { jobRun: run };
  });
  return {
    client,
    calls: counter(mock),
    reset: () => mock.resetHistory(),
    addRun(applicationId: string, name: string, executionRole: string): string {
      const id = `00f${String(++n).padStart(13, "0")}`;
      const at = new Date();
      const run: EmrJobRun = { applicationId, jobRunId: id, name, arn: `arn:aws:emr-serverless:${region}:000000000000:/applications/${applicationId}/jobruns/${id}`, createdBy: "runner", createdAt: at, updatedAt: at, executionRole, state: "RUNNING", stateDetails: "", releaseLabel: "emr-7.9.0", jobDriver: undefined };
      (byApplication.get(applicationId) ?? byApplication.set(applicationId, []).get(applicationId)!).unshift(run);
      byId.set(id, run);
      return id;
    },
  };
}
