// The runner without kicks in the workflow: the execution's RUNNING status change (a start or a redrive) makes it
// poll; closing a task with success wakes the next runner (the workflow schedules its next runner task then).
import { DeleteItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetJobRunsCommand, StartJobRunCommand, type JobRun } from "@aws-sdk/client-glue";
import { GetActivityTaskCommand, SendTaskFailureCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { checkAllRuns } from "../../../functions/etl-runner/check";
import { emptySummary } from "../../../functions/etl-runner/deps";
import { parseRunnerEvent } from "../../../functions/etl-runner/events";
import { runRunner } from "../../../functions/etl-runner/runner";
import { resourceNames } from "../../../core/config";
import { workflowShape } from "../../support/workflow";
import { itemAttributes, runnerHarness } from "./harness";

const plenty = { workerName: "etl-runner/req-1", remainingMs: () => 300_000 };
const running = (status: string) => ({
  version: "0",
  source: "aws.states",
  "detail-type": "Step Functions Execution Status Change",
  detail: { executionArn: "arn:aws:states:us-east-1:1:execution:wf:x", stateMachineArn: "arn:aws:states:us-east-1:1:stateMachine:wf", status },
});

describe("etl-runner: woken by the workflow's RUNNING event, waking the next runner", () => {
  // The harness runs every job on Glue: any configured job will do.
  const shape = workflowShape();
  const jobName = resourceNames(shape.config).glueJob(shape.jobs[0]);

  function harnessWithRun(state: string) {
    const h = runnerHarness({ jobEngines: { [jobName]: "glue" } });
    const announced: Array<Record<string, string>> = [];
    h.deps.announceRunnerTask = async (detail) => void announced.push(detail);
    h.ddb.on(ScanCommand).resolves({ Items: [itemAttributes({ jobName, taskId: "t1", jobRunId: "jr_1" })] });
    const run: JobRun = { Id: "jr_1", JobName: jobName, JobRunState: state as JobRun["JobRunState"], StartedOn: new Date(), CompletedOn: new Date(), ExecutionTime: 1, ErrorMessage: "boom" };
    h.glue.on(GetJobRunsCommand).resolves({ JobRuns: [run] });
    return { h, announced };
  }

  it("parses the RUNNING status change as a reason to poll; other statuses are not its events", async () => {
    expect(parseRunnerEvent(running("RUNNING"))).to.deep.equal({ kind: "executionRunning" });
    expect(() => parseRunnerEvent(running("FAILED"))).to.throw(/"Step Functions Execution Status Change" with status RUNNING/);
    const h = runnerHarness({ jobEngines: { [jobName]: "glue" } });
    h.sfn.on(GetActivityTaskCommand).resolvesOnce({ taskToken: "tok", input: JSON.stringify({ JobName: jobName }) }).resolves({});
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr" });
    const summary = await runRunner(h.deps, parseRunnerEvent(running("RUNNING")), plenty);
    expect(h.sfn.commandCalls(GetActivityTaskCommand)).to.have.length(2);
    expect(h.ddb.commandCalls(ScanCommand)).to.have.length(0);
    expect(summary.tasksStarted).to.equal(1);
  });

  it("a task closed with success wakes one runner, after SendTaskSuccess and before the item goes", async () => {
    const { h, announced } = harnessWithRun("SUCCEEDED");
    let deletedFirst = false;
    h.deps.announceRunnerTask = async (detail) => {
      deletedFirst = h.ddb.commandCalls(DeleteItemCommand).length > 0;
      announced.push(detail);
    };
    await checkAllRuns(h.deps, emptySummary());
    expect(h.sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(1);
    expect(announced).to.deep.equal([{ closed: "job", jobName }]);
    expect(deletedFirst).to.equal(false);
  });

  it("a failed run, or a success the task no longer takes, wakes no runner", async () => {
    const failed = harnessWithRun("FAILED");
    await checkAllRuns(failed.h.deps, emptySummary());
    expect(failed.h.sfn.commandCalls(SendTaskFailureCommand)).to.have.length(1);
    expect(failed.announced).to.deep.equal([]);

    const gone = harnessWithRun("SUCCEEDED");
    gone.h.sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error("expired"), { name: "TaskTimedOut" }));
    await checkAllRuns(gone.h.deps, emptySummary());
    expect(gone.announced).to.deep.equal([]);
  });
});
