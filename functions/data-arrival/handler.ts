// Data-arrival Lambda: records uploads from S3 events and releases the "wait for data" activity tasks.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { createLogger, invocationLogger } from "../shared/logger";
import { createRunnerTaskAnnouncer } from "../shared/kick";
import { createSfnClient, workerName } from "../shared/sfn";
import { ArrivalsTable } from "./arrivals-table";
import { arrivalConfigFromEnv } from "./config";
import type { ArrivalDeps, ArrivalSummary } from "./deps";
import { parseArrivalEvent } from "./events";
import { runDataArrival } from "./worker";

let deps: ArrivalDeps | undefined;

/** Created on first use (once per container), so importing the module has no side effects. */
function arrivalDeps(): ArrivalDeps {
  if (!deps) {
    const config = arrivalConfigFromEnv();
    const logger = createLogger({ dataBucket: config.dataBucket });
    deps = {
      config,
      sfn: createSfnClient(),
      table: new ArrivalsTable(new DynamoDBClient({}), config.tableName, config.arrivalTtlDays),
      logger,
      now: () => new Date(),
      announceRunnerTask: createRunnerTaskAnnouncer(config.eventSource),
    };
  }
  return deps;
}

export async function handler(event: unknown, context?: Partial<Context>): Promise<ArrivalSummary> {
  const container = arrivalDeps();
  const d = { ...container, logger: invocationLogger(container.logger, context) };
  const request = parseArrivalEvent(event);
  d.logger.info("data-arrival invoked", { kind: request.kind });
  const summary = await runDataArrival(d, request, {
    workerName: workerName(context),
    remainingMs: () => context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY,
  });
  d.logger.info("data-arrival done", { summary });
  return summary;
}
