// Checking active runs: map each tracked task to its run's state on its engine and answer SFN accordingly.
import { mapConcurrent } from "../shared/concurrency";
import { describeError } from "../shared/aws-errors";
import { sendTaskFailure, sendTaskHeartbeat, sendTaskSuccess, type SendOutcome } from "../shared/sfn";
import { RUNNER_ERRORS, type RunnerDeps, type RunnerSummary } from "./deps";
import { STALE_CLAIM_MS, type EngineAdapter, type EngineName, type EngineRun, type RunListing, type RunLookup } from "./engine";
import type { RunTarget } from "./events";
import { isTransientS3Error, type PublishTarget } from "./publish";
import { stagingRunUri } from "./s3-uri";
import { claimedByEarlierRunner, type RunItem } from "./runs-table";
import { failureCause } from "./failure-cause";
import { logContext, removeItem, startRun, stopRun } from "./start";
import { parseTaskInput } from "../shared/task-input";
import { runnerTaskInput } from "./task-input";
import { isDataQualityMessage, runCounts, type RunCounts } from "../../core/quality";


/**
 * The longest a cycle's claim to answer an ended run's task holds: Lambda's longest timeout (900 s). A claim made in
 * a Lambda invocation holds until that invocation's end, when its cycle is either done or cut off.
 */
export const ANSWER_CLAIM_MS = 900_000;

/** The task output on success (docs/architecture.md); engines add their own fields (outputFields). */
export interface RunnerOutput {
  jobName: string;
  engine: EngineName;
  runId: string;
  state: string;
  startedOn?: string;
  completedOn?: string;
  executionTime?: number;
  /** Rows read and dropped per input, and rows written, where the engine reports them. */
  counts?: RunCounts;
  [engineField: string]: string | number | RunCounts | undefined;
}

export type { RunCounts };


export function successOutput(jobName: string, engine: EngineName, run: EngineRun, counts?: RunCounts): RunnerOutput {
  return {
    jobName,
    engine,
    runId: run.runId,
    state: run.state,
    startedOn: run.startedOn?.toISOString(),
    completedOn: run.completedOn?.toISOString(),
    executionTime: run.executionTime,
    ...run.outputFields,
    ...((counts ?? run.counts) && { counts: counts ?? runCounts(run.counts!) }),
  };
}

/** One check cycle over every tracked task (all pages of the table), each engine asked in batches. */
export async function checkAllRuns(deps: RunnerDeps, summary: RunnerSummary): Promise<void> {
  const { table, config, logger } = deps;
  const { items, unreadable } = await table.scanAll();
  if (unreadable) logger.warn("ignoring unreadable items in the runs table", { table: table.tableName, count: unreadable });
  const now = deps.now().getTime();
  const isStale = (item: RunItem) => item.status === "STARTING" && now - Date.parse(item.claimedAt) >= STALE_CLAIM_MS;

  // engine -> job -> items
  const byEngine = new Map<EngineAdapter, Map<string, RunItem[]>>();
  for (const item of items) {
    const adapter = deps.engines.of(item.jobName);
    const jobs = byEngine.get(adapter) ?? byEngine.set(adapter, new Map()).get(adapter)!;
    const jobItems = jobs.get(item.jobName);
    if (jobItems) jobItems.push(item);
    else jobs.set(item.jobName, [item]);
  }

  const listings = new Map<EngineAdapter, RunListing>();
  await Promise.all(
    [...byEngine].map(async ([adapter, jobs]) => {
      const queries = [...jobs]
        .map(([jobName, jobItems]) => ({
          jobName,
          runIds: new Set(jobItems.flatMap((i) => (i.jobRunId ? [i.jobRunId] : []))),
          taskIds: new Set(jobItems.filter(isStale).map((i) => i.taskId)),
          earlierRunnerRunIds: new Set(jobItems.flatMap((i) => (i.jobRunId && claimedByEarlierRunner(i) ? [i.jobRunId] : []))),
        }))
        .filter((q) => q.runIds.size + q.taskIds.size > 0);
      if (queries.length === 0) return;
      try {
        listings.set(adapter, await adapter.describeRuns(queries, config.engineConcurrency));
      } catch (error) {
        // Nothing seen: runs are asked one by one, stale claims wait (their run may exist).
        listings.set(adapter, { runs: new Map(), runsByTask: new Map(), unsearchedJobs: new Set(queries.map((q) => q.jobName)) });
        logger.warn("describing runs failed; asking run by run, stale claims wait for the next cycle", { engine: adapter.engine, error: describeError(error) });
      }
    }),
  );
  const listingOf = (item: RunItem) => listings.get(deps.engines.of(item.jobName));

  const runs = new Map<string, RunLookup | undefined>();
  for (const listing of listings.values()) for (const [runId, run] of listing.runs) runs.set(runId, run);
  const unlisted = items.filter((i) => i.jobRunId && !runs.has(i.jobRunId));
  await mapConcurrent(unlisted, config.engineConcurrency, async (item) => {
    runs.set(item.jobRunId!, await describeRun(deps, item.jobName, item.jobRunId!, claimedByEarlierRunner(item)));
  });

  await mapConcurrent(items, config.engineConcurrency, async (item) => {
    try {
      if (item.jobRunId) {
        const run = runs.get(item.jobRunId);
        if (run) await applyRunState(deps, item, run, summary);
        // Unread this cycle (logged): the task is kept alive, not left to die by its heartbeat timeout.
        else if ((await sendTaskHeartbeat(deps.sfn, item.taskToken)) === "sent") summary.heartbeats++;
      } else if (isStale(item)) {
        const listing = listingOf(item);
        if (!listing || listing.unsearchedJobs.has(item.jobName)) {
          logger.warn("stale claim left for the next cycle: its job's runs could not be searched", logContext(item));
          return;
        }
        await recoverStaleClaim(deps, item, listing.runsByTask.get(item.taskId), summary);
      }
    } catch (error) {
      summary.errors++;
      logger.error("could not settle task", { ...logContext(item), error: describeError(error) });
    }
  });
}

/**
 * Checks the one run named by a state-change event or a checkRun request. Without a job name (Athena's events name
 * the query, not the job), the items of every job on that engine are searched.
 */
export async function checkOneRun(deps: RunnerDeps, target: RunTarget, summary: RunnerSummary): Promise<void> {
  const { jobRunId } = target;
  const jobNames = target.jobName !== undefined ? [target.jobName] : deps.engines.jobsOn(target.engine);
  const tracked = (await Promise.all(jobNames.map((job) => deps.table.queryJob(job)))).flat();
  let items = tracked.filter((i) => i.jobRunId === jobRunId);
  if (items.length === 0 && jobNames.length > 0) {
    // A helper run of a tracked one (Athena: its counts statement) wakes the run it belongs to.
    const taskId = await deps.engines.of(jobNames[0]).taskOfHelperRun?.(jobRunId);
    items = tracked.filter((i) => taskId !== undefined && i.taskId === taskId && i.jobRunId !== undefined);
  }
  if (items.length === 0) {
    deps.logger.info("run is not tracked by the runner", { ...target });
    return;
  }
  const jobName = items[0].jobName;
  const runId = items[0].jobRunId!;
  const run = await describeRun(deps, jobName, runId, claimedByEarlierRunner(items[0]));
  if (!run) throw new Error(`could not read ${deps.engines.of(jobName).label} run ${runId} of job ${jobName}`);
  for (const item of items) await applyRunState(deps, item, run, summary);
}

/** One run; undefined when the engine could not be asked (logged; the next cycle asks again). */
async function describeRun(deps: RunnerDeps, jobName: string, jobRunId: string, byEarlierRunner: boolean): Promise<RunLookup | undefined> {
  const adapter = deps.engines.of(jobName);
  try {
    return await adapter.describeRun(jobName, jobRunId, byEarlierRunner);
  } catch (error) {
    deps.logger.warn("describing the run failed; retrying next cycle", { jobName, engine: adapter.engine, jobRunId, error: describeError(error) });
    return undefined;
  }
}

/** Answers SFN for one tracked run: success, failure, or a heartbeat while it is in progress. */
export async function applyRunState(deps: RunnerDeps, item: RunItem, run: RunLookup, summary: RunnerSummary): Promise<void> {
  const { sfn, logger } = deps;
  summary.runsChecked++;
  // The common case at scale (every run in progress): one heartbeat, nothing else built per run.
  const heartbeat = run !== "missing" && run.status === "running" ? await sendTaskHeartbeat(sfn, item.taskToken) : undefined;
  if (heartbeat === "sent") {
    summary.heartbeats++;
    return;
  }
  const adapter = deps.engines.of(item.jobName);
  const jobRunId = item.jobRunId ?? (run === "missing" ? "" : run.runId);
  const context = { ...logContext(item), engine: adapter.engine, jobRunId };
  if (heartbeat === "gone" && run !== "missing") {
    logger.warn("task is gone while its run is in progress; removing it", { ...context, state: run.state });
    await removeItem(deps, item);
    if (run.stoppable) await stopRun(deps, item.jobName, jobRunId);
    return;
  }
  // A schedule and a state-change event can check the same ended run at once: one cycle answers, the other leaves it.
  const claimedAt = await claimAnswer(deps, item, context, summary);
  if (claimedAt === undefined) return;
  try {
    await answerEndedRun(deps, item, run, jobRunId, claimedAt, context, summary);
  } catch (error) {
    // Whatever threw (SFN throttled, the spec unreadable), the next cycle answers: it must not wait out the claim.
    await releaseAnswer(deps, item, claimedAt, context);
    throw error;
  }
}

/** Gives up this cycle's claim to answer (best effort: an unreleased claim only delays the answer, logged). */
async function releaseAnswer(deps: RunnerDeps, item: RunItem, claimedAt: string, context: Record<string, unknown>): Promise<void> {
  try {
    await deps.table.releaseAnswer(item, claimedAt);
  } catch (error) {
    deps.logger.warn("could not release the claim to answer; the task waits for it to expire", { ...context, error: describeError(error) });
  }
}

/** Answers an ended run's task under this cycle's claim (made at `claimedAt`). */
async function answerEndedRun(deps: RunnerDeps, item: RunItem, run: RunLookup, jobRunId: string, claimedAt: string, context: Record<string, unknown>, summary: RunnerSummary): Promise<void> {
  const { sfn, logger } = deps;
  const adapter = deps.engines.of(item.jobName);
  const causeOf = (state: string, message: string) => failureCause({ jobName: item.jobName, engine: adapter.engine, runId: jobRunId, state }, message);
  // A failure is reported even when the spec cannot be read (its staged objects then stay); a success needs it.
  const failedTarget = () => deps.publisher.target(item.jobName, adapter.engine).catch((error) => void logger.warn("job spec unreadable; staged objects are left", { ...context, error: describeError(error) }));
  let state = run === "missing" ? "NOT_FOUND" : run.state;
  let outcome: SendOutcome;
  let succeeded = false;
  let target: PublishTarget | undefined;
  if (run === "missing") {
    target = await failedTarget();
    if (target) await discardStaging(deps, target, item, context);
    outcome = await sendTaskFailure(sfn, item.taskToken, RUNNER_ERRORS.jobFailed, causeOf(state, `${adapter.label} has no such run`));
  } else if (run.status === "failed") {
    target = await failedTarget();
    if (target) await discardStaging(deps, target, item, context);
    const error = isDataQualityMessage(run.errorMessage) ? RUNNER_ERRORS.dataQuality : RUNNER_ERRORS.jobFailed;
    outcome = await sendTaskFailure(sfn, item.taskToken, error, causeOf(state, run.errorMessage ?? ""));
  } else {
    target = await deps.publisher.target(item.jobName, adapter.engine);
    const published = target ? await publishResult(deps, target, item, context) : { counts: await glueCounts(deps, item, context) };
    if (published === "retry") {
      // Transient S3 trouble: the task stays open (heartbeat) and the next cycle publishes again.
      try {
        if ((await sendTaskHeartbeat(sfn, item.taskToken)) === "sent") summary.heartbeats++;
      } finally {
        await releaseAnswer(deps, item, claimedAt, context);
      }
      return;
    }
    if ("counts" in published) {
      outcome = await sendTaskSuccess(sfn, item.taskToken, successOutput(item.jobName, adapter.engine, run, published.counts));
      succeeded = true;
    } else {
      state = published.state;
      outcome = await sendTaskFailure(sfn, item.taskToken, RUNNER_ERRORS.jobFailed, causeOf(published.state, published.message));
    }
  }
  // Only once answered: a cycle that answers again (this one's answer refused) reads the run's counts again.
  if (target) await deps.publisher.finish(target, item.taskId).catch((error) => logger.warn("could not delete the publish marker and the run's counts", { ...context, error: describeError(error) }));
  logger.info(outcome === "sent" ? "task closed" : "task was already gone", { ...context, state });
  if (outcome === "sent") summary.closed++;
  // The workflow schedules its next runner task right after this one succeeds: wake a runner to take it now.
  if (outcome === "sent" && succeeded) await deps.announceRunnerTask?.({ closed: "job", jobName: item.jobName }, logger);
  await removeItem(deps, item);
}

/**
 * Claims answering an ended run's task (runs table, conditional write) until this invocation ends; the claim's time,
 * or undefined when another cycle holds the claim (the task is kept alive with a heartbeat: that cycle may have died)
 * or the task was answered.
 */
async function claimAnswer(deps: RunnerDeps, item: RunItem, context: Record<string, unknown>, summary: RunnerSummary): Promise<string | undefined> {
  const now = deps.now();
  const at = now.toISOString();
  const holdMs = Math.min(ANSWER_CLAIM_MS, deps.remainingMs?.() ?? ANSWER_CLAIM_MS);
  const until = new Date(now.getTime() + holdMs).toISOString();
  if (await deps.table.claimAnswer(item, at, until, new Date(now.getTime() - ANSWER_CLAIM_MS).toISOString())) return at;
  const outcome = await sendTaskHeartbeat(deps.sfn, item.taskToken);
  if (outcome === "sent") summary.heartbeats++;
  deps.logger.info("another cycle is answering the task; leaving it", { ...context, taskOpen: outcome === "sent" });
  return undefined;
}

/**
 * The counts object a Glue run wrote beside its output (GLUE_COUNTS_URIS). Its output is already in place, so a
 * missing or foreign object (a script deployed before counts existed) only leaves the counts out of the task output.
 */
async function glueCounts(deps: RunnerDeps, item: RunItem, context: Record<string, unknown>): Promise<RunCounts | undefined> {
  const uri = deps.config.glueCountsUris?.[item.jobName];
  if (!uri) return undefined;
  try {
    return await deps.publisher.readCountsAt(uri, item.taskId);
  } catch (error) {
    deps.logger.warn("the run's counts are unreadable; the task output goes without them", { ...context, countsUri: uri, error: describeError(error) });
    return undefined;
  }
}

/** Publishes a succeeded run's staged result; a run that staged nothing, or an S3 refusal, fails the task. */
async function publishResult(deps: RunnerDeps, target: PublishTarget, item: RunItem, context: Record<string, unknown>): Promise<{ counts: RunCounts | undefined } | "retry" | { state: string; message: string }> {
  try {
    const result = await deps.publisher.publish(target, item.taskId);
    if (result === "empty") return { state: "NO_OUTPUT", message: `the run succeeded but wrote nothing under ${stagingRunUri(target.stagingUri, item.taskId)}: a run that keeps no data does not succeed` };
    deps.logger.info("published the run's output", { ...context, objects: result.published, outputUri: target.outputUri });
    return { counts: result.counts };
  } catch (error) {
    if (isTransientS3Error(error)) {
      deps.logger.warn("publishing failed; retrying next cycle", { ...context, error: describeError(error) });
      return "retry";
    }
    deps.logger.error("publishing refused; failing the task", { ...context, error: describeError(error) });
    return { state: "PUBLISH_FAILED", message: `publishing ${stagingRunUri(target.stagingUri, item.taskId)} to ${target.outputUri} failed: ${describeError(error)}` };
  }
}

/** A run that did not succeed leaves the output untouched; what it staged is deleted (best effort, logged). */
async function discardStaging(deps: RunnerDeps, target: PublishTarget, item: RunItem, context: Record<string, unknown>): Promise<void> {
  try {
    await deps.publisher.discard(target, item.taskId);
  } catch (error) {
    deps.logger.warn("could not delete the failed run's staged objects", { ...context, error: describeError(error) });
  }
}

/** A claim whose start never got recorded: adopt the run carrying its task id, or start again. */
async function recoverStaleClaim(deps: RunnerDeps, item: RunItem, adoptable: EngineRun | undefined, summary: RunnerSummary): Promise<void> {
  const { sfn, table, logger } = deps;
  const context = logContext(item);
  if ((await sendTaskHeartbeat(sfn, item.taskToken)) === "gone") {
    logger.warn("stale claim of a closed task; removing it", { ...context, adoptedRun: adoptable?.runId });
    await removeItem(deps, item);
    if (adoptable?.runId && adoptable.stoppable) await stopRun(deps, item.jobName, adoptable.runId);
    return;
  }
  summary.heartbeats++;
  const claimedAt = deps.now().toISOString();
  if (!(await table.reclaim(item, claimedAt))) return; // another invocation took it over
  const mine: RunItem = { ...item, claimedAt };
  if (adoptable?.runId) {
    logger.info("adopting unrecorded run", { ...context, jobRunId: adoptable.runId });
    if (!(await table.markRunning(mine, adoptable.runId, (adoptable.startedOn ?? deps.now()).toISOString()))) {
      logger.warn("claim lost before the adopted run was recorded; leaving it to its new holder", { ...context, jobRunId: adoptable.runId });
      return;
    }
    // A listing lacks what the engine's full read adds (Athena: the counts and the data-quality gate; EMR Serverless:
    // execution times): a run that ended is read as a recorded run is. Unread, or not found by a read lagging the listing
    // that just found it, it stays recorded (heartbeat sent) for the next cycle.
    const run = adoptable.status === "running" ? adoptable : await describeRun(deps, item.jobName, adoptable.runId, claimedByEarlierRunner(item));
    if (run && run !== "missing") await applyRunState(deps, { ...mine, status: "RUNNING", jobRunId: adoptable.runId }, run, summary);
    else logger.warn("the adopted run could not be read in full; left recorded for the next cycle", { ...context, jobRunId: adoptable.runId, found: run !== "missing" });
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
