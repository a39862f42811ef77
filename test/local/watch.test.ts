import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { historyEvents } from "../../local/sfn/history";
import type { SfnEvent } from "../../local/sfn/model";
import { formatProgress } from "../../local/progress";
import { HistoryFollower, main } from "../../local/watch";

const ARN = "arn:aws:states:us-east-1:000000000000:execution:etl-dev-workflow:run-1";
const TYPES = new Map([["Both", "Parallel"], ["Left", "Task"], ["Right", "Task"], ["Join", "Task"]]);

/** The history GetExecutionHistory gives for recorded events, as the SDK parses it (timestamps as Dates). */
function history(events: Array<Record<string, unknown>>): HistoryEvent[] {
  let ms = Date.parse("2026-12-01T00:00:00.000Z");
  const recorded = events.map((e) => ({ at: new Date((ms += 100)).toISOString(), executionArn: ARN, ...e }) as SfnEvent);
  return historyEvents(recorded, TYPES, "arn:aws:iam::000000000000:role/r", "us-east-1").map((e) => ({ ...e, timestamp: new Date(e.timestamp * 1000) }) as HistoryEvent);
}

const failedRun = [
  { type: "ExecutionStarted", input: {} },
  { type: "StateEntered", name: "Both", stateType: "Parallel", input: {} },
  { type: "StateEntered", name: "Left", stateType: "Task", input: {} },
  { type: "StateEntered", name: "Right", stateType: "Task", input: {} },
  { type: "ActivityTaskScheduled", state: "Left", activityArn: "a", input: {} },
  { type: "ActivityTaskScheduled", state: "Right", activityArn: "a", input: {} },
  { type: "ActivityTaskStarted", state: "Right", activityArn: "a" },
  { type: "ActivityTaskStarted", state: "Left", activityArn: "a" },
  { type: "ActivityTaskClosed", state: "Right", activityArn: "a", outcome: "SUCCEEDED", output: JSON.stringify({ jobName: "etl-dev-Right", jobRunId: "jr_2", state: "SUCCEEDED" }) },
  { type: "StateExited", name: "Right", status: "SUCCEEDED", stateType: "Task", output: {} },
  { type: "ActivityTaskClosed", state: "Left", activityArn: "a", outcome: "FAILED", error: "JobFailedError", cause: JSON.stringify({ jobName: "etl-dev-Left", jobRunId: "jr_1", state: "FAILED", errorMessage: "boom" }) },
  { type: "StateExited", name: "Left", status: "FAILED", error: "JobFailedError", stateType: "Task" },
  { type: "StateExited", name: "Both", status: "FAILED", error: "JobFailedError", stateType: "Parallel" },
  { type: "ExecutionFailed", error: "JobFailedError", cause: "boom" },
];

describe("local/watch: the history as npm start's progress lines", () => {
  it("prints states, job runs and the failure, and ends FAILED", () => {
    const follower = new HistoryFollower(ARN);
    const events = history(failedRun);
    const lines = follower.follow(events).map((e) => formatProgress(e, events[0].timestamp!.getTime())!.replace(/^\[\s*[\d.]+s\] /, ""));
    expect(lines).to.deep.equal([
      `execution RUNNING: ${ARN}`,
      "state Both entered",
      "state Left entered",
      "state Right entered",
      "job etl-dev-Right (glue) run jr_2 SUCCEEDED",
      "state Right exited SUCCEEDED",
      "job etl-dev-Left (glue) run jr_1 FAILED (boom)",
      "state Both exited FAILED (JobFailedError)",
      "state Left exited FAILED (JobFailedError)",
      `execution FAILED (JobFailedError: boom): ${ARN}`,
    ]);
    expect(follower.status).to.equal("FAILED");
  });

  it("reads each event once across reads, and follows a redrive to its end", () => {
    const follower = new HistoryFollower(ARN);
    const first = history(failedRun);
    follower.follow(first);
    expect(follower.follow(first)).to.deep.equal([]);
    const redriven = history([...failedRun, { type: "ExecutionRedriven", redriveCount: 1 }, { type: "ExecutionSucceeded", output: {} }]);
    const more = follower.follow(redriven);
    expect(more.map((e) => [e.type, "status" in e ? e.status : undefined])).to.deep.equal([
      ["execution", "RUNNING"],
      ["execution", "SUCCEEDED"],
    ]);
    expect(follower.status).to.equal("SUCCEEDED");
  });

  it("answers a missing or malformed ARN and a bad --endpoint or --interval-ms with exit 2 in one line", async () => {
    for (const argv of [[], ["not-an-arn"], [ARN, "--endpoint", "localhost"], [ARN, "--interval-ms", "200"]]) {
      const err: string[] = [];
      expect(await main(argv, () => undefined, (l) => err.push(l)), argv.join(" ")).to.equal(2);
      expect(err).to.have.length(1);
    }
  });
});
