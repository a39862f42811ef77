// Orchestration overhead of each runner task, read from a local run's report:
// state entered -> its Glue run started (StartJobRun), the previous activity task closed (a wait released, or the
// job it follows done) -> StartJobRun, and Glue run completed -> state exited.
import { allStates, loadStateMachine } from "../asl/loader";
import { workflowPlaceholders } from "../asl/placeholders";
import { localWorkflowArns } from "../local/arns";
import type { RunReport } from "../local/runtime";
import { definitionPath, type EtlConfig } from "../core/config";

export interface TaskOverhead {
  state: string;
  jobName: string;
  /** ms from the state entering to StartJobRun. */
  startMs: number;
  /** ms from the run's final state to the state exiting. */
  closeMs: number;
  /** ms from the last activity task (wait or runner) that closed before the state entered, to StartJobRun. */
  afterPreviousMs?: number;
}

/** The workflow's activity task states: its wait tasks and its runner tasks. */
export function activityTasks(config: EtlConfig): Set<string> {
  const arns = localWorkflowArns(config);
  const { definition } = loadStateMachine(definitionPath(config), workflowPlaceholders(config, arns));
  const activities = new Set([arns.runnerActivityArn, ...Object.keys(config.datasets).map((d) => arns.waitActivityArn(d))]);
  return new Set(allStates(definition).filter(([, s]) => s.Type === "Task" && activities.has(s.Resource)).map(([name]) => name));
}

/** The workflow's runner task states, each with the Glue job name it runs. */
export function runnerTasks(config: EtlConfig): Map<string, string> {
  const arns = localWorkflowArns(config);
  const placeholders = workflowPlaceholders(config, arns);
  const { definition } = loadStateMachine(definitionPath(config), placeholders);
  const tasks = new Map<string, string>();
  for (const [name, state] of allStates(definition))
    if (state.Type === "Task" && state.Resource === arns.runnerActivityArn) {
      const jobName = state.Parameters?.JobName;
      if (typeof jobName !== "string") throw new Error(`runner task state '${name}': Parameters.JobName is not a fixed job name`);
      tasks.set(name, jobName);
    }
  if (tasks.size === 0) throw new Error(`${definitionPath(config)}: no Task state uses \${RunnerActivityArn}`);
  return tasks;
}

const ms = (iso: string, what: string) => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`${what}: not an ISO time: ${JSON.stringify(iso)}`);
  return t;
};

/**
 * One entry per runner task of a succeeded run. The task's Glue run is the last run of its job that
 * started after the state entered (earlier ones belong to retried attempts). With `activityStates`
 * (activityTasks()), each entry also has afterPreviousMs.
 */
export function taskOverheads(report: Pick<RunReport, "status" | "states" | "jobs">, tasks: ReadonlyMap<string, string>, activityStates?: ReadonlySet<string>): TaskOverhead[] {
  if (report.status !== "SUCCEEDED") throw new Error(`the run ${report.status}; overhead is measured on succeeded runs only`);
  const out: TaskOverhead[] = [];
  for (const [state, jobName] of tasks) {
    const entries = report.states.filter((s) => s.name === state);
    if (entries.length !== 1) throw new Error(`state '${state}': expected to be entered once, was entered ${entries.length} times`);
    const [entry] = entries;
    if (!entry.exitedAt) throw new Error(`state '${state}': never exited`);
    const entered = ms(entry.enteredAt, `state '${state}' enteredAt`);
    const exited = ms(entry.exitedAt, `state '${state}' exitedAt`);
    const runs = report.jobs.filter((j) => j.jobName === jobName && ms(j.startedOn, `run ${j.runId} startedOn`) >= entered && ms(j.startedOn, `run ${j.runId} startedOn`) <= exited);
    const run = runs[runs.length - 1];
    if (!run) throw new Error(`state '${state}': no run of Glue job ${jobName} started while it was active`);
    if (!run.completedOn) throw new Error(`state '${state}': Glue run ${run.runId} has no completion time`);
    const overhead: TaskOverhead = { state, jobName, startMs: ms(run.startedOn, "startedOn") - entered, closeMs: exited - ms(run.completedOn, `run ${run.runId} completedOn`) };
    if (activityStates) {
      const closed = report.states
        .filter((s) => activityStates.has(s.name) && s.name !== state && s.exitedAt !== null && ms(s.exitedAt, `state '${s.name}' exitedAt`) <= entered)
        .map((s) => ms(s.exitedAt!, `state '${s.name}' exitedAt`));
      if (closed.length === 0) throw new Error(`state '${state}': no wait or runner task closed before it entered`);
      overhead.afterPreviousMs = ms(run.startedOn, "startedOn") - Math.max(...closed);
    }
    out.push(overhead);
  }
  return out;
}
