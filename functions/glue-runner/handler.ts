// Glue runner Lambda: the activity worker that starts Glue runs and reports their end to SFN.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { createLogger, invocationLogger } from "../shared/logger";
import { createSfnClient, workerName } from "../shared/sfn";
import { runnerConfigFromEnv } from "./config";
import { createGlueClients } from "./glue-client";
import type { RunnerDeps, RunnerSummary } from "./deps";
import { parseRunnerEvent } from "./events";
import { runRunner } from "./runner";
import { RunsTable } from "./runs-table";

let deps: RunnerDeps | undefined;

/** Created on first use (once per container), so importing the module has no side effects. */
function runnerDeps(): RunnerDeps {
  if (!deps) {
    const config = runnerConfigFromEnv();
    deps = {
      config,
      sfn: createSfnClient(),
      ...createGlueClients(),
      table: new RunsTable(new DynamoDBClient({}), config.tableName, config.runTtlDays),
      logger: createLogger({ activityArn: config.activityArn }),
      now: () => new Date(),
    };
  }
  return deps;
}

export async function handler(event: unknown, context?: Partial<Context>): Promise<RunnerSummary> {
  const container = runnerDeps();
  const d = { ...container, logger: invocationLogger(container.logger, context) };
  const request = parseRunnerEvent(event);
  d.logger.info("runner invoked", { request });
  const summary = await runRunner(d, request, {
    workerName: workerName(context),
    remainingMs: () => context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY,
  });
  d.logger.info("runner done", { summary });
  return summary;
}
