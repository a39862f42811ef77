import { expect } from "chai";
import { runnerTasks, taskOverheads } from "../../bench/overhead";
import { loadConfig } from "../../core/config";

const tasks = new Map([
  ["PSD", "etl-dev-PSD"],
  ["JMSD", "etl-dev-JMSD"],
]);
const state = (name: string, enteredAt: string, exitedAt: string | null) => ({ name, enteredAt, exitedAt, status: "SUCCEEDED" });
const job = (jobName: string, runId: string, startedOn: string, completedOn: string | null) => ({ jobName, runId, state: "SUCCEEDED", startedOn, completedOn });

describe("bench/overhead", () => {
  it("finds every runner task of the workflow with its Glue job name", () => {
    const found = runnerTasks(loadConfig());
    expect([...found.entries()].sort()).to.deep.equal([
      ["JMSD", "etl-dev-JMSD"],
      ["PMD", "etl-dev-PMD"],
      ["PSD", "etl-dev-PSD"],
    ]);
  });

  it("measures entered -> started and completed -> exited for each task", () => {
    const overheads = taskOverheads(
      {
        status: "SUCCEEDED",
        states: [state("PSD", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:05.250Z"), state("JMSD", "2026-01-01T00:00:06.000Z", "2026-01-01T00:00:09.000Z")],
        jobs: [job("etl-dev-PSD", "a", "2026-01-01T00:00:00.120Z", "2026-01-01T00:00:05.000Z"), job("etl-dev-JMSD", "b", "2026-01-01T00:00:07.500Z", "2026-01-01T00:00:08.000Z")],
      },
      tasks,
    );
    expect(overheads).to.deep.equal([
      { state: "PSD", jobName: "etl-dev-PSD", startMs: 120, closeMs: 250 },
      { state: "JMSD", jobName: "etl-dev-JMSD", startMs: 1500, closeMs: 1000 },
    ]);
  });

  it("uses the last run started while the state was active (a retried start leaves earlier runs)", () => {
    const [psd] = taskOverheads(
      {
        status: "SUCCEEDED",
        states: [state("PSD", "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z"), state("JMSD", "2026-01-01T00:02:00.000Z", "2026-01-01T00:03:00.000Z")],
        jobs: [
          job("etl-dev-PSD", "before", "2025-12-31T23:00:00.000Z", "2025-12-31T23:01:00.000Z"),
          job("etl-dev-PSD", "first", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z"),
          job("etl-dev-PSD", "retry", "2026-01-01T00:00:31.000Z", "2026-01-01T00:00:59.000Z"),
          job("etl-dev-JMSD", "j", "2026-01-01T00:02:01.000Z", "2026-01-01T00:02:02.000Z"),
        ],
      },
      tasks,
    );
    expect(psd).to.include({ startMs: 31_000, closeMs: 1_000 });
  });

  it("refuses failed runs, tasks without a run, and states never exited", () => {
    const base = {
      status: "SUCCEEDED" as const,
      states: [state("PSD", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:05.000Z"), state("JMSD", "2026-01-01T00:00:06.000Z", "2026-01-01T00:00:09.000Z")],
      jobs: [job("etl-dev-PSD", "a", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z")],
    };
    expect(() => taskOverheads({ ...base, status: "FAILED" }, tasks)).to.throw("the run FAILED");
    expect(() => taskOverheads(base, tasks)).to.throw("state 'JMSD': no run of Glue job etl-dev-JMSD started while it was active");
    expect(() => taskOverheads({ ...base, states: [state("PSD", "2026-01-01T00:00:00.000Z", null)] }, tasks)).to.throw("state 'PSD': never exited");
    expect(() => taskOverheads({ ...base, states: [] }, tasks)).to.throw("state 'PSD': expected to be entered once, was entered 0 times");
  });
});
