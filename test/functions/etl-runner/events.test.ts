import { expect } from "chai";
import { parseRunnerEvent } from "../../../functions/etl-runner/events";

describe("etl-runner events", () => {
  it("recognizes the fallback schedule", () => {
    expect(parseRunnerEvent({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} })).to.deep.equal({ kind: "scheduled" });
  });

  it("recognizes the workflow's kick", () => {
    const event = { source: "etl.dev.workflow", "detail-type": "RunnerTaskScheduled", detail: { job: "PSD", executionArn: "arn:x" } };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "kick" });
  });

  it("turns a Glue state change into a single-run check", () => {
    const event = { source: "aws.glue", "detail-type": "Glue Job State Change", detail: { jobName: "etl-dev-PSD", jobRunId: "jr_1", state: "SUCCEEDED" } };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "checkRun", jobName: "etl-dev-PSD", jobRunId: "jr_1" });
  });

  it("accepts a direct checkRun request", () => {
    expect(parseRunnerEvent({ action: "checkRun", jobName: "j", jobRunId: "jr_2" })).to.deep.equal({ kind: "checkRun", jobName: "j", jobRunId: "jr_2" });
  });

  it("rejects a Glue state change without a run id", () => {
    expect(() => parseRunnerEvent({ "detail-type": "Glue Job State Change", detail: { jobName: "j" } })).to.throw(/Glue Job State Change/);
  });

  it("rejects an unknown event, naming its detail-type", () => {
    expect(() => parseRunnerEvent({ "detail-type": "Object Created" })).to.throw(/"Object Created"/);
    expect(() => parseRunnerEvent(null)).to.throw(/unsupported runner event/);
  });
});
