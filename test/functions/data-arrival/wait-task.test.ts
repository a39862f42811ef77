import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { ArrivalsTable } from "../../../functions/data-arrival/arrivals-table";
import { emptySummary } from "../../../functions/data-arrival/deps";
import { handleS3Records } from "../../../functions/data-arrival/uploads";
import { acceptWaitTask } from "../../../functions/data-arrival/wait-task";
import { awsError, silentLogger, withFakePauses } from "../fakes";
import { arrivalHarness, BUCKET, CONFIG, NOW, s3Record, waitTask } from "./harness";

const EXEC = "arn:aws:states:us-east-1:123456789012:execution:etl-dev-workflow:run-1";

describe("data-arrival wait tasks", () => {
  let h: Awaited<ReturnType<typeof arrivalHarness>>;
  beforeEach(async () => (h = await arrivalHarness()));
  afterEach(() => h.close());

  const badInputs: Array<[string, unknown, RegExp]> = [
    ["missing dataSince", { dataset: "orders", executionArn: EXEC }, /dataSince/],
    ["a dataSince that is not ISO-8601", { dataset: "orders", executionArn: EXEC, dataSince: "yesterday" }, /dataSince/],
    ["a numeric executionArn", { dataset: "orders", executionArn: 42, dataSince: "2026-11-23T11:00:00Z" }, /executionArn/],
    ["another activity's dataset", { dataset: "clicks", executionArn: EXEC, dataSince: "2026-11-23T11:00:00Z" }, /dataset: 'clicks' is not this activity's dataset 'orders'/],
    ["input that is not JSON", "not json", /not JSON/],
  ];
  for (const [name, input, cause] of badInputs) {
    it(`fails a task with ${name} with InvalidTaskInput naming the field`, async () => {
      const summary = emptySummary();
      await acceptWaitTask(h.deps, "orders", waitTask("tok", input as Record<string, unknown>), summary);
      const failure = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
      expect(failure).to.include({ taskToken: "tok", error: "InvalidTaskInput" });
      expect(failure.cause).to.match(cause);
      expect(await h.deps.table.waits("orders")).to.have.length(0);
      expect(summary.tasksRejected).to.equal(1);
    });
  }

  it("retries the InvalidTaskInput report when SFN is throttling", async () => {
    h.sfn.on(SendTaskFailureCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded")).resolves({});
    const attempts = () => h.sfn.commandCalls(SendTaskFailureCommand).length;
    const pauses = await withFakePauses(() => acceptWaitTask(h.deps, "orders", waitTask("tok", "not json"), emptySummary()), attempts);
    expect(pauses, "sendFinalTaskFailure's first default pause").to.deep.equal([200]);
    expect(h.sfn.commandCalls(SendTaskFailureCommand)).to.have.length(2);
  });

  it("releases the wait with an upload that arrived before it (arrival first)", async () => {
    await handleS3Records(h.deps, [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:01:00.000Z", size: 99, eTag: "e1" })], emptySummary());
    expect(h.sfn.calls()).to.have.length(0);
    const summary = emptySummary();
    await acceptWaitTask(h.deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z" }), summary);
    const success = h.sfn.commandCalls(SendTaskSuccessCommand);
    expect(success).to.have.length(1);
    expect(success[0].args[0].input.taskToken).to.equal("tok");
    expect(JSON.parse(success[0].args[0].input.output!)).to.deep.equal({
      dataset: "orders",
      bucket: BUCKET,
      key: "raw/orders/a.csv",
      size: 99,
      eTag: "e1",
      eventTime: "2026-11-23T12:01:00.000Z",
    });
    expect(summary).to.include({ waitsParked: 1, released: 1 });
    expect(await h.deps.table.waits("orders")).to.have.length(0);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(0);
  });

  it("releases a parked wait when the upload comes later (wait first)", async () => {
    await acceptWaitTask(h.deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00Z" }), emptySummary());
    expect(h.sfn.calls()).to.have.length(0);
    expect(await h.deps.table.waits("orders")).to.deep.equal([{ dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z", taskToken: "tok" }]);
    const summary = emptySummary();
    await handleS3Records(h.deps, [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:01:00.000Z" })], summary);
    expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(1);
    expect(summary.released).to.equal(1);
  });

  it("does not release a wait with a stale object (uploaded before dataSince)", async () => {
    await handleS3Records(h.deps, [s3Record({ key: "raw/orders/old.csv", eventTime: "2026-11-23T11:59:59.999Z" })], emptySummary());
    await acceptWaitTask(h.deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z" }), emptySummary());
    expect(h.sfn.calls()).to.have.length(0);
    expect(await h.deps.table.waits("orders")).to.have.length(1);
    // A fresh upload then releases it, with the fresh object.
    await handleS3Records(h.deps, [s3Record({ key: "raw/orders/new.csv", eventTime: "2026-11-23T12:00:00.000Z" })], emptySummary());
    expect(JSON.parse(h.sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).key).to.equal("raw/orders/new.csv");
  });

  it("compares times, not strings, when dataSince has an offset", async () => {
    await handleS3Records(h.deps, [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:30:00.000Z" })], emptySummary());
    // 13:00+02:00 is 11:00Z: the 12:30Z upload counts.
    await acceptWaitTask(h.deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T13:00:00+02:00" }), emptySummary());
    expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(1);
  });

  it("does not release a wait of another dataset", async () => {
    await handleS3Records(h.deps, [s3Record({ key: "raw/clicks/m.csv", eventTime: "2026-11-23T12:01:00.000Z" })], emptySummary());
    await acceptWaitTask(h.deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z" }), emptySummary());
    expect(h.sfn.calls()).to.have.length(0);
  });
});

describe("data-arrival wait tasks when DynamoDB is down", () => {
  it("fails the task with DataArrivalError instead of dropping its token", async () => {
    const ddbClient = new DynamoDBClient({ region: "us-east-1" });
    mockClient(ddbClient).on(PutItemCommand).rejects(awsError("InternalServerError", "DynamoDB is down", 500));
    const sfnClient = new SFNClient({ region: "us-east-1" });
    const sfn = mockClient(sfnClient);
    const deps = { sfn: sfnClient, table: new ArrivalsTable(ddbClient, "etl-dev-data-arrivals", 30), config: CONFIG, logger: silentLogger(), now: () => NOW };
    const summary = emptySummary();
    await acceptWaitTask(deps, "orders", waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z" }), summary);
    const failure = sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(failure).to.include({ taskToken: "tok", error: "DataArrivalError" });
    expect(failure.cause).to.include("etl-dev-data-arrivals").and.include("DynamoDB is down");
    expect(summary.errors).to.equal(1);
  });

  it("retries the DataArrivalError report when SFN is throttling, and throws after a bounded number of attempts", async () => {
    const ddbClient = new DynamoDBClient({ region: "us-east-1" });
    mockClient(ddbClient).on(PutItemCommand).rejects(awsError("InternalServerError", "DynamoDB is down", 500));
    const sfnClient = new SFNClient({ region: "us-east-1" });
    const sfn = mockClient(sfnClient);
    sfn.on(SendTaskFailureCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded")).resolves({});
    const deps = { sfn: sfnClient, table: new ArrivalsTable(ddbClient, "etl-dev-data-arrivals", 30), config: CONFIG, logger: silentLogger(), now: () => NOW };
    const task = waitTask("tok", { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z" });
    // Each attempt after the first waits for a pause (on a fake clock, not waited out).
    const attempts = () => sfn.commandCalls(SendTaskFailureCommand).length;
    const pauses = await withFakePauses(() => acceptWaitTask(deps, "orders", task, emptySummary()), attempts);
    expect(sfn.commandCalls(SendTaskFailureCommand)).to.have.length(2);
    expect(pauses, "sendFinalTaskFailure's first default pause").to.deep.equal([200]);

    sfn.reset();
    sfn.on(SendTaskFailureCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    let thrown: unknown;
    const pausesThenThrown = await withFakePauses(() => acceptWaitTask(deps, "orders", task, emptySummary()).catch((e) => (thrown = e)), attempts);
    expect((thrown as Error).name).to.equal("ThrottlingException");
    expect(sfn.commandCalls(SendTaskFailureCommand)).to.have.length(3);
    expect(pausesThenThrown, "sendFinalTaskFailure's default pauses").to.deep.equal([200, 800]);
  });
});
