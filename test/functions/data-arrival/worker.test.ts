import { GetActivityTaskCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { runDataArrival } from "../../../functions/data-arrival/worker";
import { LONG_POLL_MARGIN_MS } from "../../../functions/shared/sfn";
import { activityArn, arrivalHarness, s3Record, waitTask } from "./harness";

const plenty = { workerName: "etl-dev-data-arrival/req-1", remainingMs: () => 120_000 };
const input = (dataset: string) => ({ dataset, executionArn: `arn:aws:states:us-east-1:1:execution:wf:${dataset}`, dataSince: "2026-11-23T12:00:00.000Z" });

describe("data-arrival invocation", () => {
  let h: Awaited<ReturnType<typeof arrivalHarness>>;
  beforeEach(async () => (h = await arrivalHarness()));
  afterEach(() => h.close());

  it("kick: polls that dataset's activity until an empty poll and parks its tasks", async () => {
    h.sfn.on(GetActivityTaskCommand).resolvesOnce(waitTask("tok-1", input("orders"))).resolves({});
    const summary = await runDataArrival(h.deps, { kind: "kick", dataset: "orders" }, plenty);
    const polls = h.sfn.commandCalls(GetActivityTaskCommand).map((c) => c.args[0].input);
    expect(polls).to.deep.equal([
      { activityArn: activityArn("orders"), workerName: plenty.workerName },
      { activityArn: activityArn("orders"), workerName: plenty.workerName },
    ]);
    expect(summary.waitsParked).to.equal(1);
  });

  it("kick for an unknown dataset throws naming it", async () => {
    let thrown: unknown;
    await runDataArrival(h.deps, { kind: "kick", dataset: "nope" }, plenty).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.include("'nope'").and.include("orders, clicks");
  });

  it("scheduled: re-matches parked waits with unused uploads, then polls every wait activity", async () => {
    // An upload recorded earlier whose release was interrupted, and a wait parked by an earlier invocation.
    await h.deps.table.recordArrival({ dataset: "clicks", bucket: "b", key: "raw/clicks/m.csv", size: 1, eTag: "e", eventTime: "2026-11-23T12:05:00.000Z", sequencer: "1" }, new Date());
    await h.deps.table.parkWait({ dataset: "clicks", executionArn: "arn:old", dataSince: "2026-11-23T12:00:00.000Z", taskToken: "tok-old" }, new Date());
    h.sfn.on(GetActivityTaskCommand, { activityArn: activityArn("orders") }).resolvesOnce(waitTask("tok-s", input("orders"))).resolves({});
    h.sfn.on(GetActivityTaskCommand, { activityArn: activityArn("clicks") }).resolves({});
    const summary = await runDataArrival(h.deps, { kind: "scheduled" }, plenty);
    const polled = h.sfn.commandCalls(GetActivityTaskCommand).map((c) => c.args[0].input.activityArn);
    expect(polled.filter((a) => a === activityArn("orders"))).to.have.length(2);
    expect(polled.filter((a) => a === activityArn("clicks"))).to.have.length(1);
    const released = h.sfn.commandCalls(SendTaskSuccessCommand);
    expect(released.map((c) => c.args[0].input.taskToken)).to.deep.equal(["tok-old"]);
    // Released before the clicks long-poll began, not after it ended.
    const clicksPoll = h.sfn.commandCalls(GetActivityTaskCommand).find((c) => c.args[0].input.activityArn === activityArn("clicks"))!;
    expect(released[0].calledBefore(clicksPoll)).to.equal(true);
    expect(summary).to.include({ waitsParked: 1, released: 1 });
  });

  it("starts no long-poll without time for it", async () => {
    await runDataArrival(h.deps, { kind: "scheduled" }, { ...plenty, remainingMs: () => LONG_POLL_MARGIN_MS });
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(0);
  });

  it("S3 event: records the uploads and ignores S3's test event", async () => {
    const summary = await runDataArrival(h.deps, { kind: "s3", records: [s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:00:00Z" })] }, plenty);
    expect(summary.uploadsRecorded).to.equal(1);
    expect(await runDataArrival(h.deps, { kind: "s3Test" }, plenty)).to.include({ uploadsRecorded: 0, ignored: 0 });
  });
});
