import { join } from "node:path";
import {
  DescribeExecutionCommand,
  GetActivityTaskCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { loadStateMachine } from "../../asl/loader";
import { localActivityArn } from "../../local/arns";
import { LocalStepFunctions, type ExecutionStatusChangeEvent, type SfnEvent } from "../../local/sfn-service";

const FIXTURES = join(__dirname, "..", "fixtures", "asl");
const ACTIVITY = { setup: localActivityArn("setup"), a: localActivityArn("a"), b: localActivityArn("b"), finish: localActivityArn("finish") };

describe("local/sfn-service: RedriveExecution, history and listings", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start() {
    const stateMachine = loadStateMachine(join(FIXTURES, "redrive.asl.json"), { SetupArn: ACTIVITY.setup, AArn: ACTIVITY.a, BArn: ACTIVITY.b, FinishArn: ACTIVITY.finish });
    const statusChanges: ExecutionStatusChangeEvent[] = [];
    const service = await LocalStepFunctions.start({
      stateMachine,
      activities: Object.keys(ACTIVITY),
      longPollMs: 3000,
      retryIntervalOverrides: { B1: 0 },
      onStatusChange: (e) => statusChanges.push(e),
    });
    cleanups.push(() => service.close());
    const sfn = new SFNClient({ endpoint: service.endpoint, region: "us-east-1", maxAttempts: 1, credentials: { accessKeyId: "any", secretAccessKey: "any" } });
    cleanups.push(() => sfn.destroy());
    const task = async (activityArn: string) => {
      const t = await sfn.send(new GetActivityTaskCommand({ activityArn }));
      expect(t.taskToken, `a task on ${activityArn}`).to.be.a("string");
      return { token: t.taskToken!, input: JSON.parse(t.input!) };
    };
    /** Takes the next task of the activity and answers it. */
    const succeed = async (activityArn: string, output: unknown) => {
      const t = await task(activityArn);
      await sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: JSON.stringify(output) }));
      return t.input;
    };
    const fail = async (activityArn: string, error: string) => {
      const t = await task(activityArn);
      await sfn.send(new SendTaskFailureCommand({ taskToken: t.token, error, cause: `${error} cause` }));
      return t.input;
    };
    const scheduled = (arn: string) =>
      service.events.filter((e): e is Extract<SfnEvent, { type: "ActivityTaskScheduled" }> => e.type === "ActivityTaskScheduled" && e.executionArn === arn).map((e) => e.state);
    const count = (names: string[]) => names.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});
    const rejection = async (promise: Promise<unknown>) => promise.then(() => expect.fail("expected a rejection"), (e: Error) => e);
    return { service, sfn, statusChanges, succeed, fail, scheduled, count, rejection };
  }

  /** An execution whose branch B failed after branch A succeeded. */
  async function failedInBranchB(t: Awaited<ReturnType<typeof start>>) {
    const { executionArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: JSON.stringify({ run: 1 }), name: "first" }));
    await t.succeed(ACTIVITY.setup, "S");
    await t.succeed(ACTIVITY.a, "A1");
    await t.succeed(ACTIVITY.a, "A2");
    await t.fail(ACTIVITY.b, "Boom");
    const done = await t.service.waitForExecution(executionArn!);
    expect(done).to.include({ status: "FAILED", error: "Boom" });
    return executionArn!;
  }

  it("resumes at the failed branch only: the same ARN, succeeded states not run again, their results kept", async () => {
    const t = await start();
    const arn = await failedInBranchB(t);
    const { redriveDate } = await t.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    expect(redriveDate).to.be.instanceOf(Date);
    const running = await t.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(running).to.include({ status: "RUNNING", redriveCount: 1, redriveStatus: "NOT_REDRIVABLE" });
    // B1 gets the input it had: the state input of the Parallel state.
    expect(await t.succeed(ACTIVITY.b, "B")).to.deep.equal({ run: 1, setup: "S" });
    const finishInput = await t.succeed(ACTIVITY.finish, "done");
    expect(finishInput.both).to.deep.equal([{ run: 1, setup: "S", a1: "A1", a2: "A2" }, "B"]);
    const done = await t.service.waitForExecution(arn);
    expect(done).to.include({ executionArn: arn, status: "SUCCEEDED", output: '"done"', redriveCount: 1 });
    expect(t.count(t.scheduled(arn))).to.deep.equal({ Setup: 1, A1: 1, A2: 1, B1: 2, Finish: 1 });
    expect(t.statusChanges.map((e) => e.detail.status)).to.deep.equal(["RUNNING", "FAILED", "RUNNING", "SUCCEEDED"]);
  });

  it("re-schedules a branch cancelled by its sibling's failure at the state it was in, with that state's input", async () => {
    const t = await start();
    const { executionArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: "{}" }));
    await t.succeed(ACTIVITY.setup, "S");
    await t.succeed(ACTIVITY.a, "A1"); // A2 is now scheduled
    await t.fail(ACTIVITY.b, "Boom"); // cancels A2
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("FAILED");
    await t.sfn.send(new RedriveExecutionCommand({ executionArn }));
    const [a2Input] = await Promise.all([t.succeed(ACTIVITY.a, "A2"), t.succeed(ACTIVITY.b, "B")]);
    expect(a2Input).to.deep.equal({ setup: "S", a1: "A1" });
    await t.succeed(ACTIVITY.finish, "done");
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("SUCCEEDED");
    expect(t.count(t.scheduled(executionArn!))).to.deep.equal({ Setup: 1, A1: 1, A2: 2, B1: 2, Finish: 1 });
  });

  it("starts the Retry counters again, as AWS does", async () => {
    const t = await start();
    const { executionArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: "{}" }));
    await t.succeed(ACTIVITY.setup, "S");
    await t.succeed(ACTIVITY.a, "A1");
    await t.succeed(ACTIVITY.a, "A2");
    await t.fail(ACTIVITY.b, "Flaky");
    await t.fail(ACTIVITY.b, "Flaky"); // the one retry (MaxAttempts 1) fails too
    expect(await t.service.waitForExecution(executionArn!)).to.include({ status: "FAILED", error: "Flaky" });
    await t.sfn.send(new RedriveExecutionCommand({ executionArn }));
    await t.fail(ACTIVITY.b, "Flaky"); // retried again: the count started over
    await t.succeed(ACTIVITY.b, "B");
    await t.succeed(ACTIVITY.finish, "done");
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("SUCCEEDED");
    expect(t.count(t.scheduled(executionArn!)).B1).to.equal(4);
    const retries = t.service.events.filter((e) => e.type === "StateRetried" && e.executionArn === executionArn);
    expect(retries).to.have.length(2);
  });

  it("redrives a redriven execution from its new failure point, counting each redrive", async () => {
    const t = await start();
    const arn = await failedInBranchB(t);
    await t.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    await t.succeed(ACTIVITY.b, "B");
    await t.fail(ACTIVITY.finish, "FinishBroke");
    expect(await t.service.waitForExecution(arn)).to.include({ status: "FAILED", error: "FinishBroke", redriveCount: 1 });
    await t.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    const finishInput = await t.succeed(ACTIVITY.finish, "done");
    expect(finishInput.both).to.deep.equal([{ run: 1, setup: "S", a1: "A1", a2: "A2" }, "B"]);
    expect(await t.service.waitForExecution(arn)).to.include({ status: "SUCCEEDED", redriveCount: 2 });
    expect(t.count(t.scheduled(arn))).to.deep.equal({ Setup: 1, A1: 1, A2: 1, B1: 2, Finish: 2 });

    const history = (await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }))).events!;
    expect(history.filter((e) => e.type === "ExecutionRedriven").map((e) => e.executionRedrivenEventDetails?.redriveCount)).to.deep.equal([1, 2]);
    expect(history.map((e) => e.id)).to.deep.equal(history.map((_, i) => i + 1));
  });

  it("refuses a running, a succeeded and an unknown execution with AWS's errors", async () => {
    const t = await start();
    const { executionArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: "{}" }));
    expect((await t.rejection(t.sfn.send(new RedriveExecutionCommand({ executionArn })))).name).to.equal("ExecutionNotRedrivable");
    await t.succeed(ACTIVITY.setup, "S");
    await t.succeed(ACTIVITY.a, "A1");
    await t.succeed(ACTIVITY.a, "A2");
    await t.succeed(ACTIVITY.b, "B");
    await t.succeed(ACTIVITY.finish, "done");
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("SUCCEEDED");
    const succeeded = await t.rejection(t.sfn.send(new RedriveExecutionCommand({ executionArn })));
    expect(succeeded.name).to.equal("ExecutionNotRedrivable");
    expect((await t.sfn.send(new DescribeExecutionCommand({ executionArn }))).redriveStatus).to.equal("NOT_REDRIVABLE");
    const unknown = await t.rejection(t.sfn.send(new RedriveExecutionCommand({ executionArn: `${executionArn}-nope` })));
    expect(unknown.name).to.equal("ExecutionDoesNotExist");
  });

  it("redrives a stopped (ABORTED) execution at the states it stopped in", async () => {
    const t = await start();
    const { executionArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: "{}" }));
    await t.succeed(ACTIVITY.setup, "S");
    await t.sfn.send(new StopExecutionCommand({ executionArn, error: "Operator", cause: "stopped to fix data" }));
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("ABORTED");
    await t.sfn.send(new RedriveExecutionCommand({ executionArn }));
    await Promise.all([t.succeed(ACTIVITY.a, "A1").then(() => t.succeed(ACTIVITY.a, "A2")), t.succeed(ACTIVITY.b, "B")]);
    await t.succeed(ACTIVITY.finish, "done");
    expect((await t.service.waitForExecution(executionArn!)).status).to.equal("SUCCEEDED");
    expect(t.count(t.scheduled(executionArn!)).Setup).to.equal(1);
  });

  it("GetExecutionHistory gives AWS's event types with their details, pages and reverses", async () => {
    const t = await start();
    const arn = await failedInBranchB(t);
    const { events } = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    const types = events!.map((e) => e.type);
    expect(types[0]).to.equal("ExecutionStarted");
    expect(types).to.include.members(["TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ParallelStateEntered", "ActivityFailed", "ParallelStateFailed"]);
    expect(types[types.length - 1]).to.equal("ExecutionFailed");
    expect(events![0].executionStartedEventDetails?.input).to.equal('{"run":1}');
    const failed = events!.find((e) => e.type === "ActivityFailed")!;
    expect(failed.activityFailedEventDetails).to.deep.include({ error: "Boom", cause: "Boom cause" });
    expect(events![events!.length - 1].executionFailedEventDetails).to.deep.include({ error: "Boom" });
    const entered = events!.find((e) => e.type === "TaskStateEntered")!;
    expect(entered.stateEnteredEventDetails).to.deep.include({ name: "Setup", input: '{"run":1}' });
    expect(events!.every((e, i) => e.id === i + 1 && e.previousEventId! < e.id! && e.timestamp instanceof Date)).to.equal(true);
    // A state's events chain back to its StateEntered event.
    const scheduled = events!.find((e) => e.type === "ActivityScheduled")!;
    expect(events![scheduled.previousEventId! - 1].stateEnteredEventDetails?.name).to.equal("Setup");

    const first = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 3, reverseOrder: true }));
    expect(first.events!.map((e) => e.id)).to.deep.equal([events!.length, events!.length - 1, events!.length - 2]);
    const second = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 3, reverseOrder: true, nextToken: first.nextToken }));
    expect(second.events![0].id).to.equal(events!.length - 3);
    const bad = await t.rejection(t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken: "bogus" })));
    expect(bad.name).to.equal("InvalidToken");
  });

  it("ListExecutions filters by status, newest first; ListStateMachines lists the workflow", async () => {
    const t = await start();
    const failedArn = await failedInBranchB(t);
    const { executionArn: runningArn } = await t.sfn.send(new StartExecutionCommand({ stateMachineArn: t.service.stateMachineArn, input: "{}", name: "second" }));
    const all = await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.service.stateMachineArn }));
    expect(all.executions!.map((e) => [e.executionArn, e.status])).to.deep.equal([
      [runningArn, "RUNNING"],
      [failedArn, "FAILED"],
    ]);
    const failed = await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.service.stateMachineArn, statusFilter: "FAILED" }));
    expect(failed.executions!.map((e) => e.name)).to.deep.equal(["first"]);
    const unknown = await t.rejection(t.sfn.send(new ListExecutionsCommand({ stateMachineArn: `${t.service.stateMachineArn}x` })));
    expect(unknown.name).to.equal("StateMachineDoesNotExist");
    const { stateMachines } = await t.sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines!.map((m) => [m.stateMachineArn, m.type])).to.deep.equal([[t.service.stateMachineArn, "STANDARD"]]);
  });
});
