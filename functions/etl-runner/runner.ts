// What one runner invocation does for each kind of event.
import { pollActivity, type Invocation } from "../shared/sfn";
import { checkAllRuns, checkOneRun } from "./check";
import { emptySummary, type RunnerDeps, type RunnerSummary } from "./deps";
import type { RunnerRequest } from "./events";
import { acceptTask } from "./start";

export type { Invocation };

export async function runRunner(container: RunnerDeps, request: RunnerRequest, invocation: Invocation): Promise<RunnerSummary> {
  // A start late in the invocation must answer before the Lambda timeout cuts it off (startRun's deadline).
  const deps: RunnerDeps = { ...container, remainingMs: invocation.remainingMs };
  const summary = emptySummary();
  if (request.kind === "checkRun") {
    const { kind: _, ...target } = request;
    await checkOneRun(deps, target, summary);
    return summary;
  }
  // The fallback schedule checks first: a run that ended must not wait out a 60 s long-poll to be
  // reported. A failed check must not stop the poll (tasks are waiting), nor the other way round.
  let error: unknown;
  if (request.kind === "scheduled") await checkAllRuns(deps, summary).catch((e) => (error = e));
  // Poll until an empty poll: after a RunnerTaskScheduled or RUNNING event the task is scheduled within
  // seconds, and the fallback schedule picks up anything a lost event left behind.
  await pollActivity(
    deps.sfn,
    { activityArn: deps.config.activityArn, workerName: invocation.workerName, maxTasks: deps.config.maxTasksPerInvocation, remainingMs: invocation.remainingMs },
    (task) => acceptTask(deps, task, summary),
  ).catch((e) => (error ??= e));
  if (error) throw error;
  return summary;
}
