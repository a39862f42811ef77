// A data-arrival worker on dynalite (the real table API) with a mocked SFN client.
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { ARRIVAL_TABLE } from "../../../core/table-keys";
import { ArrivalsTable } from "../../../functions/data-arrival/arrivals-table";
import type { ArrivalConfig } from "../../../functions/data-arrival/config";
import type { ArrivalDeps } from "../../../functions/data-arrival/deps";
import { silentLogger, startDynalite } from "../fakes";

export const NOW = new Date("2026-11-23T12:00:00.000Z");
export const BUCKET = "etl-dev-data-lake-123456789012";
export const TABLE = "etl-dev-data-arrivals";
export const activityArn = (dataset: string) => `arn:aws:states:us-east-1:123456789012:activity:etl-dev-wait-for-${dataset}`;

export const CONFIG: ArrivalConfig = {
  tableName: TABLE,
  dataBucket: BUCKET,
  arrivalTtlDays: 30,
  eventSource: "etl.dev.workflow",
  datasets: {
    orders: { prefix: "raw/orders/", activityArn: activityArn("orders") },
    clicks: { prefix: "raw/clicks/", activityArn: activityArn("clicks") },
  },
};

export const ARRIVAL_ENV = {
  TABLE_NAME: TABLE,
  DATASETS: JSON.stringify(CONFIG.datasets),
  DATA_BUCKET: BUCKET,
  ARRIVAL_TTL_DAYS: "30",
  EVENT_SOURCE: "etl.dev.workflow",
};

export async function arrivalHarness() {
  const dynamo = await startDynalite();
  await dynamo.createTable(TABLE, ARRIVAL_TABLE);
  const sfnClient = new SFNClient({ region: "us-east-1" });
  const deps: ArrivalDeps = { sfn: sfnClient, table: new ArrivalsTable(dynamo.ddb, TABLE, 30), config: CONFIG, logger: silentLogger(), now: () => NOW };
  return { deps, dynamo, sfn: mockClient(sfnClient), close: () => dynamo.close() };
}

export interface UploadEvent {
  key: string;
  eventTime: string;
  bucket?: string;
  size?: number;
  eTag?: string;
  sequencer?: string;
  eventName?: string;
}

/** One S3 notification record as S3 sends it (the key URL-encoded by the caller). */
export function s3Record(u: UploadEvent) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventTime: u.eventTime,
    eventName: u.eventName ?? "ObjectCreated:Put",
    s3: {
      s3SchemaVersion: "1.0",
      bucket: { name: u.bucket ?? BUCKET, arn: `arn:aws:s3:::${u.bucket ?? BUCKET}` },
      object: { key: u.key, size: u.size ?? 1234, eTag: u.eTag ?? "etag-1", sequencer: u.sequencer ?? "0055AED6DCD90281E5" },
    },
  };
}

/** A wait task as GetActivityTask hands it out. */
export function waitTask(token: string, input: Record<string, unknown> | string) {
  return { taskToken: token, input: typeof input === "string" ? input : JSON.stringify(input) };
}
