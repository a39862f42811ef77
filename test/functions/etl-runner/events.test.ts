import { expect } from "chai";
import { parseRunnerEvent } from "../../../functions/etl-runner/events";

describe("etl-runner events", () => {
  it("recognizes the fallback schedule", () => {
    expect(parseRunnerEvent({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} })).to.deep.equal({ kind: "scheduled" });
  });

  it("recognizes the workflow's kick", () => {
    const event = { source: "etl.dev.workflow", "detail-type": "RunnerTaskScheduled", detail: { job: "LoadOrders", executionArn: "arn:x" } };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "kick" });
  });

  it("turns a Glue state change into a single-run check", () => {
    const event = { source: "aws.glue", "detail-type": "Glue Job State Change", detail: { jobName: "etl-dev-LoadOrders", jobRunId: "jr_1", state: "SUCCEEDED" } };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "checkRun", jobName: "etl-dev-LoadOrders", jobRunId: "jr_1" });
  });

  it("turns an Athena query state change into a check of that query among the Athena jobs' tasks", () => {
    const event = { source: "aws.athena", "detail-type": "Athena Query State Change", detail: { queryExecutionId: "q-1", workgroupName: "etl-dev-etl", currentState: "SUCCEEDED", previousState: "RUNNING" } };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "checkRun", engine: "athena", jobRunId: "q-1" });
  });

  it("turns an EMR Serverless job run state change into a check of that run's job (named <jobName>:<taskId>)", () => {
    const detail = { jobRunId: "00f1", applicationId: "00fapp", state: "SUCCESS", previousState: "RUNNING", jobRunName: "etl-dev-JoinAll:abc123" };
    const event = { source: "aws.emr-serverless", "detail-type": "EMR Serverless Job Run State Change", detail };
    expect(parseRunnerEvent(event)).to.deep.equal({ kind: "checkRun", jobName: "etl-dev-JoinAll", jobRunId: "00f1" });
    // A run without such a name is looked for among the EMR Serverless jobs' tasks.
    expect(parseRunnerEvent({ ...event, detail: { ...detail, jobRunName: "adhoc" } })).to.deep.equal({ kind: "checkRun", engine: "emr-serverless", jobRunId: "00f1" });
  });

  it("rejects an engine state change without its run id, naming what it expects", () => {
    expect(() => parseRunnerEvent({ "detail-type": "Athena Query State Change", detail: { workgroupName: "w" } })).to.throw(/detail\.queryExecutionId/);
    expect(() => parseRunnerEvent({ "detail-type": "EMR Serverless Job Run State Change", detail: {} })).to.throw(/EMR Serverless Job Run State Change/);
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
