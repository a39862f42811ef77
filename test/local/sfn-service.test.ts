import { createHook } from "node:async_hooks";
import { dirname, join } from "node:path";
import {
  CreateActivityCommand,
  DescribeExecutionCommand,
  GetActivityTaskCommand,
  ListActivitiesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { allStates, loadStateMachine } from "../../asl/loader";
import { workflowPlaceholders } from "../../asl/placeholders";
import { definitionPath, loadConfig, resourceNames } from "../../core/config";
import { localActivityArn, localWorkflowArns } from "../../local/arns";
import { LocalStepFunctions, type LocalStepFunctionsOptions, type PutEventsEntry, type SfnEvent } from "../../local/sfn-service";
import { jobStateName } from "../support/asl-states";
import { ManualClock } from "../support/manual-clock";
import { workflowShape } from "../support/workflow";

const FIXTURES = join(__dirname, "..", "fixtures", "asl");
const WORK = localActivityArn("work");
const TOPIC = "arn:aws:sns:us-east-1:000000000000:failures";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves once `service` holds a long-poll; fails at once if `poll` ends first (an error, an answer). */
const pollHeld = (service: { pollHeld(): Promise<void> }, poll: Promise<unknown>) =>
  Promise.race([
    service.pollHeld(),
    poll.then((answer) => {
      throw new Error(`the poll ended before the service held it: ${JSON.stringify(answer)}`);
    }),
  ]);

describe("local/sfn-service", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(fixture: string, options: Partial<LocalStepFunctionsOptions> = {}, values: Record<string, string> = {}) {
    const stateMachine = loadStateMachine(join(FIXTURES, fixture), { WorkActivityArn: WORK, TopicArn: TOPIC, ...values });
    const service = await LocalStepFunctions.start({ stateMachine, activities: ["work"], longPollMs: 2000, ...options });
    cleanups.push(() => service.close());
    const sfn = new SFNClient({ endpoint: service.endpoint, region: "us-east-1", maxAttempts: 1 });
    cleanups.push(() => sfn.destroy());
    const run = async (input: object = {}, name?: string) =>
      (await sfn.send(new StartExecutionCommand({ stateMachineArn: service.stateMachineArn, input: JSON.stringify(input), name }))).executionArn!;
    const poll = async (activityArn = WORK) => sfn.send(new GetActivityTaskCommand({ activityArn }));
    const pollTask = async (activityArn = WORK) => {
      const task = await poll(activityArn);
      expect(task.taskToken, `a task on ${activityArn}`).to.be.a("string");
      return { token: task.taskToken!, input: JSON.parse(task.input!) };
    };
    return { service, sfn, run, poll, pollTask };
  }

  async function rejection(promise: Promise<unknown>): Promise<Error> {
    try {
      await promise;
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected a rejection");
  }

  const ofType = <T extends SfnEvent["type"]>(events: readonly SfnEvent[], type: T) =>
    events.filter((e): e is Extract<SfnEvent, { type: T }> => e.type === type);

  it("installs Promise.withResolvers (Node 20) before aws-local-stepfunctions runs a Task", async () => {
    const { promise, resolve } = (Promise as unknown as { withResolvers: <T>() => { promise: Promise<T>; resolve: (v: T) => void } }).withResolvers<number>();
    resolve(7);
    expect(await promise).to.equal(7);
  });

  it("loads the library's definition check at its first call, not with the library (local/sfn/lazy-validator.ts), and it still refuses an invalid definition", () => {
    // A fresh copy of the library, its validator and the stand-in module, as a process that has loaded none of them.
    const files = [require.resolve("aws-local-stepfunctions"), require.resolve("../../local/sfn/lazy-validator")];
    files.push(require.resolve("asl-validator", { paths: [dirname(files[0])] }), require.resolve("asl-validator"));
    const saved = files.map((file) => require.cache[file]);
    files.forEach((file) => delete require.cache[file]);
    try {
      const { validatorLoaded } = require(files[1]) as typeof import("../../local/sfn/lazy-validator");
      const { StateMachine } = require(files[0]) as typeof import("aws-local-stepfunctions");
      expect(validatorLoaded(), "loaded with the library").to.equal(false);
      // One call: asl-validator compiles its schemas on every call (about 0.3-0.4 s of CPU).
      expect(() => new StateMachine({ StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" } } } as never)).to.throw(/State machine definition is invalid[\s\S]*Nowhere/);
      expect(validatorLoaded(), "loaded by the call").to.equal(true);
    } finally {
      files.forEach((file, i) => (saved[i] ? (require.cache[file] = saved[i]) : delete require.cache[file]));
    }
  });

  describe("activities", () => {
    it("creates activities idempotently by name and lists them", async () => {
      const { sfn } = await start("single-activity.asl.json");
      const first = await sfn.send(new CreateActivityCommand({ name: "other" }));
      const again = await sfn.send(new CreateActivityCommand({ name: "other" }));
      expect(first.activityArn).to.equal(localActivityArn("other"));
      expect(again.activityArn).to.equal(first.activityArn);
      expect(again.creationDate?.getTime()).to.equal(first.creationDate?.getTime());
      const { activities } = await sfn.send(new ListActivitiesCommand({}));
      expect(activities?.map((a) => a.name).sort()).to.deep.equal(["other", "work"]);
      const bad = await rejection(sfn.send(new CreateActivityCommand({ name: "has space" })));
      expect(bad.name).to.equal("InvalidName");
    });

    it("is reachable through AWS_ENDPOINT_URL_SFN, as the handlers reach it", async () => {
      const { service } = await start("single-activity.asl.json");
      const saved = process.env.AWS_ENDPOINT_URL_SFN;
      process.env.AWS_ENDPOINT_URL_SFN = service.endpoint;
      cleanups.push(() => void (saved === undefined ? delete process.env.AWS_ENDPOINT_URL_SFN : (process.env.AWS_ENDPOINT_URL_SFN = saved)));
      const fromEnv = new SFNClient({ region: "us-east-1", maxAttempts: 1 });
      cleanups.push(() => fromEnv.destroy());
      const { activities } = await fromEnv.send(new ListActivitiesCommand({}));
      expect(activities?.map((a) => a.activityArn)).to.deep.equal([WORK]);
    });

    it("long-polls: a task scheduled after the poll began is handed to it, with the state's effective input", async () => {
      const { run, poll } = await start("single-activity.asl.json");
      const began = Date.now();
      const pending = poll();
      await sleep(300);
      const executionArn = await run({ job: "PSD", ignored: true }, "exec-1");
      const task = await pending;
      expect(Date.now() - began).to.be.at.least(300);
      expect(JSON.parse(task.input!)).to.deep.equal({ job: "PSD", executionName: "exec-1", fixed: 1 });
      expect(executionArn).to.match(/:execution:local-workflow:exec-1$/);
    });

    it("answers {} when nothing arrives within the long-poll, and for an unknown activity ActivityDoesNotExist", async () => {
      const { poll } = await start("single-activity.asl.json", { longPollMs: 200 });
      const began = Date.now();
      const empty = await poll();
      expect(empty.taskToken).to.equal(undefined);
      expect(Date.now() - began).to.be.within(150, 30_000); // the 200 ms long-poll, not the 60 s default
      expect((await rejection(poll(localActivityArn("missing")))).name).to.equal("ActivityDoesNotExist");
    });

    it("hands each task token out exactly once", async () => {
      const { run, poll } = await start("single-activity.asl.json", { longPollMs: 300 });
      await run({ job: "A" });
      const polls = await Promise.all([poll(), poll(), poll()]);
      const tokens = polls.map((p) => p.taskToken).filter(Boolean);
      expect(tokens).to.have.length(1);
    });

    it("ends pending long-polls with {} at once when the service closes", async () => {
      const { service, poll } = await start("single-activity.asl.json", { longPollMs: 60_000 });
      const pending = poll();
      // Held by the service, not still on its way (close() resets a connection whose request it has not read).
      await pollHeld(service, pending);
      const began = Date.now();
      await service.close();
      expect((await pending).taskToken).to.equal(undefined);
      expect(Date.now() - began).to.be.below(30_000); // not the 60 s long-poll
    });
  });

  describe("task tokens", () => {
    it("SendTaskSuccess resolves the state with the output; the token then answers TaskTimedOut", async () => {
      const { service, sfn, run, pollTask } = await start("single-activity.asl.json");
      const arn = await run({ job: "J" });
      const { token } = await pollTask();
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ rows: 3 }) }));
      const done = await service.waitForExecution(arn);
      expect(done.status).to.equal("SUCCEEDED");
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      expect(described.status).to.equal("SUCCEEDED");
      expect(JSON.parse(described.output!)).to.deep.equal({ job: "J", result: { rows: 3 } });
      expect(described.stopDate!.getTime()).to.be.at.least(described.startDate!.getTime());
      for (const send of [
        () => sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })),
        () => sfn.send(new SendTaskFailureCommand({ taskToken: token, error: "X" })),
        () => sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })),
      ]) {
        expect((await rejection(send())).name).to.equal("TaskTimedOut");
      }
    });

    it("rejects malformed and unknown tokens, bad output and oversized error or cause", async () => {
      const { sfn, run, pollTask } = await start("single-activity.asl.json");
      await run({ job: "J" });
      const { token } = await pollTask();
      const unknown = "A".repeat(64);
      const cases: Array<[string, () => Promise<unknown>, string]> = [
        ["malformed token", () => sfn.send(new SendTaskSuccessCommand({ taskToken: "not a token", output: "{}" })), "InvalidToken"],
        ["unknown token", () => sfn.send(new SendTaskSuccessCommand({ taskToken: unknown, output: "{}" })), "TaskDoesNotExist"],
        ["unknown token (heartbeat)", () => sfn.send(new SendTaskHeartbeatCommand({ taskToken: unknown })), "TaskDoesNotExist"],
        ["non-JSON output", () => sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{oops" })), "InvalidOutput"],
        ["output too long", () => sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify("x".repeat(262_143)) })), "InvalidOutput"],
        ["error too long", () => sfn.send(new SendTaskFailureCommand({ taskToken: token, error: "E".repeat(257) })), "ValidationException"],
        ["cause too long", () => sfn.send(new SendTaskFailureCommand({ taskToken: token, cause: "c".repeat(32_769) })), "ValidationException"],
      ];
      for (const [what, send, expected] of cases) {
        const error = await rejection(send());
        expect(error.name, what).to.equal(expected);
      }
      // None of those closed the task: the limits themselves are accepted.
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: "E".repeat(256), cause: "c".repeat(32_768) }));
    });
  });

  describe("timeouts", () => {
    it("HeartbeatSeconds: heartbeats keep the task alive; silence fails it with States.HeartbeatTimeout", async () => {
      // HeartbeatSeconds (2) runs on the test's clock: its timing is shown to the millisecond, with no real wait.
      const clock = new ManualClock();
      const { service, sfn, run, pollTask } = await start("timeouts.asl.json", { heartbeatTimers: clock });
      const arn = await run({ mode: "heartbeat" });
      const { token } = await pollTask();
      const closed = () => ofType(service.events, "ActivityTaskClosed").map((e) => e.outcome);
      // From the task's scheduling, a heartbeat every 1.5 s keeps it open for 6 s, three times HeartbeatSeconds (a
      // heartbeat to a closed task answers TaskTimedOut).
      for (let i = 0; i < 4; i++) {
        clock.advance(1500);
        await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      }
      expect(closed(), "alive past HeartbeatSeconds while heartbeating").to.deep.equal([]);
      // Then silence: open until HeartbeatSeconds after the last heartbeat, closed at that moment.
      clock.advance(1999);
      expect(closed(), "open 1.999 s after the last heartbeat").to.deep.equal([]);
      clock.advance(1);
      expect(closed(), "closed 2 s after the last heartbeat").to.deep.equal(["HEARTBEAT_TIMED_OUT"]);
      const done = await service.waitForExecution(arn);
      expect(done.status).to.equal("FAILED");
      expect(done.error).to.equal("States.HeartbeatTimeout");
      expect((await rejection(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })))).name).to.equal("TaskTimedOut");
      expect(clock.pending, "no heartbeat timer left").to.equal(0);
    });

    it("a Catch on States.Timeout catches a heartbeat timeout, as in AWS; a Retry on States.HeartbeatTimeout retries it", async () => {
      // HeartbeatSeconds (1) on the test's clock; the retry's pause (IntervalSeconds 1) is not what is shown here.
      const clock = new ManualClock();
      const { service, run, pollTask } = await start("../../local/fixtures/heartbeat-catch.asl.json", { heartbeatTimers: clock, retryIntervalOverrides: { Beat: 0 } });
      const arn = await run({});
      await pollTask(); // first attempt: silence
      clock.advance(1000);
      await pollTask(); // the retry: silence again
      clock.advance(1000);
      const done = await service.waitForExecution(arn);
      expect(done.status, JSON.stringify(done)).to.equal("SUCCEEDED");
      expect(JSON.parse(done.output!).caught.Error).to.equal("States.HeartbeatTimeout");
      expect(ofType(service.events, "ActivityTaskClosed").map((e) => e.outcome)).to.deep.equal(["HEARTBEAT_TIMED_OUT", "HEARTBEAT_TIMED_OUT"]);
    });

    it("TimeoutSeconds: fails the task with States.Timeout despite heartbeats, which States.TaskFailed does not catch", async () => {
      const { service, sfn, run, poll } = await start("timeouts.asl.json");
      // The poll is held before the task is scheduled, so it gets the task however late the machine runs it.
      const polled = poll();
      await pollHeld(service, polled);
      const arn = await run({ mode: "timeout" });
      const token = (await polled).taskToken!;
      expect(token, "the task").to.be.a("string");
      const beats = setInterval(() => void sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })).catch(() => undefined), 200);
      cleanups.push(() => clearInterval(beats));
      const done = await service.waitForExecution(arn);
      expect(done.error).to.equal("States.Timeout");
      expect(done.status).to.equal("FAILED");
      // At TimeoutSeconds (1), not extended by the heartbeats that go on every 200 ms (that would never end).
      expect(done.stopDate!.getTime() - done.startDate.getTime()).to.be.within(900, 20_000);
      expect((await rejection(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })))).name).to.equal("TaskTimedOut");
      expect(ofType(service.events, "ActivityTaskClosed").map((e) => e.outcome)).to.deep.equal(["TIMED_OUT"]);
    });
  });

  describe("Retry, Catch and integrations", () => {
    it("retries on a custom error name, then succeeds; putEvents entries reach the callback", async () => {
      const entries: PutEventsEntry[][] = [];
      // The retry's pause (IntervalSeconds 1) is not what is shown here.
      const { service, sfn, run, pollTask } = await start("retry-catch.asl.json", { putEvents: (e) => void entries.push(e), retryIntervalOverrides: { Work: 0 } });
      const arn = await run({});
      const first = await pollTask();
      await sfn.send(new SendTaskFailureCommand({ taskToken: first.token, error: "FlakyError", cause: "try again" }));
      const second = await pollTask();
      expect(second.token).to.not.equal(first.token);
      await sfn.send(new SendTaskSuccessCommand({ taskToken: second.token, output: '{"ok":true}' }));
      const done = await service.waitForExecution(arn);
      expect(done.status).to.equal("SUCCEEDED");
      const output = JSON.parse(done.output!);
      expect(output.work).to.deep.equal({ ok: true });
      expect(output.kick.FailedEntryCount).to.equal(0);
      expect(output.kick.Entries).to.have.length(1);
      expect(entries).to.deep.equal([[{ Source: "test.workflow", DetailType: "WorkScheduled", Detail: { executionArn: arn } }]]);
      const retried = ofType(service.events, "StateRetried");
      expect(retried.map((e) => [e.name, e.error, e.cause])).to.deep.equal([["Work", "FlakyError", "try again"]]);
      expect(service.notifications).to.deep.equal([]);
    });

    it("catches another error name into an SNS notification and a Fail state with ErrorPath and CausePath", async () => {
      const { service, sfn, run, pollTask } = await start("retry-catch.asl.json");
      const arn = await run({}, "broken");
      const { token } = await pollTask();
      const cause = JSON.stringify({ jobName: "etl-dev-PSD", state: "FAILED" });
      await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: "JobFailedError", cause }));
      await service.waitForExecution(arn);
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      expect(described.status).to.equal("FAILED");
      expect(described.error).to.equal("JobFailedError");
      expect(described.cause).to.equal(cause);
      expect(service.notifications).to.have.length(1);
      expect(service.notifications[0]).to.include({ topicArn: TOPIC, subject: "failed", message: `broken failed with JobFailedError: ${cause}` });
      const exits = ofType(service.events, "StateExited").map((e) => [e.name, e.status]);
      expect(exits).to.deep.equal([["Kick", "SUCCEEDED"], ["Work", "CAUGHT"], ["Notify", "SUCCEEDED"], ["Failed", "FAILED"]]);
      const failed = ofType(service.events, "ExecutionFailed");
      expect(failed).to.have.length(1);
      expect(failed[0]).to.include({ error: "JobFailedError", cause });
    });

    it("fails the execution naming the state and resource it cannot run, even under Catch States.ALL", async () => {
      const { service, run } = await start("unsupported-resource.asl.json");
      const done = await service.waitForExecution(await run({}));
      expect(done.status).to.equal("FAILED");
      expect(done.error).to.equal("States.Runtime");
      expect(done.cause).to.include("'CallLambda'").and.include("arn:aws:lambda:us-east-1:123456789012:function:nothing");
    });

    it("fails a task whose activity does not exist", async () => {
      const { service, run } = await start("single-activity.asl.json", { activities: [] });
      const done = await service.waitForExecution(await run({ job: "J" }));
      expect(done.status).to.equal("FAILED");
      expect(done.cause).to.include("'Work'").and.include(WORK);
    });
  });

  describe("Parallel", () => {
    it("reports every state inside the branches when the Parallel state ends the execution", async () => {
      const left = localActivityArn("left");
      const right = localActivityArn("right");
      const { service, sfn, run, pollTask } = await start("parallel.asl.json", { activities: ["left", "right"] }, { LeftActivityArn: left, RightActivityArn: right });
      const arn = await run({ n: 1 });
      const [l, r] = await Promise.all([pollTask(left), pollTask(right)]);
      await sfn.send(new SendTaskSuccessCommand({ taskToken: r.token, output: '"R"' }));
      await sfn.send(new SendTaskSuccessCommand({ taskToken: l.token, output: '"L"' }));
      const done = await service.waitForExecution(arn);
      expect(JSON.parse(done.output!)).to.deep.equal(["L", "R"]);
      const exits = Object.fromEntries(ofType(service.events, "StateExited").map((e) => [e.name, e.status]));
      expect(exits).to.deep.equal({ Prepare: "SUCCEEDED", Left: "SUCCEEDED", Right: "SUCCEEDED", Both: "SUCCEEDED" });
    });

    it("a failed branch closes the sibling branch's task, and states inside branches are reported", async () => {
      const left = localActivityArn("left");
      const right = localActivityArn("right");
      const { service, sfn, run, pollTask } = await start("parallel.asl.json", { activities: ["left", "right"] }, { LeftActivityArn: left, RightActivityArn: right });
      const arn = await run({});
      const [l, r] = await Promise.all([pollTask(left), pollTask(right)]);
      await sfn.send(new SendTaskFailureCommand({ taskToken: l.token, error: "BranchBroke", cause: "left failed" }));
      const done = await service.waitForExecution(arn);
      expect(done).to.include({ status: "FAILED", error: "BranchBroke", cause: "left failed" });
      const late = await rejection(sfn.send(new SendTaskSuccessCommand({ taskToken: r.token, output: "{}" })));
      expect(late.name).to.equal("TaskTimedOut");
      const closed = ofType(service.events, "ActivityTaskClosed").map((e) => [e.state, e.outcome]);
      expect(closed).to.deep.equal([["Left", "FAILED"], ["Right", "ABORTED"]]);
      const entered = ofType(service.events, "StateEntered").map((e) => e.name);
      expect(entered).to.have.members(["Both", "Left", "Prepare", "Right"]);
      const exits = Object.fromEntries(ofType(service.events, "StateExited").map((e) => [e.name, e.status]));
      expect(exits).to.deep.equal({ Prepare: "SUCCEEDED", Left: "FAILED", Right: "ABORTED", Both: "FAILED" });
      const at = (type: string, name: string) => Date.parse(service.events.find((e) => e.type === type && "name" in e && e.name === name)!.at);
      expect(at("StateExited", "Left")).to.be.at.least(at("StateEntered", "Left"));
      expect(service.events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.at))).to.equal(true);
    });
  });

  describe("executions", () => {
    it("StartExecution validates name, input and state machine; duplicate names answer ExecutionAlreadyExists", async () => {
      const { service, sfn, run } = await start("single-activity.asl.json");
      const arn = await run({ job: "A" }, "same");
      expect(await run({ job: "A" }, "same"), "same name and input while running is idempotent").to.equal(arn);
      expect((await rejection(run({ job: "B" }, "same"))).name).to.equal("ExecutionAlreadyExists");
      expect((await rejection(run({}, "bad name!"))).name).to.equal("InvalidName");
      const startWith = (input: string, stateMachineArn = service.stateMachineArn) => sfn.send(new StartExecutionCommand({ stateMachineArn, input }));
      expect((await rejection(startWith("{nope"))).name).to.equal("InvalidExecutionInput");
      expect((await rejection(startWith("[1]"))).name).to.equal("InvalidExecutionInput");
      expect((await rejection(startWith("{}", service.stateMachineArn + "x"))).name).to.equal("StateMachineDoesNotExist");
      expect((await rejection(sfn.send(new DescribeExecutionCommand({ executionArn: arn + "x" })))).name).to.equal("ExecutionDoesNotExist");
      const generated = await run({});
      expect(generated).to.match(/:execution:local-workflow:[0-9a-f-]{36}$/);
    });

    it("StopExecution aborts the execution and closes its open task", async () => {
      const { service, sfn, run, pollTask } = await start("single-activity.asl.json");
      const arn = await run({ job: "J" });
      const { token } = await pollTask();
      await sfn.send(new StopExecutionCommand({ executionArn: arn, error: "Stopped", cause: "by test" }));
      const done = await service.waitForExecution(arn);
      expect(done).to.include({ status: "ABORTED", error: "Stopped", cause: "by test" });
      expect((await rejection(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })))).name).to.equal("TaskTimedOut");
      expect(ofType(service.events, "ExecutionAborted")).to.have.length(1);
      expect(ofType(service.events, "StateExited").map((e) => [e.name, e.status])).to.deep.equal([["Work", "ABORTED"]]);
    });

    it("close() aborts running executions and leaves no timers or sockets", async () => {
      // Every setTimeout made while the service runs, by caller, until it is destroyed.
      const live = new Map<number, string>();
      const callerOf = (stack: string) => {
        const lines = stack.split("\n");
        return lines[lines.findIndex((line) => line.includes("at setTimeout (node:timers")) + 1] ?? "";
      };
      const hook = createHook({
        init: (id, type) => void (type === "Timeout" && live.set(id, callerOf(new Error().stack ?? ""))),
        destroy: (id) => void live.delete(id),
      }).enable();
      cleanups.push(() => void hook.disable());
      const { service, run, pollTask, sfn } = await start("timeouts.asl.json");
      const arn = await run({ mode: "heartbeat" });
      await pollTask();
      sfn.destroy();
      await service.close();
      expect((await service.waitForExecution(arn)).status).to.equal("ABORTED");
      await new Promise((resolve) => setImmediate(resolve));
      const ours = [...live.values()].filter((caller) => /local[\\/](sfn-service|sfn[\\/]|aws-json-server)|aws-local-stepfunctions/.test(caller));
      expect(ours, ours.join("\n\n")).to.deep.equal([]);
      const refused = await rejection(fetch(service.endpoint, { method: "POST" }));
      expect(String((refused as Error & { cause?: { code?: string } }).cause?.code)).to.equal("ECONNREFUSED");
    });

    it("endWork() ends the executions and answers the polls, yet still answers a busy worker as AWS does, until close()", async () => {
      const { service, run, poll, pollTask, sfn } = await start("timeouts.asl.json");
      const arn = await run({ mode: "heartbeat" });
      const { token } = await pollTask();
      const waiting = poll();
      await service.endWork();
      expect((await service.waitForExecution(arn)).status).to.equal("ABORTED");
      expect((await waiting).taskToken).to.equal(undefined);
      // The worker still holding the task hears that it is over, not a refused connection; a new poll gets no task.
      expect((await rejection(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })))).name).to.equal("TaskTimedOut");
      expect((await poll()).taskToken).to.equal(undefined);
      expect((await rejection(run())).name).to.equal("ServiceUnavailable");
      sfn.destroy();
      await service.close();
      const refused = await rejection(fetch(service.endpoint, { method: "POST" }));
      expect(String((refused as Error & { cause?: { code?: string } }).cause?.code)).to.equal("ECONNREFUSED");
    });

    it("rejects a definition it cannot run, naming the file and state", async () => {
      const stateMachine = loadStateMachine(join(FIXTURES, "single-activity.asl.json"), { WorkActivityArn: WORK });
      (stateMachine.definition as any).States.Work.HeartbeatSecondsPath = "$.beat";
      const error = await rejection(LocalStepFunctions.start({ stateMachine }));
      expect(error.message).to.match(/single-activity\.asl\.json: state 'Work': .*HeartbeatSecondsPath/);
    });

    it("rejects heartbeatTimers that are not timers, naming the option", async () => {
      const stateMachine = loadStateMachine(join(FIXTURES, "single-activity.asl.json"), { WorkActivityArn: WORK });
      const error = await rejection(LocalStepFunctions.start({ stateMachine, heartbeatTimers: { setTimeout: () => 0 } as never }));
      expect(error.message).to.match(/^heartbeatTimers: .*clearTimeout/);
    });
  });

  describe("the configured workflow (ETL_CONFIG, default etl.config.json)", () => {
    type Answer = { output: object } | { error: string; cause: string };

    async function startShipped(options: Partial<LocalStepFunctionsOptions> = {}) {
      const config = loadConfig();
      const names = resourceNames(config);
      const datasets = Object.keys(config.datasets);
      const arns = { ...localWorkflowArns(config), failureTopicArn: TOPIC };
      const stateMachine = loadStateMachine(definitionPath(config), workflowPlaceholders(config, arns));
      const activities = [names.runnerActivity, ...datasets.map((d) => names.waitActivity(d))];
      const service = await LocalStepFunctions.start({ stateMachine, activities, longPollMs: 300, ...options });
      cleanups.push(() => service.close());
      const sfn = new SFNClient({ endpoint: service.endpoint, region: "us-east-1", maxAttempts: 1 });
      cleanups.push(() => sfn.destroy());
      const executionArn = (await sfn.send(new StartExecutionCommand({ stateMachineArn: service.stateMachineArn, input: "{}" }))).executionArn!;

      // Fake workers: poll an activity with the SDK client and answer each task, until the execution ends.
      let stopped = false;
      const worker = async (activityArn: string, answer: (input: any) => Answer) => {
        while (!stopped) {
          const task = await sfn.send(new GetActivityTaskCommand({ activityArn }));
          if (!task.taskToken) continue;
          const result = answer(JSON.parse(task.input!));
          const send = "output" in result
            ? sfn.send(new SendTaskSuccessCommand({ taskToken: task.taskToken, output: JSON.stringify(result.output) }))
            : sfn.send(new SendTaskFailureCommand({ taskToken: task.taskToken, ...result }));
          // A task cancelled meanwhile (its execution failed) answers TaskTimedOut; a real worker moves on too.
          await send.catch((e: Error) => expect(e.name).to.equal("TaskTimedOut"));
        }
      };
      const runUntilDone = async (runner: (input: any) => Answer, wait: (dataset: string, input: any) => Answer) => {
        const workers = [worker(arns.runnerActivityArn, runner), ...datasets.map((d) => worker(arns.waitActivityArn(d), (input) => wait(d, input)))];
        const done = await service.waitForExecution(executionArn);
        stopped = true;
        await Promise.all(workers);
        return done;
      };
      const arrival = (dataset: string, input: any): Answer => {
        expect(input).to.include({ dataset, executionArn });
        expect(Number.isNaN(Date.parse(input.dataSince)), `dataSince ${input.dataSince}`).to.equal(false);
        return { output: { dataset, bucket: "b", key: `raw/${dataset}/x.csv`, size: 1, eTag: "e", eventTime: new Date().toISOString() } };
      };
      return { config, names, service, executionArn, runUntilDone, arrival, stateMachine };
    }

    it("loads and runs end-to-end with fake workers polling and answering the activities", async () => {
      const kicks: PutEventsEntry[] = [];
      const { config, names, service, executionArn, runUntilDone, arrival, stateMachine } = await startShipped({ putEvents: (e) => void kicks.push(...e) });
      const jobsRun: string[] = [];
      const done = await runUntilDone((input) => {
        jobsRun.push(input.JobName);
        return { output: { jobName: input.JobName, jobRunId: `jr_${jobsRun.length}`, state: "SUCCEEDED" } };
      }, arrival);

      expect(done.status, done.cause).to.equal("SUCCEEDED");
      const shape = workflowShape(config);
      const jobs = shape.jobs.map((j) => names.glueJob(j));
      expect(jobsRun.slice().sort()).to.deep.equal(jobs.slice().sort());
      // A job runs after every job it reads (the join after the Parallel state).
      for (const job of shape.jobs)
        for (const input of config.jobs[job].inputs.filter((i) => i.job !== undefined))
          expect(jobsRun.indexOf(names.glueJob(input.job!)), `${input.job} before ${job}`).to.be.below(jobsRun.indexOf(names.glueJob(job)));
      // No kicks: the workflow puts no event of its own (the functions wake on its RUNNING status change and on each other).
      expect(kicks).to.deep.equal([]);
      expect(executionArn).to.be.a("string");
      const exited = ofType(service.events, "StateExited");
      expect(exited.map((e) => e.name)).to.have.members(allStates(stateMachine.definition).map(([name]) => name));
      expect(exited.every((e) => e.status === "SUCCEEDED")).to.equal(true);
      const output = JSON.parse(done.output!);
      // One result per Parallel branch (one branch per dataset), then the joins' results.
      expect(output.processed).to.have.length(shape.datasets.length);
      for (const join of shape.joinJobs) expect(JSON.stringify(output)).to.contain(`"jobName":"${names.glueJob(join)}"`);
    });

    it("retries JobRetryableError, and on JobFailedError fails at the job with its error and cause, announcing it", async () => {
      const changes: string[] = [];
      // A job of a Parallel branch, whatever the configuration calls it.
      const shape = workflowShape();
      const job = shape.datasetJobs[0];
      const state = jobStateName(job);
      const { config, names, service, runUntilDone, arrival, stateMachine } = await startShipped({ retryIntervalOverrides: { [state]: 10 }, onStatusChange: (e) => void changes.push(String(e.detail.status)) });
      const cause = JSON.stringify({ jobName: names.glueJob(job), jobRunId: "jr_2", state: "FAILED", errorMessage: "boom" });
      let attempts = 0;
      const done = await runUntilDone((input) => {
        if (input.JobName !== names.glueJob(job)) return { output: { jobName: input.JobName } };
        attempts += 1;
        return attempts === 1 ? { error: "JobRetryableError", cause: "ConcurrentRunsExceededException" } : { error: "JobFailedError", cause };
      }, arrival);

      expect(attempts).to.equal(2);
      expect(done).to.include({ status: "FAILED", error: "JobFailedError", cause });
      // The failure rule turns the FAILED status change into the notification (test/asl/failure-path.test.ts).
      expect(changes).to.deep.equal(["RUNNING", "FAILED"]);
      const exits = Object.fromEntries(ofType(service.events, "StateExited").map((e) => [e.name, e.status]));
      const [parallel] = allStates(stateMachine.definition).find(([, s]) => s.Type === "Parallel")!;
      expect(exits).to.include({ [state]: "FAILED", [parallel]: "FAILED" });
      for (const reader of shape.jobs.filter((id) => config.jobs[id].inputs.some((i) => i.job === job))) expect(exits).to.not.have.property(jobStateName(reader));
      expect(ofType(service.events, "StateRetried").map((e) => [e.name, e.error])).to.deep.equal([[state, "JobRetryableError"]]);
      expect(service.events.filter((e) => e.type === "ActivityTaskScheduled" || e.type === "ActivityTaskStarted").length).to.equal(
        2 * ofType(service.events, "ActivityTaskClosed").length,
        "every scheduled task was started and closed",
      );
    });
  });
});
