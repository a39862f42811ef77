// bench/overhead: the time from the previous activity task closing (a wait released, the jobs a join follows done)
// to a runner task's StartJobRun, and the workflow's activity tasks it reads from the ASL.
import { expect } from "chai";
import { activityTasks, runnerTasks, taskOverheads } from "../../bench/overhead";
import { definitionPath } from "../../core/config";
import { allStates } from "../../asl/loader";
import { readFileSync } from "node:fs";
import { workflowShape } from "../support/workflow";

const state = (name: string, enteredAt: string, exitedAt: string | null) => ({ name, enteredAt, exitedAt, status: "SUCCEEDED" });
const job = (jobName: string, runId: string, startedOn: string, completedOn: string) => ({ jobName, engine: "glue" as const, runId, state: "SUCCEEDED", startedOn, completedOn });

describe("bench/overhead: previous task closed -> StartJobRun", () => {
  it("reads every wait and runner task of the configured workflow", () => {
    const { config, datasets, jobs } = workflowShape();
    const found = activityTasks(config);
    expect(found.size).to.equal(datasets.length + jobs.length);
    const raw = JSON.parse(readFileSync(definitionPath(config), "utf8"));
    for (const name of found) expect(allStates(raw).some(([n]) => n === name), name).to.equal(true);
    for (const name of runnerTasks(config).keys()) expect(found.has(name), name).to.equal(true);
  });

  it("measures from the latest activity task that closed before the state entered", () => {
    const tasks = new Map([
      ["A", "job-a"],
      ["J", "job-j"],
    ]);
    const activities = new Set(["WaitA", "A", "B", "J"]);
    const report = {
      status: "SUCCEEDED" as const,
      states: [
        state("WaitA", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.000Z"),
        state("A", "2026-01-01T00:00:01.010Z", "2026-01-01T00:00:03.000Z"),
        state("B", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:04.000Z"),
        // Not an activity task: the Parallel closing after B does not count.
        state("Parallel", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:04.005Z"),
        state("J", "2026-01-01T00:00:04.010Z", "2026-01-01T00:00:06.000Z"),
      ],
      jobs: [job("job-a", "a", "2026-01-01T00:00:01.100Z", "2026-01-01T00:00:02.900Z"), job("job-j", "j", "2026-01-01T00:00:04.300Z", "2026-01-01T00:00:05.900Z")],
    };
    const overheads = taskOverheads(report, tasks, activities);
    expect(overheads.map((o) => [o.state, o.afterPreviousMs, o.startMs])).to.deep.equal([
      ["A", 100, 90],
      ["J", 300, 290],
    ]);
    expect(taskOverheads(report, tasks)[0]).to.not.have.property("afterPreviousMs");
    expect(() => taskOverheads(report, new Map([["A", "job-a"]]), new Set(["A"]))).to.throw("state 'A': no wait or runner task closed before it entered");
  });
});
