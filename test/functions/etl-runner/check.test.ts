import { DeleteItemCommand, QueryCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { BatchStopJobRunCommand, GetJobRunCommand, GetJobRunsCommand, StartJobRunCommand, type JobRun } from "@aws-sdk/client-glue";
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { checkAllRuns, checkOneRun } from "../../../functions/etl-runner/check";
import { STALE_CLAIM_MS, type EngineAdapter, type RunQuery } from "../../../functions/etl-runner/engine";
import { RUNNER_VERSION } from "../../../functions/etl-runner/runs-table";
import { failureCause } from "../../../functions/etl-runner/failure-cause";
import { emptySummary } from "../../../functions/etl-runner/deps";
import { LIMITS } from "../../../functions/shared/sfn";
import { awsError } from "../fakes";
import { itemAttributes, NOW, runnerHarness } from "./harness";

const JOB = "etl-dev-LoadOrders";
const STARTED = new Date("2026-11-23T11:50:00.000Z");
const COMPLETED = new Date("2026-11-23T11:58:20.000Z");

function run(state: string, extra: Partial<JobRun> = {}): JobRun {
  return { Id: "jr_1", JobName: JOB, JobRunState: state as JobRun["JobRunState"], StartedOn: STARTED, CompletedOn: COMPLETED, ExecutionTime: 500, ...extra };
}

/** One RUNNING item for jr_1, and Glue answering `glueRun` for it. */
function oneRun(glueRun: JobRun) {
  const h = runnerHarness();
  h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_1" })] });
  h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [glueRun] });
  return h;
}

const gone = {
  TaskTimedOut: () => new TaskTimedOut({ message: "expired", $metadata: {} }),
  TaskDoesNotExist: () => new TaskDoesNotExist({ message: "stopped", $metadata: {} }),
  InvalidToken: () => new InvalidToken({ message: "bad token", $metadata: {} }),
};

describe("etl-runner check", () => {
  it("tells the adapter which runs' tasks an earlier runner claimed (items without runnerVersion), in the batch and run by run", async () => {
    const h = runnerHarness();
    const items = [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "old" }), itemAttributes({ jobName: JOB, taskId: "t2", jobRunId: "new", runnerVersion: RUNNER_VERSION })];
    h.ddb.on(ScanCommand).resolves({ Items: items });
    h.ddb.on(QueryCommand).resolves({ Items: items });
    const queries: RunQuery[] = [];
    const described: Array<[string, boolean | undefined]> = [];
    const adapter = {
      engine: "glue",
      label: "Glue",
      describeRuns: async (q: readonly RunQuery[]) => (queries.push(...q), { runs: new Map(), runsByTask: new Map(), unsearchedJobs: new Set() }),
      describeRun: async (_job: string, runId: string, byEarlierRunner?: boolean) => (described.push([runId, byEarlierRunner]), { runId, state: "RUNNING", status: "running", stoppable: true }),
    } as Partial<EngineAdapter> as EngineAdapter;
    const deps = { ...h.deps, engines: { of: () => adapter, jobsOn: () => [JOB] } };
    await checkAllRuns(deps, emptySummary());
    expect(queries.map((q) => [...(q.earlierRunnerRunIds ?? [])])).to.deep.equal([["old"]]);
    expect(described.sort()).to.deep.equal([["new", false], ["old", true]]);
    described.length = 0;
    await checkOneRun(deps, { jobName: JOB, jobRunId: "old" }, emptySummary());
    await checkOneRun(deps, { engine: "glue", jobRunId: "new" }, emptySummary());
    expect(described).to.deep.equal([["old", true], ["new", false]]);
  });

  describe("every Glue state", () => {
    it("SUCCEEDED: SendTaskSuccess with the run's summary, then deletes the item", async () => {
      const h = oneRun(run("SUCCEEDED"));
      const summary = emptySummary();
      await checkAllRuns(h.deps, summary);
      const success = h.sfn.commandCalls(SendTaskSuccessCommand);
      expect(success).to.have.length(1);
      expect(success[0].args[0].input.taskToken).to.equal("token-t1");
      expect(JSON.parse(success[0].args[0].input.output!)).to.deep.equal({
        jobName: JOB,
        engine: "glue",
        runId: "jr_1",
        jobRunId: "jr_1",
        state: "SUCCEEDED",
        startedOn: STARTED.toISOString(),
        completedOn: COMPLETED.toISOString(),
        executionTime: 500,
      });
      expect(h.ddb.commandCalls(DeleteItemCommand)[0].args[0].input.Key).to.deep.equal({ jobName: { S: JOB }, taskId: { S: "t1" } });
      expect(summary).to.include({ runsChecked: 1, closed: 1, heartbeats: 0 });
    });

    for (const state of ["FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"]) {
      it(`${state}: SendTaskFailure JobFailedError with a JSON cause, then deletes the item`, async () => {
        const h = oneRun(run(state, { ErrorMessage: `it went ${state}` }));
        const summary = emptySummary();
        await checkAllRuns(h.deps, summary);
        const failure = h.sfn.commandCalls(SendTaskFailureCommand);
        expect(failure).to.have.length(1);
        expect(failure[0].args[0].input.error).to.equal("JobFailedError");
        expect(JSON.parse(failure[0].args[0].input.cause!)).to.deep.equal({ jobName: JOB, engine: "glue", runId: "jr_1", jobRunId: "jr_1", state, errorMessage: `it went ${state}` });
        expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(1);
        expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(0);
        expect(summary).to.include({ closed: 1 });
      });
    }

    it("a run that failed its data-quality gate: SendTaskFailure DataQualityError, the cause carrying the counts", async () => {
      for (const message of ["DataQualityError: output: 0 rows written (limit: minOutputRows 1) (rows read: orders 3; dropped: orders 3; written: 0)", "Error Category: UNCLASSIFIED_ERROR; DataQualityError: output: 0 rows written"]) {
        const h = oneRun(run("FAILED", { ErrorMessage: message }));
        await checkAllRuns(h.deps, emptySummary());
        const failure = h.sfn.commandCalls(SendTaskFailureCommand);
        expect(failure.map((f) => f.args[0].input.error), message).to.deep.equal(["DataQualityError"]);
        expect(JSON.parse(failure[0].args[0].input.cause!)).to.deep.equal({ jobName: JOB, engine: "glue", runId: "jr_1", jobRunId: "jr_1", state: "FAILED", errorMessage: message });
      }
    });

    for (const state of ["STARTING", "RUNNING", "STOPPING", "WAITING"]) {
      it(`${state}: SendTaskHeartbeat and keeps the item`, async () => {
        const h = oneRun(run(state, { CompletedOn: undefined }));
        const summary = emptySummary();
        await checkAllRuns(h.deps, summary);
        expect(h.sfn.commandCalls(SendTaskHeartbeatCommand)[0].args[0].input).to.deep.equal({ taskToken: "token-t1" });
        expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(0);
        expect(h.sfn.commandCalls(SendTaskFailureCommand)).to.have.length(0);
        expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
        expect(summary).to.include({ heartbeats: 1, closed: 0 });
      });
    }
  });

  describe("SFN errors on send", () => {
    for (const [name, error] of Object.entries(gone)) {
      it(`${name} on a heartbeat: deletes the item and stops the still-running run`, async () => {
        const h = oneRun(run("RUNNING"));
        h.sfn.on(SendTaskHeartbeatCommand).rejects(error());
        await checkAllRuns(h.deps, emptySummary());
        expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(1);
        expect(h.glue.commandCalls(BatchStopJobRunCommand)[0].args[0].input).to.deep.equal({ JobName: JOB, JobRunIds: ["jr_1"] });
      });

      it(`${name} on SendTaskSuccess: deletes the item, stops nothing, counts nothing as closed`, async () => {
        const h = oneRun(run("SUCCEEDED"));
        h.sfn.on(SendTaskSuccessCommand).rejects(error());
        const summary = emptySummary();
        await checkAllRuns(h.deps, summary);
        expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(1);
        expect(h.glue.commandCalls(BatchStopJobRunCommand)).to.have.length(0);
        expect(summary.closed).to.equal(0);
      });
    }

    it("a gone task whose run is already STOPPING is not stopped again", async () => {
      const h = oneRun(run("STOPPING"));
      h.sfn.on(SendTaskHeartbeatCommand).rejects(gone.TaskTimedOut());
      await checkAllRuns(h.deps, emptySummary());
      expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(1);
      expect(h.glue.commandCalls(BatchStopJobRunCommand)).to.have.length(0);
    });

    for (const [state, command] of [
      ["SUCCEEDED", SendTaskSuccessCommand],
      ["FAILED", SendTaskFailureCommand],
    ] as const) {
      it(`throttling on the ${state} report keeps the item for the next cycle`, async () => {
        const h = oneRun(run(state));
        h.sfn.on(command as typeof SendTaskSuccessCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
        const summary = emptySummary();
        await checkAllRuns(h.deps, summary);
        expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
        expect(summary).to.include({ closed: 0, errors: 1 });
      });
    }
  });

  it("keeps the failure cause within 32,768 characters and valid JSON", () => {
    const cause = failureCause({ jobName: JOB, engine: "glue", runId: "jr_1", state: "FAILED" }, "x".repeat(100_000));
    expect(cause.length).to.be.at.most(LIMITS.cause);
    expect(JSON.parse(cause)).to.include({ jobName: JOB, jobRunId: "jr_1", state: "FAILED" });
  });

  for (const [name, unit] of [
    ["newlines", "\n"],
    ["quotes", '"'],
    ["backslashes and control characters", "\\\u0001"],
    ["a mix with emoji", 'line "1"\n\t😀'],
  ] as const) {
    it(`keeps the cause valid JSON within the limit for a message full of ${name}`, async () => {
      const message = unit.repeat(Math.ceil(40_000 / unit.length));
      const h = oneRun(run("FAILED", { ErrorMessage: message }));
      await checkAllRuns(h.deps, emptySummary());
      const sent = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause!;
      expect(sent.length).to.be.at.most(LIMITS.cause);
      const parsed = JSON.parse(sent);
      expect(parsed).to.include({ jobName: JOB, jobRunId: "jr_1", state: "FAILED" });
      expect(parsed.errorMessage).to.match(/\.\.\.$/);
      expect(message.startsWith(parsed.errorMessage.slice(0, -3))).to.equal(true);
      expect(sent.length, "uses the room it has").to.be.above(LIMITS.cause - 20);
    });
  }

  it("truncates a long error message sent to SFN", async () => {
    const h = oneRun(run("FAILED", { ErrorMessage: "é".repeat(50_000) }));
    await checkAllRuns(h.deps, emptySummary());
    const input = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(input.cause!.length).to.be.at.most(LIMITS.cause);
    expect(JSON.parse(input.cause!).errorMessage).to.match(/^é+\.\.\.$/);
  });

  it("reads every page of the table and every needed page of GetJobRuns", async () => {
    const h = runnerHarness();
    h.ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_1" })], LastEvaluatedKey: { jobName: { S: JOB }, taskId: { S: "t1" } } })
      .resolvesOnce({ Items: [itemAttributes({ jobName: JOB, taskId: "t2", jobRunId: "jr_2" })] });
    h.glue
      .on(GetJobRunsCommand)
      .resolvesOnce({ JobRuns: [run("RUNNING", { Id: "jr_2" })], NextToken: "page-2" })
      .resolvesOnce({ JobRuns: [run("SUCCEEDED", { Id: "jr_1" })] });
    const summary = emptySummary();
    await checkAllRuns(h.deps, summary);
    expect(h.ddb.commandCalls(ScanCommand)[1].args[0].input.ExclusiveStartKey).to.deep.equal({ jobName: { S: JOB }, taskId: { S: "t1" } });
    expect(h.ddb.commandCalls(ScanCommand)[0].args[0].input.Limit).to.equal(undefined);
    expect(h.glue.commandCalls(GetJobRunsCommand)[1].args[0].input.NextToken).to.equal("page-2");
    expect(h.glue.commandCalls(GetJobRunCommand)).to.have.length(0);
    expect(summary).to.include({ runsChecked: 2, closed: 1, heartbeats: 1 });
  });

  it("falls back to GetJobRun for runs GetJobRuns did not list, and fails a run Glue does not know", async () => {
    const h = runnerHarness();
    h.ddb.on(ScanCommand).resolves({
      Items: [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_old" }), itemAttributes({ jobName: JOB, taskId: "t2", jobRunId: "jr_lost" })],
    });
    h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    h.glue.on(GetJobRunCommand, { JobName: JOB, RunId: "jr_old" }).resolves({ JobRun: run("SUCCEEDED", { Id: "jr_old" }) });
    h.glue.on(GetJobRunCommand, { JobName: JOB, RunId: "jr_lost" }).rejects(awsError("EntityNotFoundException"));
    await checkAllRuns(h.deps, emptySummary());
    expect(JSON.parse(h.sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).jobRunId).to.equal("jr_old");
    const failure = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(failure).to.include({ taskToken: "token-t2", error: "JobFailedError" });
    expect(JSON.parse(failure.cause!)).to.include({ jobRunId: "jr_lost", state: "NOT_FOUND" });
    expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(2);
  });

  it("leaves a run for the next cycle when Glue cannot be asked, its task kept alive (heartbeat), not answered", async () => {
    const h = runnerHarness();
    h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_1" })] });
    h.glue.on(GetJobRunsCommand).rejects(awsError("ThrottlingException"));
    h.glue.on(GetJobRunCommand).rejects(awsError("ThrottlingException"));
    const summary = emptySummary();
    await checkAllRuns(h.deps, summary);
    expect(h.sfn.calls().map((c) => c.args[0].constructor.name)).to.deep.equal(["SendTaskHeartbeatCommand"]);
    expect(summary.heartbeats).to.equal(1);
    expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
  });

  it("calls Glue with at most ENGINE_CONCURRENCY requests in flight", async () => {
    const h = runnerHarness({ engineConcurrency: 2 });
    const jobs = ["A", "B", "C", "D", "E", "F"];
    h.ddb.on(ScanCommand).resolves({ Items: jobs.map((j) => itemAttributes({ jobName: j, taskId: `t${j}`, jobRunId: `jr_${j}` })) });
    let inFlight = 0;
    let peak = 0;
    h.glue.on(GetJobRunsCommand).callsFake(async (input: { JobName: string }) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight--;
      return { JobRuns: [run("RUNNING", { Id: `jr_${input.JobName}`, JobName: input.JobName })] };
    });
    const summary = emptySummary();
    await checkAllRuns(h.deps, summary);
    expect(peak).to.equal(2);
    expect(summary.heartbeats).to.equal(6);
  });

  describe("claims stuck in STARTING", () => {
    const stale = new Date(NOW.getTime() - STALE_CLAIM_MS - 1).toISOString();

    it("leaves a fresh claim alone (its start may still be in progress)", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING" })] });
      await checkAllRuns(h.deps, emptySummary());
      expect(h.sfn.calls()).to.have.length(0);
      expect(h.glue.calls()).to.have.length(0);
    });

    it("adopts the run carrying its --etl_task_id and reports its state", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING", claimedAt: stale })] });
      h.glue.on(GetJobRunsCommand).resolves({
        JobRuns: [run("RUNNING", { Id: "jr_other", Arguments: { "--etl_task_id": "t9" } }), run("SUCCEEDED", { Id: "jr_mine", Arguments: { "--etl_task_id": "t1" } })],
      });
      // Ended: read again as a recorded run is (GetJobRun), not answered from the listing.
      h.glue.on(GetJobRunCommand).resolves({ JobRun: run("SUCCEEDED", { Id: "jr_mine", Arguments: { "--etl_task_id": "t1" } }) });
      await checkAllRuns(h.deps, emptySummary());
      expect(h.glue.commandCalls(GetJobRunCommand).map((c) => c.args[0].input)).to.deep.equal([{ JobName: JOB, RunId: "jr_mine" }]);
      const updates = h.ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input.ExpressionAttributeValues);
      expect(updates[0]).to.deep.include({ ":old": { S: stale }, ":starting": { S: "STARTING" } });
      expect(updates[1]).to.deep.include({ ":running": { S: "RUNNING" }, ":run": { S: "jr_mine" } });
      expect(JSON.parse(h.sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!).jobRunId).to.equal("jr_mine");
      expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(0);
    });

    it("starts the run again when none carries its task id", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({
        Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING", claimedAt: stale, taskInput: JSON.stringify({ JobName: JOB, Arguments: { "--a": "b" } }) })],
      });
      h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
      h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_new" });
      const summary = emptySummary();
      await checkAllRuns(h.deps, summary);
      expect(h.glue.commandCalls(StartJobRunCommand)[0].args[0].input.Arguments).to.deep.equal({ "--a": "b", "--etl_task_id": "t1" });
      // Recorded under the new claim (the one this invocation holds), not the stale one.
      expect(h.ddb.commandCalls(UpdateItemCommand)[1].args[0].input.ExpressionAttributeValues).to.deep.include({ ":run": { S: "jr_new" }, ":mine": { S: NOW.toISOString() } });
      expect(summary).to.include({ tasksStarted: 1, heartbeats: 1 });
    });

    it("does not recover (nor start again) when GetJobRuns failed for its job this cycle", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING", claimedAt: stale })] });
      h.glue.on(GetJobRunsCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
      h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_second" });
      await checkAllRuns(h.deps, emptySummary());
      expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(0);
      expect(h.ddb.commandCalls(UpdateItemCommand)).to.have.length(0);
      expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
    });

    it("does not start again when another invocation re-claimed it first", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING", claimedAt: stale })] });
      h.ddb.on(UpdateItemCommand).rejects(awsError("ConditionalCheckFailedException"));
      h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
      await checkAllRuns(h.deps, emptySummary());
      expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(0);
    });

    it("removes the claim of a task that is gone and stops the run it had started", async () => {
      const h = runnerHarness();
      h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", status: "STARTING", claimedAt: stale })] });
      h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [run("RUNNING", { Id: "jr_mine", Arguments: { "--etl_task_id": "t1" } })] });
      h.sfn.on(SendTaskHeartbeatCommand).rejects(gone.TaskDoesNotExist());
      await checkAllRuns(h.deps, emptySummary());
      expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(1);
      expect(h.glue.commandCalls(BatchStopJobRunCommand)[0].args[0].input.JobRunIds).to.deep.equal(["jr_mine"]);
      expect(h.glue.commandCalls(StartJobRunCommand)).to.have.length(0);
    });
  });

  describe("single-run check", () => {
    it("queries the job's partition and closes the matching task", async () => {
      const h = runnerHarness();
      h.ddb.on(QueryCommand).resolves({
        Items: [itemAttributes({ jobName: JOB, taskId: "t0", jobRunId: "jr_0" }), itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_1" })],
      });
      h.glue.on(GetJobRunCommand).resolves({ JobRun: run("TIMEOUT", { ErrorMessage: "timed out" }) });
      const summary = emptySummary();
      await checkOneRun(h.deps, { jobName: JOB, jobRunId: "jr_1" }, summary);
      expect(h.ddb.commandCalls(QueryCommand)[0].args[0].input.ExpressionAttributeValues).to.deep.equal({ ":job": { S: JOB } });
      expect(h.ddb.commandCalls(ScanCommand)).to.have.length(0);
      const failure = h.sfn.commandCalls(SendTaskFailureCommand);
      expect(failure).to.have.length(1);
      expect(failure[0].args[0].input.taskToken).to.equal("token-t1");
      expect(JSON.parse(failure[0].args[0].input.cause!).state).to.equal("TIMEOUT");
      expect(summary).to.include({ runsChecked: 1, closed: 1 });
    });

    it("does nothing for a run the runner does not track", async () => {
      const h = runnerHarness();
      h.ddb.on(QueryCommand).resolves({ Items: [] });
      await checkOneRun(h.deps, { jobName: JOB, jobRunId: "jr_foreign" }, emptySummary());
      expect(h.glue.calls()).to.have.length(0);
      expect(h.sfn.calls()).to.have.length(0);
    });

    it("throws (so the event is retried) when Glue cannot be asked", async () => {
      const h = runnerHarness();
      h.ddb.on(QueryCommand).resolves({ Items: [itemAttributes({ jobName: JOB, taskId: "t1", jobRunId: "jr_1" })] });
      h.glue.on(GetJobRunCommand).rejects(awsError("ThrottlingException"));
      let thrown: unknown;
      await checkOneRun(h.deps, { jobName: JOB, jobRunId: "jr_1" }, emptySummary()).catch((e) => (thrown = e));
      expect((thrown as Error).message).to.include("jr_1").and.include(JOB);
    });
  });
});
