import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { ArrivalsTable } from "../../../functions/data-arrival/arrivals-table";
import { emptySummary } from "../../../functions/data-arrival/deps";
import { decodeS3Key, handleS3Records } from "../../../functions/data-arrival/uploads";
import { awsError, silentLogger } from "../fakes";
import { arrivalHarness, CONFIG, NOW, s3Record } from "./harness";

describe("data-arrival S3 uploads", () => {
  it("decodes keys the way S3 encodes them", () => {
    expect(decodeS3Key("raw/orders/my+file%282%29.csv")).to.equal("raw/orders/my file(2).csv");
    expect(decodeS3Key("raw/orders/a%2Bb.csv")).to.equal("raw/orders/a+b.csv");
    expect(decodeS3Key("raw/orders/caf%C3%A9.csv")).to.equal("raw/orders/café.csv");
  });

  describe("against the table", () => {
    let h: Awaited<ReturnType<typeof arrivalHarness>>;
    beforeEach(async () => (h = await arrivalHarness()));
    afterEach(() => h.close());

    it("records several records, decoding keys, and ignores foreign, folder, removed and unmapped objects", async () => {
      const summary = emptySummary();
      await handleS3Records(
        h.deps,
        [
          s3Record({ key: "raw/orders/Orders+Data%202026.csv", eventTime: "2026-11-23T12:01:00.000Z", sequencer: "01" }),
          s3Record({ key: "raw/clicks/m.csv", eventTime: "2026-11-23T12:02:00Z", sequencer: "02" }),
          s3Record({ key: "raw/orders/other.csv", eventTime: "2026-11-23T12:03:00.000Z", bucket: "someone-elses-bucket" }),
          s3Record({ key: "raw/orders/", eventTime: "2026-11-23T12:04:00.000Z" }),
          s3Record({ key: "processed/orders/part-0.parquet", eventTime: "2026-11-23T12:05:00.000Z" }),
          s3Record({ key: "raw/orders/gone.csv", eventTime: "2026-11-23T12:06:00.000Z", eventName: "ObjectRemoved:Delete" }),
          { not: "an S3 record" },
        ],
        summary,
      );
      expect(summary).to.include({ uploadsRecorded: 2, ignored: 5, duplicates: 0, errors: 0 });
      const orders = await h.deps.table.unconsumedArrivals("orders", "2000");
      expect(orders).to.deep.equal([
        { dataset: "orders", bucket: CONFIG.dataBucket, key: "raw/orders/Orders Data 2026.csv", size: 1234, eTag: "etag-1", eventTime: "2026-11-23T12:01:00.000Z", sequencer: "01" },
      ]);
      // Event times are normalized, so sort keys compare as times.
      expect((await h.deps.table.unconsumedArrivals("clicks", "2000"))[0].eventTime).to.equal("2026-11-23T12:02:00.000Z");
    });

    it("treats a duplicate event as a no-op", async () => {
      const record = s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:01:00.000Z" });
      const summary = emptySummary();
      await handleS3Records(h.deps, [record, record], summary);
      await handleS3Records(h.deps, [record], summary);
      expect(summary).to.include({ uploadsRecorded: 1, duplicates: 2 });
      expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(1);
      expect(h.sfn.calls()).to.have.length(0);
    });

    it("records a late event (older than others) as its own upload", async () => {
      const summary = emptySummary();
      await handleS3Records(h.deps, [s3Record({ key: "raw/orders/b.csv", eventTime: "2026-11-23T12:05:00.000Z", sequencer: "02" })], summary);
      await handleS3Records(h.deps, [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:01:00.000Z", sequencer: "01" })], summary);
      const keys = (await h.deps.table.unconsumedArrivals("orders", "2000")).map((a) => a.key);
      expect(keys).to.deep.equal(["raw/orders/a.csv", "raw/orders/b.csv"]);
    });
  });

  it("throws, naming the key, when an upload cannot be recorded (so Lambda retries the event)", async () => {
    const ddbClient = new DynamoDBClient({ region: "us-east-1" });
    const ddb = mockClient(ddbClient);
    ddb.on(PutItemCommand).rejects(awsError("InternalServerError", "DynamoDB is down", 500));
    const sfnClient = new SFNClient({ region: "us-east-1" });
    const sfn = mockClient(sfnClient);
    const deps = { sfn: sfnClient, table: new ArrivalsTable(ddbClient, "t", 30), config: CONFIG, logger: silentLogger(), now: () => NOW };
    const summary = emptySummary();
    let thrown: unknown;
    await handleS3Records(deps, [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:01:00.000Z" })], summary).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.include("raw/orders/a.csv").and.include("DynamoDB is down");
    expect(summary.errors).to.equal(1);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(0);
  });
});
