// What the runner's logic modules share: clients and configuration are created once by the handler.
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { AnnounceRunnerTask } from "../shared/kick";
import type { Logger } from "../shared/logger";
import type { RunnerConfig } from "./config";
import type { Engines } from "./engines/registry";
import type { Publisher } from "./publish";
import type { RunsTable } from "./runs-table";

export interface RunnerDeps {
  sfn: SFNClient;
  /** The engine adapter of each job. */
  engines: Engines;
  /** Publishes the staged result of runs not on Glue. */
  publisher: Publisher;
  table: RunsTable;
  config: RunnerConfig;
  logger: Logger;
  now: () => Date;
  /** The Lambda invocation's remaining time in ms (runRunner sets it from the context); infinite or absent without one. */
  remainingMs?: () => number;
  /**
   * Wakes a runner after a task closed with success (the next runner task is scheduled then). The handler always
   * sets it; without it the next task waits for the fallback schedule.
   */
  announceRunnerTask?: AnnounceRunnerTask;
}

/** What one invocation did; returned by the handler (the local runtime and benchmarks read it). */
export interface RunnerSummary {
  tasksReceived: number;
  tasksStarted: number;
  tasksRejected: number;
  runsChecked: number;
  closed: number;
  heartbeats: number;
  errors: number;
}

export function emptySummary(): RunnerSummary {
  return { tasksReceived: 0, tasksStarted: 0, tasksRejected: 0, runsChecked: 0, closed: 0, heartbeats: 0, errors: 0 };
}

/** Error names the runner reports with SendTaskFailure; the ASL's Retry and Catch match them. */
export const RUNNER_ERRORS = {
  invalidInput: "InvalidTaskInput",
  retryable: "JobRetryableError",
  start: "JobStartError",
  jobFailed: "JobFailedError",
  /** The run failed its data-quality gate (its error message carries "DataQualityError:", see core/quality.ts). */
  dataQuality: "DataQualityError",
} as const;
