// The data-arrivals table: uploads (ARRIVAL#<dataset>) and parked wait tokens (WAIT#<dataset>),
// see docs/architecture.md.
import { createHash } from "node:crypto";
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { ARRIVAL_TABLE } from "../../core/table-keys";
import { allPages, conditionalWrite, expiresAt, type Attributes } from "../shared/dynamo";

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = ARRIVAL_TABLE;

/** An upload; also the wait task's output (without `sequencer`). */
export interface Arrival {
  dataset: string;
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  /** ISO-8601, normalized with toISOString so that sort keys compare as times. */
  eventTime: string;
  sequencer: string;
}

export interface ParkedWait {
  dataset: string;
  executionArn: string;
  /** ISO-8601, normalized like Arrival.eventTime. */
  dataSince: string;
  taskToken: string;
}

/** DynamoDB's limit on a sort key; S3 keys alone may take 1,024 bytes. */
const MAX_SORT_KEY_BYTES = 1024;

export function arrivalSortKey(a: Pick<Arrival, "eventTime" | "key" | "sequencer">): string {
  const sortKey = `${a.eventTime}#${a.key}#${a.sequencer}`;
  if (Buffer.byteLength(sortKey) <= MAX_SORT_KEY_BYTES) return sortKey;
  // Too long: the key's hash keeps the item unique (the key itself stays in the `key` attribute).
  return `${a.eventTime}#sha256:${createHash("sha256").update(a.key).digest("hex")}#${a.sequencer}`;
}

const arrivalKey = (a: Pick<Arrival, "dataset" | "eventTime" | "key" | "sequencer">): Attributes => ({
  [PK]: { S: `ARRIVAL#${a.dataset}` },
  [SK]: { S: arrivalSortKey(a) },
});

const waitKey = (w: Pick<ParkedWait, "dataset" | "dataSince" | "executionArn">): Attributes => ({
  [PK]: { S: `WAIT#${w.dataset}` },
  [SK]: { S: `${w.dataSince}#${w.executionArn}` },
});

export class ArrivalsTable {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
    private readonly ttlDays: number,
  ) {}

  private expiresAt(now: Date): AttributeValue {
    return { N: String(expiresAt(now, this.ttlDays)) };
  }

  /** Records an upload; "duplicate" when the same event was recorded before. */
  async recordArrival(a: Arrival, now: Date): Promise<"recorded" | "duplicate"> {
    const command = new PutItemCommand({
      TableName: this.tableName,
      Item: {
        ...arrivalKey(a),
        bucket: { S: a.bucket },
        key: { S: a.key },
        size: { N: String(a.size) },
        eTag: { S: a.eTag },
        eventTime: { S: a.eventTime },
        sequencer: { S: a.sequencer },
        [TTL]: this.expiresAt(now),
      },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": PK },
    });
    return (await conditionalWrite(() => this.ddb.send(command))) ? "recorded" : "duplicate";
  }

  async parkWait(w: ParkedWait, now: Date): Promise<void> {
    await this.ddb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...waitKey(w),
          taskToken: { S: w.taskToken },
          executionArn: { S: w.executionArn },
          dataSince: { S: w.dataSince },
          [TTL]: this.expiresAt(now),
        },
      }),
    );
  }

  /** Parked waits of a dataset, oldest dataSince first (strongly consistent, all pages). */
  async waits(dataset: string): Promise<ParkedWait[]> {
    const items = await this.query(`WAIT#${dataset}`);
    return items.flatMap((i) =>
      i.taskToken?.S && i.executionArn?.S && i.dataSince?.S
        ? [{ dataset, taskToken: i.taskToken.S, executionArn: i.executionArn.S, dataSince: i.dataSince.S }]
        : [],
    );
  }

  /** Unconsumed uploads of a dataset with eventTime >= since, oldest first (strongly consistent, all pages). */
  async unconsumedArrivals(dataset: string, since: string): Promise<Arrival[]> {
    const items = await this.query(`ARRIVAL#${dataset}`, since, "attribute_not_exists(consumedBy)");
    return items.flatMap((i) =>
      i.key?.S && i.eventTime?.S
        ? [
            {
              dataset,
              bucket: i.bucket?.S ?? "",
              key: i.key.S,
              size: Number(i.size?.N ?? 0),
              eTag: i.eTag?.S ?? "",
              eventTime: i.eventTime.S,
              sequencer: i.sequencer?.S ?? "",
            },
          ]
        : [],
    );
  }

  /** Marks an upload as used by one execution; false when another took it first. */
  async claimArrival(a: Arrival, executionArn: string): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: arrivalKey(a),
        UpdateExpression: "SET consumedBy = :arn",
        ConditionExpression: "attribute_exists(#pk) AND attribute_not_exists(consumedBy)",
        ExpressionAttributeNames: { "#pk": PK },
        ExpressionAttributeValues: { ":arn": { S: executionArn } },
      }),
    );
  }

  /** Gives an upload back (its execution's wait could not be released). */
  async unclaimArrival(a: Arrival, executionArn: string): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: arrivalKey(a),
        UpdateExpression: "REMOVE consumedBy",
        ConditionExpression: "consumedBy = :arn",
        ExpressionAttributeValues: { ":arn": { S: executionArn } },
      }),
    );
  }

  /** Deletes the parked wait holding this token; false when someone else removed or replaced it. */
  async deleteWait(w: ParkedWait): Promise<boolean> {
    return this.conditional(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: waitKey(w),
        ConditionExpression: "taskToken = :token",
        ExpressionAttributeValues: { ":token": { S: w.taskToken } },
      }),
    );
  }

  private conditional(command: UpdateItemCommand | DeleteItemCommand): Promise<boolean> {
    return conditionalWrite(() => this.ddb.send(command as UpdateItemCommand));
  }

  private query(pk: string, sinceSortKey?: string, filter?: string): Promise<Attributes[]> {
    return allPages((startKey) =>
      this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: sinceSortKey ? "#pk = :pk AND #sk >= :since" : "#pk = :pk",
          FilterExpression: filter,
          ExpressionAttributeNames: sinceSortKey ? { "#pk": PK, "#sk": SK } : { "#pk": PK },
          ExpressionAttributeValues: { ":pk": { S: pk }, ...(sinceSortKey ? { ":since": { S: sinceSortKey } } : {}) },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      ),
    );
  }
}
