// What one data-arrival invocation does for each kind of event.
import { describeError } from "../shared/aws-errors";
import { mapConcurrent } from "../shared/concurrency";
import { pollActivity, type Invocation } from "../shared/sfn";
import { emptySummary, type ArrivalDeps, type ArrivalSummary } from "./deps";
import type { ArrivalRequest } from "./events";
import { releaseWaits } from "./release";
import { handleS3Records } from "./uploads";
import { acceptWaitTask } from "./wait-task";

export type { Invocation };

/**
 * Long-polls held at once (each holds a connection up to 60 s, and ends only on an empty poll). A dataset beyond
 * this many waits for a slot, so with more datasets than this, some are polled only by a later wake-up.
 */
export const MAX_CONCURRENT_POLLS = 25;

export async function runDataArrival(deps: ArrivalDeps, request: ArrivalRequest, invocation: Invocation): Promise<ArrivalSummary> {
  const summary = emptySummary();
  switch (request.kind) {
    case "s3":
      await handleS3Records(deps, request.records, summary);
      break;
    case "s3Test":
      deps.logger.info("ignoring S3 test event");
      break;
    case "kick":
      if (!(request.dataset in deps.config.datasets))
        throw new Error(`WaitTaskScheduled names unknown dataset '${request.dataset}'; known: ${Object.keys(deps.config.datasets).join(", ")}`);
      await pollDataset(deps, request.dataset, invocation, summary);
      break;
    case "executionRunning": // an execution started or was redriven: its wait tasks are being scheduled
    case "scheduled":
      // Every dataset's activity (activity ARNs are fixed, so each dataset has its own). Re-matching what earlier
      // invocations left parked comes first, so it does not wait out a 60 s long-poll.
      await mapConcurrent(Object.keys(deps.config.datasets), MAX_CONCURRENT_POLLS, async (dataset) => {
        try {
          await releaseWaits(deps, dataset, summary);
          await pollDataset(deps, dataset, invocation, summary);
        } catch (error) {
          summary.errors++;
          deps.logger.error("dataset poll failed", { dataset, error: describeError(error) });
        }
      });
      break;
  }
  return summary;
}

/** Long-polls a dataset's wait activity until an empty poll or too little time is left. */
async function pollDataset(deps: ArrivalDeps, dataset: string, invocation: Invocation, summary: ArrivalSummary): Promise<void> {
  const { activityArn } = deps.config.datasets[dataset];
  await pollActivity(
    deps.sfn,
    { activityArn, workerName: invocation.workerName, maxTasks: Number.POSITIVE_INFINITY, remainingMs: invocation.remainingMs },
    (task) => acceptWaitTask(deps, dataset, task, summary),
  );
}
