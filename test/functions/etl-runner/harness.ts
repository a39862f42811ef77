// A runner wired to mocked SFN, Glue and DynamoDB clients (aws-sdk-client-mock), for unit tests.
import { DynamoDBClient, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { JobSpecs } from "../../../functions/etl-runner/job-specs";
import { Publisher } from "../../../functions/etl-runner/publish";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import type { RunnerDeps } from "../../../functions/etl-runner/deps";
import { GlueEngine, type GlueClients } from "../../../functions/etl-runner/engines/glue";
import { engineRegistry } from "../../../functions/etl-runner/engines/registry";
import { RunsTable, type RunItem } from "../../../functions/etl-runner/runs-table";
import { silentLogger } from "../fakes";

export const NOW = new Date("2026-11-23T12:00:00.000Z");
export const ACTIVITY_ARN = "arn:aws:states:us-east-1:123456789012:activity:etl-dev-etl-runner";

/** The runner's environment as the stack sets it. */
export const RUNNER_ENV = {
  ACTIVITY_ARN,
  TABLE_NAME: "etl-dev-active-job-runs",
  RUN_TTL_DAYS: "14",
  MAX_TASKS_PER_INVOCATION: "10",
  ENGINE_CONCURRENCY: "8",
  JOB_ENGINES: JSON.stringify({ "etl-dev-LoadOrders": "glue", "etl-dev-CleanClicks": "athena", "etl-dev-JoinAll": "emr-serverless" }),
  JOB_SPECS_URI: "s3://artifacts-etl-dev-1/glue-scripts/jobs/",
  EVENT_SOURCE: "etl.dev.workflow",
};

export function runnerHarness(overrides: Partial<RunnerDeps["config"]> = {}) {
  const sfn = new SFNClient({ region: "us-east-1" });
  const glue = new GlueClient({ region: "us-east-1" });
  const ddb = new DynamoDBClient({ region: "us-east-1" });
  const s3 = new S3Client({ region: "us-east-1" });
  const logger = silentLogger();
  const deps: RunnerDeps = {
    sfn,
    engines: glueEngines({ glue }, logger),
    publisher: new Publisher(() => s3, new JobSpecs(() => s3, undefined)),
    table: new RunsTable(ddb, "etl-dev-active-job-runs", 14),
    config: { activityArn: ACTIVITY_ARN, tableName: "etl-dev-active-job-runs", runTtlDays: 14, maxTasksPerInvocation: 10, engineConcurrency: 4, jobEngines: {}, eventSource: "etl.dev.workflow", ...overrides },
    logger,
    now: () => NOW,
  };
  return { deps, sfn: mockClient(sfn), glue: mockClient(glue), ddb: mockClient(ddb) };
}

/** A stored item as DynamoDB returns it. */
export function itemAttributes(item: Partial<RunItem> & { jobName: string; taskId: string }): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {
    jobName: { S: item.jobName },
    taskId: { S: item.taskId },
    taskToken: { S: item.taskToken ?? `token-${item.taskId}` },
    status: { S: item.status ?? "RUNNING" },
    taskInput: { S: item.taskInput ?? JSON.stringify({ JobName: item.jobName }) },
    claimedAt: { S: item.claimedAt ?? NOW.toISOString() },
    expiresAt: { N: "1900000000" },
  };
  if (item.jobRunId) attributes.jobRunId = { S: item.jobRunId };
  if (item.executionArn) attributes.executionArn = { S: item.executionArn };
  if (item.runnerVersion !== undefined) attributes.runnerVersion = { N: String(item.runnerVersion) };
  return attributes;
}

/** Every job on Glue, through these clients. */
export function glueEngines(clients: GlueClients, logger = silentLogger()) {
  return engineRegistry({}, { glue: () => new GlueEngine(clients, logger) });
}
