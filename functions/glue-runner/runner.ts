// What one runner invocation does for each kind of event.
import { pollActivity } from "../shared/sfn";
import { checkAllRuns, checkOneRun } from "./check";
import { emptySummary, type RunnerDeps, type RunnerSummary } from "./deps";
import type { RunnerRequest } from "./events";
import { acceptTask } from "./start";

export interface Invocation {
  workerName: string;
  remainingMs: () => number;
}

export async function runRunner(deps: RunnerDeps, request: RunnerRequest, invocation: Invocation): Promise<RunnerSummary> {
  const summary = emptySummary();
  if (request.kind === "checkRun") {
    await checkOneRun(deps, request.jobName, request.jobRunId, summary);
    return summary;
  }
  // Poll until an empty poll: a kick's task is scheduled within seconds, and the fallback
  // schedule picks up anything a lost kick left behind.
  let pollError: unknown;
  try {
    await pollActivity(
      deps.sfn,
      { activityArn: deps.config.activityArn, workerName: invocation.workerName, maxTasks: deps.config.maxTasksPerInvocation, remainingMs: invocation.remainingMs },
      (task) => acceptTask(deps, task, summary),
    );
  } catch (error) {
    pollError = error;
  }
  // A failed poll must not stop the check cycle: running tasks still need their heartbeats.
  if (request.kind === "scheduled") await checkAllRuns(deps, summary);
  if (pollError) throw pollError;
  return summary;
}
