// Matching parked waits with unconsumed uploads. Every step is a conditional write, so concurrent
// invocations (the S3 path and the poll path) never release a wait twice or use an upload twice.
import { describeError } from "../shared/aws-errors";
import { sendTaskSuccess } from "../shared/sfn";
import type { Arrival, ParkedWait } from "./arrivals-table";
import type { ArrivalDeps, ArrivalSummary } from "./deps";

type ReleaseResult = "released" | "arrivalTaken" | "waitGone" | "error";

/** The wait task's output. */
export function waitOutput(a: Arrival) {
  return { dataset: a.dataset, bucket: a.bucket, key: a.key, size: a.size, eTag: a.eTag, eventTime: a.eventTime };
}

/**
 * Releases every parked wait of `dataset` that has an unconsumed upload at or after its dataSince.
 * Waits are served oldest dataSince first, each with the oldest upload it may use.
 */
export async function releaseWaits(deps: ArrivalDeps, dataset: string, summary: ArrivalSummary): Promise<void> {
  const waits = await deps.table.waits(dataset);
  if (waits.length === 0) return;
  const pool = await deps.table.unconsumedArrivals(dataset, waits[0].dataSince);
  for (const wait of waits) {
    for (let i = 0; i < pool.length; i++) {
      const arrival = pool[i];
      if (arrival.eventTime < wait.dataSince) continue; // stale for this execution
      const result = await release(deps, wait, arrival);
      if (result === "released") summary.released++;
      if (result === "error") summary.errors++;
      if (result === "released" || result === "arrivalTaken") pool.splice(i, 1);
      if (result !== "arrivalTaken") break; // next wait
      i--;
    }
  }
}

/** Claim the upload, delete the parked wait, then SendTaskSuccess; undo the claim if the wait is gone. */
async function release(deps: ArrivalDeps, wait: ParkedWait, arrival: Arrival): Promise<ReleaseResult> {
  const { table, sfn, logger } = deps;
  const context = { dataset: wait.dataset, executionArn: wait.executionArn, key: arrival.key, eventTime: arrival.eventTime };
  if (!(await table.claimArrival(arrival, wait.executionArn))) return "arrivalTaken";
  let waitDeleted: boolean;
  try {
    waitDeleted = await table.deleteWait(wait);
  } catch (error) {
    // DynamoDB error (not a failed condition): the wait stays parked, so the upload must not stay consumed.
    logger.error("could not delete the parked wait; upload given back", { ...context, error: describeError(error) });
    await giveBack(deps, arrival, wait.executionArn);
    return "error";
  }
  if (!waitDeleted) {
    await giveBack(deps, arrival, wait.executionArn);
    return "waitGone";
  }
  try {
    if ((await sendTaskSuccess(sfn, wait.taskToken, waitOutput(arrival))) === "sent") {
      logger.info("wait released", context);
      await deps.announceRunnerTask?.({ closed: "wait", dataset: wait.dataset, executionArn: wait.executionArn }, logger);
      return "released";
    }
    logger.info("wait task was already closed; upload given back", context);
    await giveBack(deps, arrival, wait.executionArn);
    return "waitGone";
  } catch (error) {
    // SFN unavailable: put the token back and the upload with it, so the next attempt can release it.
    logger.error("SendTaskSuccess failed; parking the wait again", { ...context, error: describeError(error) });
    try {
      await table.parkWait(wait, deps.now());
    } catch (parkError) {
      logger.error("could not park the wait again; its token is lost until the task times out", { ...context, error: describeError(parkError) });
    }
    await giveBack(deps, arrival, wait.executionArn);
    return "error";
  }
}

async function giveBack(deps: ArrivalDeps, arrival: Arrival, executionArn: string): Promise<void> {
  try {
    await deps.table.unclaimArrival(arrival, executionArn);
  } catch (error) {
    deps.logger.error("could not give the upload back", { dataset: arrival.dataset, key: arrival.key, executionArn, error: describeError(error) });
  }
}
