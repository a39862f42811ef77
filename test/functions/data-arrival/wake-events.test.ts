// The data-arrival function without kicks in the workflow: the execution's RUNNING status change (a start or a
// redrive) makes it poll every wait activity; releasing a wait wakes the runner (its job's task is scheduled next).
import { GetActivityTaskCommand, SendTaskFailureCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { parseArrivalEvent } from "../../../functions/data-arrival/events";
import { MAX_CONCURRENT_POLLS, runDataArrival } from "../../../functions/data-arrival/worker";
import { arrivalHarness, s3Record, waitTask } from "./harness";

const plenty = { workerName: "data-arrival/req-1", remainingMs: () => 120_000 };
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:etl-dev-workflow:run-1";
const runningEvent = (status = "RUNNING") => ({
  version: "0",
  source: "aws.states",
  "detail-type": "Step Functions Execution Status Change",
  detail: { executionArn: EXECUTION, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:etl-dev-workflow", status, redriveCount: 1 },
});

describe("data-arrival: woken by the workflow's RUNNING event, waking the runner", () => {
  let h: Awaited<ReturnType<typeof arrivalHarness>>;
  let announced: Array<Record<string, string>>;
  beforeEach(async () => {
    h = await arrivalHarness();
    announced = [];
    h.deps.announceRunnerTask = async (detail) => void announced.push(detail);
  });
  afterEach(() => h.close());
  const datasets = () => Object.keys(h.deps.config.datasets);
  const input = (dataset: string) => ({ dataset, executionArn: EXECUTION, dataSince: "2026-11-23T12:00:00.000Z" });

  it("parses the RUNNING status change, and refuses another status naming what it expects", () => {
    expect(parseArrivalEvent(runningEvent())).to.deep.equal({ kind: "executionRunning", executionArn: EXECUTION });
    expect(() => parseArrivalEvent(runningEvent("SUCCEEDED"))).to.throw(/"Step Functions Execution Status Change" with status RUNNING/);
  });

  it("polls every dataset's wait activity at once and parks what each holds", async () => {
    for (const d of datasets()) h.sfn.on(GetActivityTaskCommand, { activityArn: h.deps.config.datasets[d].activityArn }).resolvesOnce(waitTask(`tok-${d}`, input(d))).resolves({});
    const summary = await runDataArrival(h.deps, parseArrivalEvent(runningEvent()), plenty);
    const polled = h.sfn.commandCalls(GetActivityTaskCommand).map((c) => c.args[0].input.activityArn);
    for (const d of datasets()) expect(polled.filter((a) => a === h.deps.config.datasets[d].activityArn), d).to.have.length(2);
    expect(summary.waitsParked).to.equal(datasets().length);
    // Concurrently: every dataset's first poll is sent before any dataset's second (empty) poll returns.
    expect(polled.slice(0, datasets().length).sort()).to.deep.equal(datasets().map((d) => h.deps.config.datasets[d].activityArn).sort());
    expect(MAX_CONCURRENT_POLLS).to.be.at.least(datasets().length);
  });

  it("wakes the runner once per released wait, and not for a wait it rejects", async () => {
    const [dataset] = datasets();
    const { prefix } = h.deps.config.datasets[dataset];
    await runDataArrival(h.deps, { kind: "s3", records: [s3Record({ key: `${prefix}part-1.csv`, eventTime: "2026-11-23T12:05:00.000Z" })] }, plenty);
    h.sfn.on(GetActivityTaskCommand).resolvesOnce(waitTask("tok-1", input(dataset))).resolvesOnce(waitTask("tok-bad", { ...input(dataset), dataset: "not-this-one" })).resolves({});
    const summary = await runDataArrival(h.deps, { kind: "kick", dataset }, plenty);
    expect(h.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken)).to.deep.equal(["tok-1"]);
    expect(h.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input.taskToken)).to.deep.equal(["tok-bad"]);
    expect(summary).to.include({ released: 1, tasksRejected: 1 });
    expect(announced).to.deep.equal([{ closed: "wait", dataset, executionArn: EXECUTION }]);
  });

  it("wakes no runner when the wait task was already closed", async () => {
    const [dataset] = datasets();
    const { prefix } = h.deps.config.datasets[dataset];
    await h.deps.table.parkWait({ dataset, executionArn: EXECUTION, dataSince: "2026-11-23T12:00:00.000Z", taskToken: "tok-gone" }, new Date());
    h.sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error("gone"), { name: "TaskTimedOut" }));
    await runDataArrival(h.deps, { kind: "s3", records: [s3Record({ key: `${prefix}part-1.csv`, eventTime: "2026-11-23T12:05:00.000Z" })] }, plenty);
    expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(1);
    expect(announced).to.deep.equal([]);
  });
});
