import { ScanCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { StartJobRunCommand } from "@aws-sdk/client-glue";
import { GetActivityTaskCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import type { EngineAdapter, StartRequest } from "../../../functions/etl-runner/engine";
import { runRunner } from "../../../functions/etl-runner/runner";
import { START_OUTCOME_MARGIN_MS } from "../../../functions/etl-runner/start";
import { LONG_POLL_MARGIN_MS } from "../../../functions/shared/sfn";
import { ACTIVITY_ARN, runnerHarness } from "./harness";

const plenty = { workerName: "etl-dev-etl-runner/req-1", remainingMs: () => 300_000 };
const task = (n: number) => ({ taskToken: `token-${n}`, input: JSON.stringify({ JobName: "etl-dev-LoadOrders" }) });

describe("etl-runner invocation", () => {
  it("scheduled: checks all runs first, then polls until an empty poll and starts each task", async () => {
    const h = runnerHarness();
    h.sfn.on(GetActivityTaskCommand).resolvesOnce(task(1)).resolvesOnce(task(2)).resolves({});
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    h.ddb.on(ScanCommand).resolves({ Items: [] });
    const summary = await runRunner(h.deps, { kind: "scheduled" }, plenty);
    // A run that ended is reported before the long-poll, not 60 s later.
    expect(h.ddb.commandCalls(ScanCommand)[0].calledBefore(h.sfn.commandCalls(GetActivityTaskCommand)[0])).to.equal(true);
    const polls = h.sfn.commandCalls(GetActivityTaskCommand);
    expect(polls).to.have.length(3);
    expect(polls[0].args[0].input).to.deep.equal({ activityArn: ACTIVITY_ARN, workerName: "etl-dev-etl-runner/req-1" });
    expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(2);
    expect(h.ddb.commandCalls(ScanCommand)).to.have.length(1);
    expect(summary).to.include({ tasksReceived: 2, tasksStarted: 2 });
  });

  it("gives each start the invocation's deadline less the outcome's margin (the adapter interface's one deadline); none without a Lambda context", async () => {
    for (const [remaining, expected] of [
      [() => 300_000, 300_000 - START_OUTCOME_MARGIN_MS],
      [() => Number.POSITIVE_INFINITY, undefined],
    ] as const) {
      const h = runnerHarness();
      h.sfn.on(GetActivityTaskCommand).resolvesOnce(task(1)).resolves({});
      h.ddb.on(ScanCommand).resolves({ Items: [] });
      const requests: StartRequest[] = [];
      const adapter = { engine: "glue", label: "Glue", startCall: "StartJobRun", start: async (request: StartRequest) => (requests.push(request), "jr") } as Partial<EngineAdapter> as EngineAdapter;
      const engines = { ...h.deps.engines, of: () => adapter };
      const before = Date.now();
      await runRunner({ ...h.deps, engines }, { kind: "kick" }, { ...plenty, remainingMs: remaining });
      expect(requests).to.have.length(1);
      if (expected === undefined) expect(requests[0].deadline).to.equal(undefined);
      else expect(requests[0].deadline).to.be.within(before + expected, Date.now() + expected);
    }
  });

  it("picks up at most MAX_TASKS_PER_INVOCATION tasks", async () => {
    const h = runnerHarness({ maxTasksPerInvocation: 3 });
    let n = 0;
    h.sfn.on(GetActivityTaskCommand).callsFake(async () => task(++n));
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    h.ddb.on(ScanCommand).resolves({ Items: [] });
    const summary = await runRunner(h.deps, { kind: "scheduled" }, plenty);
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(3);
    expect(summary.tasksStarted).to.equal(3);
  });

  it("starts no long-poll without time for it, but still checks the runs", async () => {
    const h = runnerHarness();
    h.ddb.on(ScanCommand).resolves({ Items: [] });
    await runRunner(h.deps, { kind: "scheduled" }, { ...plenty, remainingMs: () => LONG_POLL_MARGIN_MS });
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(0);
    expect(h.ddb.commandCalls(ScanCommand)).to.have.length(1);
  });

  it("stops polling when the remaining time runs short", async () => {
    const h = runnerHarness();
    let remaining = 200_000;
    h.sfn.on(GetActivityTaskCommand).callsFake(async () => {
      remaining -= 60_000;
      return task(remaining);
    });
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    h.ddb.on(ScanCommand).resolves({ Items: [] });
    await runRunner(h.deps, { kind: "scheduled" }, { ...plenty, remainingMs: () => remaining });
    // 200 s -> 140 s -> 80 s -> 20 s left: the fourth poll would outlive the invocation.
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(3);
  });

  it("still checks the runs when polling fails, then reports the poll error", async () => {
    const h = runnerHarness();
    h.sfn.on(GetActivityTaskCommand).rejects(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));
    h.ddb.on(ScanCommand).resolves({ Items: [] });
    let thrown: unknown;
    await runRunner(h.deps, { kind: "scheduled" }, plenty).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.equal("socket hang up");
    expect(h.ddb.commandCalls(ScanCommand)).to.have.length(1);
  });

  it("still polls when the check fails, then reports the check error", async () => {
    const h = runnerHarness();
    h.ddb.on(ScanCommand).rejects(Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" }));
    h.sfn.on(GetActivityTaskCommand).resolvesOnce(task(1)).resolves({});
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    let thrown: unknown;
    await runRunner(h.deps, { kind: "scheduled" }, plenty).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.equal("throttled");
    expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(1);
  });

  it("kick: polls for the scheduled task but does not scan the table", async () => {
    const h = runnerHarness();
    h.sfn.on(GetActivityTaskCommand).resolvesOnce(task(1)).resolves({});
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    const summary = await runRunner(h.deps, { kind: "kick" }, plenty);
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(2);
    expect(h.ddb.commandCalls(ScanCommand)).to.have.length(0);
    expect(summary.tasksStarted).to.equal(1);
  });

  it("checkRun: checks one run without polling", async () => {
    const h = runnerHarness();
    h.ddb.on(QueryCommand).resolves({ Items: [] });
    await runRunner(h.deps, { kind: "checkRun", jobName: "etl-dev-LoadOrders", jobRunId: "jr_1" }, plenty);
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(0);
    expect(h.ddb.commandCalls(QueryCommand)).to.have.length(1);
  });
});
