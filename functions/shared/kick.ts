// "A runner task may be scheduled": the RunnerTaskScheduled event both functions put on the default bus after they
// close a task with success. In the workflow a runner task is scheduled right after a wait task or a runner task
// succeeds, so whoever closes one wakes the runner, which long-polls its activity at once (docs/architecture.md,
// "Workflow events"). Best effort: a lost event costs one fallback period, never a task.
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { describeError } from "./aws-errors";
import type { Logger } from "./logger";
import { KICKS } from "../../core/kicks";

/** Puts one RunnerTaskScheduled event; `detail` says what closed. Never throws: a failure is logged with `logger`. */
export type AnnounceRunnerTask = (detail: Record<string, string>, logger: Logger) => Promise<void>;

/** An announcer on the default bus, for events from `source` (the function's EVENT_SOURCE). */
export function createRunnerTaskAnnouncer(source: string): AnnounceRunnerTask {
  const client = new EventBridgeClient({
    // The task is closed already: a slow bus must not hold the invocation for long.
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 5_000, socketTimeout: 5_000 }),
  });
  return runnerTaskAnnouncer(client, source);
}

export function runnerTaskAnnouncer(client: EventBridgeClient, source: string): AnnounceRunnerTask {
  return async (detail, logger) => {
    try {
      const answer = await client.send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: KICKS.runner, Detail: JSON.stringify(detail) }] }));
      if (answer.FailedEntryCount) {
        const entry = answer.Entries?.[0];
        logger.warn("RunnerTaskScheduled was not put; the fallback schedule wakes the runner", { ...detail, errorCode: entry?.ErrorCode, errorMessage: entry?.ErrorMessage });
      }
    } catch (error) {
      logger.warn("RunnerTaskScheduled was not put; the fallback schedule wakes the runner", { ...detail, error: describeError(error) });
    }
  };
}
