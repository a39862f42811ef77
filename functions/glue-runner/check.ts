// Checking active runs: map each tracked task to its Glue run state and answer SFN accordingly.
import { GetJobRunCommand, GetJobRunsCommand, type JobRun } from "@aws-sdk/client-glue";
import { mapConcurrent } from "../shared/concurrency";
import { describeError } from "../shared/aws-errors";
import { LIMITS, sendTaskFailure, sendTaskHeartbeat, sendTaskSuccess, type SendOutcome } from "../shared/sfn";
import { RUNNER_ERRORS, type RunnerDeps, type RunnerSummary } from "./deps";
import type { RunItem } from "./runs-table";
import { logContext, removeItem, startRun, stopRun, TASK_ID_ARGUMENT } from "./start";
import { parseTaskInput } from "../shared/task-input";
import { runnerTaskInput } from "./task-input";
import { isDataQualityMessage } from "../../core/quality";

const SUCCEEDED = "SUCCEEDED";
const FAILED_STATES = new Set(["FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"]);
/** States in which a run still costs money and can be stopped (STOPPING is already on its way). */
const STOPPABLE_STATES = new Set(["STARTING", "RUNNING", "WAITING"]);

/** A STARTING claim older than this is taken over: its invocation died or lost StartJobRun's answer. */
export const STALE_CLAIM_MS = 120_000;
/** GetJobRuns pages read per job per cycle before falling back to GetJobRun. */
const MAX_JOB_RUNS_PAGES = 5;

/** A Glue run, "missing" when Glue does not know it, undefined when Glue could not be asked. */
type RunLookup = JobRun | "missing" | undefined;

export interface RunnerOutput {
  jobName: string;
  jobRunId: string;
  state: string;
  startedOn?: string;
  completedOn?: string;
  executionTime?: number;
}

/**
 * The cause of GlueJobFailedError: JSON that fits the SFN limit as sent (escaping included), so the
 * generic truncation in sendTaskFailure never cuts it into invalid JSON.
 */
export function failureCause(jobName: string, jobRunId: string, state: string, errorMessage: string): string {
  const cause = (message: string) => JSON.stringify({ jobName, jobRunId, state, errorMessage: message });
  const whole = cause(errorMessage);
  if (whole.length <= LIMITS.cause) return whole;
  const shortened = (length: number) => {
    let head = errorMessage.slice(0, length);
    if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // never split a surrogate pair
    return cause(`${head}...`);
  };
  // Escaping makes a character cost 1 to 6 in the JSON: find the longest prefix that fits.
  let [fits, tooLong] = [0, errorMessage.length];
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (shortened(middle).length <= LIMITS.cause) fits = middle;
    else tooLong = middle;
  }
  const result = shortened(fits);
  // Only when the job name, run id and state alone exceed the limit (they cannot: Glue caps them).
  return result.length <= LIMITS.cause ? result : cause("").slice(0, LIMITS.cause);
}

export function successOutput(jobName: string, run: JobRun): RunnerOutput {
  return {
    jobName,
    jobRunId: run.Id ?? "",
    state: run.JobRunState ?? SUCCEEDED,
    startedOn: run.StartedOn?.toISOString(),
    completedOn: run.CompletedOn?.toISOString(),
    executionTime: run.ExecutionTime,
  };
}

/** One check cycle over every tracked task (all pages of the table). */
export async function checkAllRuns(deps: RunnerDeps, summary: RunnerSummary): Promise<void> {
  const { table, config, logger } = deps;
  const { items, unreadable } = await table.scanAll();
  if (unreadable) logger.warn("ignoring unreadable items in the runs table", { table: table.tableName, count: unreadable });
  const now = deps.now().getTime();
  const isStale = (item: RunItem) => item.status === "STARTING" && now - Date.parse(item.claimedAt) >= STALE_CLAIM_MS;

  const byJob = new Map<string, RunItem[]>();
  for (const item of items) {
    const jobItems = byJob.get(item.jobName);
    if (jobItems) jobItems.push(item);
    else byJob.set(item.jobName, [item]);
  }

  const runs = new Map<string, RunLookup>();
  const runsByTask = new Map<string, JobRun>();
  // Jobs whose listing failed: a stale claim of theirs may have a run we could not see, so it is not
  // recovered this cycle (recovery would start a second run).
  const unlistedJobs = new Set<string>();
  await mapConcurrent([...byJob], config.glueConcurrency, async ([jobName, jobItems]) => {
    const runIds = new Set(jobItems.flatMap((i) => (i.jobRunId ? [i.jobRunId] : [])));
    const taskIds = new Set(jobItems.filter(isStale).map((i) => i.taskId));
    if (runIds.size + taskIds.size === 0) return;
    try {
      for (const run of await listJobRuns(deps, jobName, runIds, taskIds)) {
        if (run.Id && runIds.has(run.Id)) runs.set(run.Id, run);
        const taskId = run.Arguments?.[TASK_ID_ARGUMENT];
        if (taskId && taskIds.has(taskId)) runsByTask.set(taskId, run);
      }
    } catch (error) {
      unlistedJobs.add(jobName);
      logger.warn("GetJobRuns failed; asking run by run, stale claims wait for the next cycle", { jobName, error: describeError(error) });
    }
  });
  const unlisted = items.filter((i) => i.jobRunId && !runs.has(i.jobRunId));
  await mapConcurrent(unlisted, config.glueConcurrency, async (item) => {
    runs.set(item.jobRunId!, await getJobRun(deps, item.jobName, item.jobRunId!));
  });

  await mapConcurrent(items, config.glueConcurrency, async (item) => {
    try {
      if (item.jobRunId) {
        const run = runs.get(item.jobRunId);
        if (run) await applyRunState(deps, item, run, summary);
      } else if (isStale(item)) {
        if (unlistedJobs.has(item.jobName)) {
          logger.warn("stale claim left for the next cycle: its job's runs could not be listed", logContext(item));
          return;
        }
        await recoverStaleClaim(deps, item, runsByTask.get(item.taskId), summary);
      }
    } catch (error) {
      summary.errors++;
      logger.error("could not settle task", { ...logContext(item), error: describeError(error) });
    }
  });
}

/** Checks the one run named by a Glue state-change event or a checkRun request. */
export async function checkOneRun(deps: RunnerDeps, jobName: string, jobRunId: string, summary: RunnerSummary): Promise<void> {
  const items = (await deps.table.queryJob(jobName)).filter((i) => i.jobRunId === jobRunId);
  if (items.length === 0) {
    deps.logger.info("run is not tracked by the runner", { jobName, jobRunId });
    return;
  }
  const run = await getJobRun(deps, jobName, jobRunId);
  if (!run) throw new Error(`could not read Glue run ${jobRunId} of job ${jobName}`);
  for (const item of items) await applyRunState(deps, item, run, summary);
}

/** GetJobRuns pages (newest first) until every wanted run and task is found, bounded. */
async function listJobRuns(deps: RunnerDeps, jobName: string, runIds: Set<string>, taskIds: Set<string>): Promise<JobRun[]> {
  const found: JobRun[] = [];
  const missingRuns = new Set(runIds);
  const missingTasks = new Set(taskIds);
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_JOB_RUNS_PAGES; page++) {
    const answer = await deps.glue.send(new GetJobRunsCommand({ JobName: jobName, NextToken: nextToken, MaxResults: 200 }));
    for (const run of answer.JobRuns ?? []) {
      const taskId = run.Arguments?.[TASK_ID_ARGUMENT];
      if ((run.Id && missingRuns.delete(run.Id)) || (taskId && missingTasks.delete(taskId))) found.push(run);
    }
    nextToken = answer.NextToken;
    if (!nextToken || missingRuns.size + missingTasks.size === 0) break;
  }
  return found;
}

async function getJobRun(deps: RunnerDeps, jobName: string, jobRunId: string): Promise<RunLookup> {
  try {
    const answer = await deps.glue.send(new GetJobRunCommand({ JobName: jobName, RunId: jobRunId }));
    return answer.JobRun ?? "missing";
  } catch (error) {
    if (error instanceof Error && error.name === "EntityNotFoundException") return "missing";
    deps.logger.warn("GetJobRun failed; retrying next cycle", { jobName, jobRunId, error: describeError(error) });
    return undefined;
  }
}

/** Answers SFN for one tracked run: success, failure, or a heartbeat while it is in progress. */
export async function applyRunState(deps: RunnerDeps, item: RunItem, run: JobRun | "missing", summary: RunnerSummary): Promise<void> {
  const { sfn, logger } = deps;
  const jobRunId = item.jobRunId ?? (run === "missing" ? "" : (run.Id ?? ""));
  const context = { ...logContext(item), jobRunId };
  summary.runsChecked++;
  let outcome: SendOutcome;
  if (run === "missing") {
    outcome = await sendTaskFailure(sfn, item.taskToken, RUNNER_ERRORS.jobFailed, failureCause(item.jobName, jobRunId, "NOT_FOUND", "Glue has no such job run"));
  } else {
    const state = run.JobRunState ?? "UNKNOWN";
    if (state === SUCCEEDED) {
      outcome = await sendTaskSuccess(sfn, item.taskToken, successOutput(item.jobName, run));
    } else if (FAILED_STATES.has(state)) {
      const error = isDataQualityMessage(run.ErrorMessage) ? RUNNER_ERRORS.dataQuality : RUNNER_ERRORS.jobFailed;
      outcome = await sendTaskFailure(sfn, item.taskToken, error, failureCause(item.jobName, jobRunId, state, run.ErrorMessage ?? ""));
    } else {
      // STARTING, RUNNING, STOPPING, WAITING (and any state Glue adds later): still in progress.
      if ((await sendTaskHeartbeat(sfn, item.taskToken)) === "sent") {
        summary.heartbeats++;
        return;
      }
      logger.warn("task is gone while its run is in progress; removing it", { ...context, state });
      await removeItem(deps, item);
      if (STOPPABLE_STATES.has(state)) await stopRun(deps, item.jobName, jobRunId);
      return;
    }
    logger.info(outcome === "sent" ? "task closed" : "task was already gone", { ...context, state });
  }
  if (outcome === "sent") summary.closed++;
  await removeItem(deps, item);
}

/** A claim whose StartJobRun never got recorded: adopt the run carrying its task id, or start again. */
async function recoverStaleClaim(deps: RunnerDeps, item: RunItem, adoptable: JobRun | undefined, summary: RunnerSummary): Promise<void> {
  const { sfn, table, logger } = deps;
  const context = logContext(item);
  if ((await sendTaskHeartbeat(sfn, item.taskToken)) === "gone") {
    logger.warn("stale claim of a closed task; removing it", { ...context, adoptedRun: adoptable?.Id });
    await removeItem(deps, item);
    if (adoptable?.Id && STOPPABLE_STATES.has(adoptable.JobRunState ?? "")) await stopRun(deps, item.jobName, adoptable.Id);
    return;
  }
  summary.heartbeats++;
  const claimedAt = deps.now().toISOString();
  if (!(await table.reclaim(item, claimedAt))) return; // another invocation took it over
  const mine: RunItem = { ...item, claimedAt };
  if (adoptable?.Id) {
    logger.info("adopting unrecorded Glue run", { ...context, jobRunId: adoptable.Id });
    if (!(await table.markRunning(mine, adoptable.Id, (adoptable.StartedOn ?? deps.now()).toISOString()))) {
      logger.warn("claim lost before the adopted run was recorded; leaving it to its new holder", { ...context, jobRunId: adoptable.Id });
      return;
    }
    await applyRunState(deps, { ...mine, status: "RUNNING", jobRunId: adoptable.Id }, adoptable, summary);
    return;
  }
  const parsed = parseTaskInput(runnerTaskInput, item.taskInput);
  if (!parsed.ok) {
    await sendTaskFailure(sfn, item.taskToken, RUNNER_ERRORS.invalidInput, parsed.problem);
    await removeItem(deps, item);
    return;
  }
  logger.info("restarting a start that never answered", context);
  await startRun(deps, mine, parsed.value, summary);
}
