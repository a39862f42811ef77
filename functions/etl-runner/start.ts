// Accepting a runner task: validate, claim the item, start the run on the job's engine, record the run.
import { describeError, isServiceError } from "../shared/aws-errors";
import { sendFinalTaskFailure, sendTaskFailure, taskIdOf, type ActivityTask } from "../shared/sfn";
import { RUNNER_ERRORS, type RunnerDeps, type RunnerSummary } from "./deps";
import { JobInputError, JobInputReadError, StartDeferredError, type EngineAdapter } from "./engine";
import { failureCause } from "./failure-cause";
import { JobSpecError } from "./job-specs";
import { RUNNER_VERSION, type RunItem } from "./runs-table";
import { parseTaskInput } from "../shared/task-input";
import { runnerTaskInput, type RunnerTaskInput } from "./task-input";

export { taskIdOf };

/** The part of the invocation a start leaves for recording its outcome (DynamoDB, SFN) after the adapter answered. */
export const START_OUTCOME_MARGIN_MS = 10_000;

/** The deadline of an adapter's start (epoch ms): the invocation's end less the margin; undefined without a Lambda context. */
export function startDeadline(deps: Pick<RunnerDeps, "remainingMs">): number | undefined {
  const remaining = deps.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  return Number.isFinite(remaining) ? Date.now() + remaining - START_OUTCOME_MARGIN_MS : undefined;
}

/** The error name a start error is reported with: JobRetryableError (the ASL retries it) or JobStartError. */
export function startErrorName(adapter: EngineAdapter, error: Error): string {
  return adapter.classifyStartError(error) === "retryable" ? RUNNER_ERRORS.retryable : RUNNER_ERRORS.start;
}

/** Handles one task from GetActivityTask; every token ends answered or recorded. */
export async function acceptTask(deps: RunnerDeps, task: ActivityTask, summary: RunnerSummary): Promise<void> {
  const { sfn, table, logger } = deps;
  const taskId = taskIdOf(task.taskToken);
  summary.tasksReceived++;
  const parsed = parseTaskInput(runnerTaskInput, task.input);
  if (!parsed.ok) {
    summary.tasksRejected++;
    logger.warn("rejecting runner task", { taskId, problem: parsed.problem });
    const outcome = await sendFinalTaskFailure(sfn, logger, task.taskToken, RUNNER_ERRORS.invalidInput, parsed.problem, { taskId });
    if (outcome === "gone") logger.warn("rejected task was already closed", { taskId });
    return;
  }
  const input = parsed.value;
  const now = deps.now();
  const item: RunItem = {
    jobName: input.JobName,
    taskId,
    taskToken: task.taskToken,
    status: "STARTING",
    taskInput: task.input,
    claimedAt: now.toISOString(),
    executionArn: input.executionArn,
    executionName: input.Arguments?.["--etl_execution"],
    runnerVersion: RUNNER_VERSION,
  };
  const context = logContext(item);
  let claimed: boolean;
  try {
    claimed = await table.claim(item, now);
  } catch (error) {
    // Without the item nobody could track the run: fail the task (the ASL retries) instead of dropping it.
    summary.errors++;
    logger.error("cannot record the task; failing it", { ...context, error: describeError(error) });
    const cause = `could not record the task in DynamoDB table ${table.tableName}: ${describeError(error)}`;
    await sendFinalTaskFailure(sfn, logger, task.taskToken, RUNNER_ERRORS.retryable, cause, context);
    return;
  }
  if (!claimed) {
    logger.warn("task already claimed", context);
    return;
  }
  await startRun(deps, item, input, summary);
}

/** Starts the run of a claimed item on its job's engine, then records the run id. */
export async function startRun(deps: RunnerDeps, item: RunItem, input: RunnerTaskInput, summary: RunnerSummary): Promise<void> {
  const { sfn, table, logger } = deps;
  const adapter = deps.engines.of(item.jobName);
  const context = { ...logContext(item), engine: adapter.engine };
  /** Fails the task (the item's run was not started or is over) and forgets the item. */
  const failTask = async (errorName: string, cause: string) => {
    const outcome = await sendTaskFailure(sfn, item.taskToken, errorName, cause);
    if (outcome === "gone") logger.warn("task was already closed", context);
    await removeItem(deps, item);
  };
  let jobRunId: string | undefined;
  try {
    jobRunId = await adapter.start({ jobName: item.jobName, taskId: item.taskId, input, deadline: startDeadline(deps) });
  } catch (error) {
    if (error instanceof StartDeferredError) {
      // Failing it would spend one of the ASL's retries on the invocation's timing: the check cycle restarts it.
      logger.warn("too little of the invocation left to start; the check cycle restarts it once the claim is stale", { ...context, reason: error.message });
      return;
    }
    if (error instanceof JobSpecError || error instanceof JobInputReadError) {
      // Nothing was started: the spec or an input could not be read (retryable) or the spec is wrong (permanent).
      const errorName = error.retryable ? RUNNER_ERRORS.retryable : RUNNER_ERRORS.start;
      logger.warn(error instanceof JobSpecError ? "job spec unusable; failing the task" : "input not checked; failing the task", { ...context, errorName, error: error.message });
      return failTask(errorName, `${adapter.label} job ${item.jobName} not started: ${error.message}`);
    }
    if (error instanceof JobInputError) {
      // Nothing was started: the input is refused as the job on another engine would refuse it.
      logger.warn("input refused; failing the task", { ...context, error: error.message });
      return failTask(RUNNER_ERRORS.jobFailed, failureCause({ jobName: item.jobName, engine: adapter.engine, runId: "", state: "INPUT_REFUSED" }, error.message));
    }
    if (!isServiceError(error)) {
      // No answer (network, timeout): the run may exist. The item stays STARTING; the check cycle
      // adopts the run by its task id or starts it again.
      summary.errors++;
      logger.warn(`${adapter.startCall} unanswered; the check cycle will adopt or restart the run`, { ...context, error: describeError(error) });
      return;
    }
    const errorName = startErrorName(adapter, error);
    logger.warn(`${adapter.startCall} failed`, { ...context, errorName, error: describeError(error) });
    return failTask(errorName, `${adapter.startCall} for ${adapter.label} job ${item.jobName} failed: ${describeError(error)}`);
  }
  if (!jobRunId) {
    summary.errors++;
    logger.error(`${adapter.startCall} answered without a run id; the check cycle will adopt or restart the run`, context);
    return;
  }
  summary.tasksStarted++;
  logger.info("run started", { ...context, jobRunId });
  try {
    if (!(await table.markRunning(item, jobRunId, deps.now().toISOString()))) {
      // The claim is no longer ours: the task closed (item removed), or the start answered so late
      // that another invocation re-claimed the task and started or adopted a run of its own. Nothing
      // will track this run, so stop it rather than overwrite the other invocation's run id.
      logger.warn("claim lost before the run was recorded; stopping this invocation's run", { ...context, jobRunId, claimedAt: item.claimedAt });
      await stopRun(deps, item.jobName, jobRunId);
    }
  } catch (error) {
    summary.errors++;
    logger.error("run started but not recorded; the check cycle will adopt it by its task id", { ...context, jobRunId, error: describeError(error) });
  }
}

/** Deletes an item; a failure is logged (a leftover item is cleaned up by the check cycle). */
export async function removeItem(deps: RunnerDeps, item: RunItem): Promise<void> {
  try {
    await deps.table.remove(item);
  } catch (error) {
    deps.logger.error("could not delete the task item", { taskId: item.taskId, jobName: item.jobName, error: describeError(error) });
  }
}

/** Stops a run nobody waits for any more, so it stops costing money. */
export async function stopRun(deps: RunnerDeps, jobName: string, jobRunId: string): Promise<void> {
  const adapter = deps.engines.of(jobName);
  try {
    await adapter.stop(jobName, jobRunId);
    deps.logger.info("stopped orphan run", { jobName, engine: adapter.engine, jobRunId });
  } catch (error) {
    deps.logger.error("could not stop orphan run", { jobName, engine: adapter.engine, jobRunId, error: describeError(error) });
  }
}

/** What every log line about a task carries (undefined fields are left out by the logger). */
export function logContext(item: RunItem) {
  return { taskId: item.taskId, jobName: item.jobName, jobRunId: item.jobRunId, executionArn: item.executionArn, executionName: item.executionName };
}
