// A runner wired to mocked SFN, Glue and DynamoDB clients (aws-sdk-client-mock), for unit tests.
import { DynamoDBClient, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import type { RunnerDeps } from "../../../functions/glue-runner/deps";
import { RunsTable, type RunItem } from "../../../functions/glue-runner/runs-table";
import { silentLogger } from "../fakes";

export const NOW = new Date("2026-11-23T12:00:00.000Z");
export const ACTIVITY_ARN = "arn:aws:states:us-east-1:123456789012:activity:etl-dev-glue-runner";

/** The runner's environment as the stack sets it. */
export const RUNNER_ENV = {
  ACTIVITY_ARN,
  TABLE_NAME: "etl-dev-active-job-runs",
  RUN_TTL_DAYS: "14",
  MAX_TASKS_PER_INVOCATION: "10",
  GLUE_CONCURRENCY: "8",
};

export function runnerHarness(overrides: Partial<RunnerDeps["config"]> = {}) {
  const sfn = new SFNClient({ region: "us-east-1" });
  const glue = new GlueClient({ region: "us-east-1" });
  const ddb = new DynamoDBClient({ region: "us-east-1" });
  const deps: RunnerDeps = {
    sfn,
    glue,
    table: new RunsTable(ddb, "etl-dev-active-job-runs", 14),
    config: { activityArn: ACTIVITY_ARN, tableName: "etl-dev-active-job-runs", runTtlDays: 14, maxTasksPerInvocation: 10, glueConcurrency: 4, ...overrides },
    logger: silentLogger(),
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
  return attributes;
}
