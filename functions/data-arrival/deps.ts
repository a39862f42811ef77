// What the data-arrival logic modules share: clients and configuration are created once by the handler.
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { AnnounceRunnerTask } from "../shared/kick";
import type { Logger } from "../shared/logger";
import type { ArrivalsTable } from "./arrivals-table";
import type { ArrivalConfig } from "./config";

export interface ArrivalDeps {
  sfn: SFNClient;
  table: ArrivalsTable;
  config: ArrivalConfig;
  logger: Logger;
  now: () => Date;
  /**
   * Wakes the runner after a wait is released (its job's runner task is scheduled next). The handler always sets it;
   * without it the runner wakes on its fallback schedule.
   */
  announceRunnerTask?: AnnounceRunnerTask;
}

/** What one invocation did; returned by the handler (the local runtime and benchmarks read it). */
export interface ArrivalSummary {
  uploadsRecorded: number;
  duplicates: number;
  ignored: number;
  waitsParked: number;
  tasksRejected: number;
  released: number;
  errors: number;
}

export function emptySummary(): ArrivalSummary {
  return { uploadsRecorded: 0, duplicates: 0, ignored: 0, waitsParked: 0, tasksRejected: 0, released: 0, errors: 0 };
}

export const ARRIVAL_ERRORS = {
  invalidInput: "InvalidTaskInput",
  /** The wait token could not be parked (DynamoDB unavailable): failed rather than dropped. */
  notParked: "DataArrivalError",
} as const;
