import { expect } from "chai";
import { parseArrivalEvent } from "../../../functions/data-arrival/events";
import { s3Record } from "./harness";

describe("data-arrival events", () => {
  it("recognizes S3 notifications, kicks, the fallback schedule and S3's test event", () => {
    const record = s3Record({ key: "raw/orders/a.csv", eventTime: "2026-11-23T12:00:00.000Z" });
    expect(parseArrivalEvent({ Records: [record] })).to.deep.equal({ kind: "s3", records: [record] });
    expect(parseArrivalEvent({ "detail-type": "WaitTaskScheduled", detail: { dataset: "orders", executionArn: "arn:x" } })).to.deep.equal({ kind: "kick", dataset: "orders" });
    expect(parseArrivalEvent({ "detail-type": "Scheduled Event", source: "aws.events" })).to.deep.equal({ kind: "scheduled" });
    expect(parseArrivalEvent({ Service: "Amazon S3", Event: "s3:TestEvent" })).to.deep.equal({ kind: "s3Test" });
  });

  it("rejects a kick without a dataset and unknown events, naming the detail-type", () => {
    expect(() => parseArrivalEvent({ "detail-type": "WaitTaskScheduled", detail: {} })).to.throw(/"WaitTaskScheduled"/);
    expect(() => parseArrivalEvent({ "detail-type": "Glue Job State Change" })).to.throw(/"Glue Job State Change"/);
  });
});
