// The active-job-runs table: one item per runner task, keyed jobName + taskId (see docs/architecture.md).
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { RUNNER_TABLE } from "../../core/table-keys";
import { allPages, conditionalWrite, expiresAt, type Attributes } from "../shared/dynamo";

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = RUNNER_TABLE;

export type RunStatus = "STARTING" | "RUNNING";

/**
 * The version of the runner that claimed a task, written on its item. 2: an Athena run's statements are kept at its
 * start. An item without it was claimed by an earlier runner (its run may have no kept statements).
 */
export const RUNNER_VERSION = 2;

export interface RunItem {
  jobName: string;
  taskId: string;
  taskToken: string;
  status: RunStatus;
  /** The task input as received, so a start can be retried by another invocation. */
  taskInput: string;
  claimedAt: string;
  jobRunId?: string;
  /** The task input's optional `executionArn`, for logs. */
  executionArn?: string;
  /** The execution's name from `Arguments["--etl_execution"]` (the ASL passes `$$.Execution.Name`), for logs. */
  executionName?: string;
  startedAt?: string;
  /** RUNNER_VERSION of the runner that claimed the task; undefined: claimed by a runner before version 2. */
  runnerVersion?: number;
}

/** Whether the item's task was claimed by a runner before RUNNER_VERSION 2 (before Athena kept its statements). */
export const claimedByEarlierRunner = (item: RunItem) => item.runnerVersion === undefined;

function toAttributes(item: RunItem, expiresAt: number): Attributes {
  const attributes: Attributes = {
    [PK]: { S: item.jobName },
    [SK]: { S: item.taskId },
    taskToken: { S: item.taskToken },
    status: { S: item.status },
    taskInput: { S: item.taskInput },
    claimedAt: { S: item.claimedAt },
    [TTL]: { N: String(expiresAt) },
  };
  if (item.jobRunId) attributes.jobRunId = { S: item.jobRunId };
  if (item.executionArn) attributes.executionArn = { S: item.executionArn };
  if (item.executionName) attributes.executionName = { S: item.executionName };
  if (item.startedAt) attributes.startedAt = { S: item.startedAt };
  if (item.runnerVersion !== undefined) attributes.runnerVersion = { N: String(item.runnerVersion) };
  return attributes;
}

/** Undefined for an item that is not a run item (it is logged and left alone by the caller). */
export function fromAttributes(attributes: Attributes): RunItem | undefined {
  const text = (name: string) => attributes[name]?.S;
  const [jobName, taskId, taskToken, status, claimedAt] = [text(PK), text(SK), text("taskToken"), text("status"), text("claimedAt")];
  if (!jobName || !taskId || !taskToken || !claimedAt || (status !== "STARTING" && status !== "RUNNING")) return undefined;
  return {
    jobName,
    taskId,
    taskToken,
    status,
    claimedAt,
    taskInput: text("taskInput") ?? "{}",
    jobRunId: text("jobRunId"),
    executionArn: text("executionArn"),
    executionName: text("executionName"),
    startedAt: text("startedAt"),
    runnerVersion: attributes.runnerVersion?.N !== undefined ? Number(attributes.runnerVersion.N) : undefined,
  };
}

// DynamoDB rejects attribute names that an expression does not use.
function usedNames(expression: string, names: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(names).filter(([placeholder]) => expression.includes(placeholder)));
}

export class RunsTable {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
    private readonly ttlDays: number,
  ) {}

  private key(jobName: string, taskId: string): Attributes {
    return { [PK]: { S: jobName }, [SK]: { S: taskId } };
  }

  /** Records a new STARTING claim; false when the task was already claimed. */
  async claim(item: RunItem, now: Date): Promise<boolean> {
    const command = new PutItemCommand({
      TableName: this.tableName,
      Item: toAttributes(item, expiresAt(now, this.ttlDays)),
      ConditionExpression: "attribute_not_exists(#sk)",
      ExpressionAttributeNames: { "#sk": SK },
    });
    return conditionalWrite(() => this.ddb.send(command));
  }

  /** Takes over a STARTING claim whose holder stalled; false when someone else changed it first. */
  async reclaim(item: RunItem, claimedAt: string): Promise<boolean> {
    return this.update(item, "SET claimedAt = :new", "#status = :starting AND claimedAt = :old", {
      ":new": { S: claimedAt },
      ":old": { S: item.claimedAt },
      ":starting": { S: "STARTING" },
    });
  }

  /**
   * Records the Glue run of a task whose STARTING claim `item.claimedAt` this invocation still holds.
   * False when the item is gone or another invocation re-claimed it (or recorded another run): the
   * caller's run is then nobody's. Recording the same run again (already adopted) succeeds.
   */
  async markRunning(item: RunItem, jobRunId: string, startedAt: string): Promise<boolean> {
    return this.update(item, "SET #status = :running, jobRunId = :run, startedAt = :at", "(#status = :starting AND claimedAt = :mine) OR jobRunId = :run", {
      ":running": { S: "RUNNING" },
      ":starting": { S: "STARTING" },
      ":mine": { S: item.claimedAt },
      ":run": { S: jobRunId },
      ":at": { S: startedAt },
    });
  }

  /**
   * Claims answering the task of an ended run (publishing its result, answering SFN, removing the item) at `at`,
   * held until `until`: false when the item is gone or another cycle's claim still holds at `at`. A claim without
   * `answerClaimUntil` (made by a runner before it existed) holds while it was made after `legacyExpiredBefore`.
   */
  async claimAnswer(item: RunItem, at: string, until: string, legacyExpiredBefore: string): Promise<boolean> {
    return this.update(
      item,
      "SET answeringAt = :at, answerClaimUntil = :until",
      "attribute_exists(#sk) AND (attribute_not_exists(answeringAt) OR answerClaimUntil <= :at OR (attribute_not_exists(answerClaimUntil) AND answeringAt <= :legacy))",
      { ":at": { S: at }, ":until": { S: until }, ":legacy": { S: legacyExpiredBefore } },
    );
  }

  /** Gives up the claim made at `at` (the task stays open), so the next cycle answers without waiting for it to expire. */
  async releaseAnswer(item: RunItem, at: string): Promise<boolean> {
    return this.update(item, "REMOVE answeringAt, answerClaimUntil", "answeringAt = :at", { ":at": { S: at } });
  }

  private async update(item: RunItem, update: string, condition: string, values: Attributes): Promise<boolean> {
    const names = Object.entries(usedNames(`${update} ${condition}`, { "#sk": SK, "#status": "status" }));
    const command = new UpdateItemCommand({
      TableName: this.tableName,
      Key: this.key(item.jobName, item.taskId),
      UpdateExpression: update,
      ConditionExpression: condition,
      ...(names.length > 0 && { ExpressionAttributeNames: Object.fromEntries(names) }),
      ExpressionAttributeValues: values,
    });
    return conditionalWrite(() => this.ddb.send(command));
  }

  async remove(item: RunItem): Promise<void> {
    await this.ddb.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key(item.jobName, item.taskId) }));
  }

  /** Every item, all pages. Items that are not run items are returned in `unreadable`. */
  async scanAll(): Promise<{ items: RunItem[]; unreadable: number }> {
    const raw = await allPages((startKey) => this.ddb.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey, ConsistentRead: true })));
    const items: RunItem[] = [];
    for (const attributes of raw) {
      const item = fromAttributes(attributes);
      if (item) items.push(item);
    }
    return { items, unreadable: raw.length - items.length };
  }

  /** The items of one job's partition, all pages. */
  async queryJob(jobName: string): Promise<RunItem[]> {
    const raw = await allPages((startKey) =>
      this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :job",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":job": { S: jobName } },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      ),
    );
    const items: RunItem[] = [];
    for (const attributes of raw) {
      const item = fromAttributes(attributes);
      if (item) items.push(item);
    }
    return items;
  }
}
