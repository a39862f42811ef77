import { expect } from "chai";
import { runnerTasks, taskOverheads } from "../../bench/overhead";
import { loadConfig, resourceNames } from "../../core/config";
import { workflowTasks } from "../support/workflow";

const tasks = new Map([
  ["Load", "etl-dev-Load"],
  ["Join", "etl-dev-Join"],
]);
const state = (name: string, enteredAt: string, exitedAt: string | null) => ({ name, enteredAt, exitedAt, status: "SUCCEEDED" });
const job = (jobName: string, runId: string, startedOn: string, completedOn: string | null) => ({ jobName, engine: "glue" as const, runId, state: "SUCCEEDED", startedOn, completedOn });

describe("bench/overhead", () => {
  it("finds every runner task of the workflow with its Glue job name", () => {
    const config = loadConfig();
    const { runners } = workflowTasks(config);
    expect(runners, "runner tasks").to.not.be.empty;
    expect([...runnerTasks(config).entries()].sort()).to.deep.equal(runners.map(({ state, job }) => [state, resourceNames(config).glueJob(job)]).sort());
  });

  it("measures entered -> started and completed -> exited for each task", () => {
    const overheads = taskOverheads(
      {
        status: "SUCCEEDED",
        states: [state("Load", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:05.250Z"), state("Join", "2026-01-01T00:00:06.000Z", "2026-01-01T00:00:09.000Z")],
        jobs: [job("etl-dev-Load", "a", "2026-01-01T00:00:00.120Z", "2026-01-01T00:00:05.000Z"), job("etl-dev-Join", "b", "2026-01-01T00:00:07.500Z", "2026-01-01T00:00:08.000Z")],
      },
      tasks,
    );
    expect(overheads).to.deep.equal([
      { state: "Load", jobName: "etl-dev-Load", startMs: 120, closeMs: 250 },
      { state: "Join", jobName: "etl-dev-Join", startMs: 1500, closeMs: 1000 },
    ]);
  });

  it("uses the last run started while the state was active (a retried start leaves earlier runs)", () => {
    const [psd] = taskOverheads(
      {
        status: "SUCCEEDED",
        states: [state("Load", "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z"), state("Join", "2026-01-01T00:02:00.000Z", "2026-01-01T00:03:00.000Z")],
        jobs: [
          job("etl-dev-Load", "before", "2025-12-31T23:00:00.000Z", "2025-12-31T23:01:00.000Z"),
          job("etl-dev-Load", "first", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z"),
          job("etl-dev-Load", "retry", "2026-01-01T00:00:31.000Z", "2026-01-01T00:00:59.000Z"),
          job("etl-dev-Join", "j", "2026-01-01T00:02:01.000Z", "2026-01-01T00:02:02.000Z"),
        ],
      },
      tasks,
    );
    expect(psd).to.include({ startMs: 31_000, closeMs: 1_000 });
  });

  it("refuses failed runs, tasks without a run, and states never exited", () => {
    const base = {
      status: "SUCCEEDED" as const,
      states: [state("Load", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:05.000Z"), state("Join", "2026-01-01T00:00:06.000Z", "2026-01-01T00:00:09.000Z")],
      jobs: [job("etl-dev-Load", "a", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z")],
    };
    expect(() => taskOverheads({ ...base, status: "FAILED" }, tasks)).to.throw("the run FAILED");
    expect(() => taskOverheads(base, tasks)).to.throw("state 'Join': no run of Glue job etl-dev-Join started while it was active");
    expect(() => taskOverheads({ ...base, states: [state("Load", "2026-01-01T00:00:00.000Z", null)] }, tasks)).to.throw("state 'Load': never exited");
    expect(() => taskOverheads({ ...base, states: [] }, tasks)).to.throw("state 'Load': expected to be entered once, was entered 0 times");
  });
});
