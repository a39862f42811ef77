// ETL runner Lambda: the activity worker that starts each job's run on its engine and reports its end to SFN.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { createLogger, invocationLogger } from "../shared/logger";
import { createRunnerTaskAnnouncer } from "../shared/kick";
import { createSfnClient, workerName } from "../shared/sfn";
import { runnerConfigFromEnv } from "./config";
import { createAthenaClient, createEmrServerlessClient, createGlueClients, createS3Client } from "./clients";
import { AthenaEngine } from "./engines/athena";
import { EmrServerlessEngine } from "./engines/emr-serverless";
import { GlueEngine } from "./engines/glue";
import { engineRegistry } from "./engines/registry";
import { JobSpecs } from "./job-specs";
import { Publisher } from "./publish";
import type { RunnerDeps, RunnerSummary } from "./deps";
import { parseRunnerEvent } from "./events";
import { runRunner } from "./runner";
import { RunsTable } from "./runs-table";

let deps: RunnerDeps | undefined;

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

/** Created on first use (once per container), so importing the module has no side effects. */
function runnerDeps(): RunnerDeps {
  if (!deps) {
    const config = runnerConfigFromEnv();
    const logger = createLogger({ activityArn: config.activityArn });
    // Clients of the engines no job uses are never created.
    const s3 = once(createS3Client);
    const specs = new JobSpecs(s3, config.jobSpecsUri);
    deps = {
      config,
      sfn: createSfnClient(),
      engines: engineRegistry(config.jobEngines, {
        glue: () => new GlueEngine(createGlueClients(), logger),
        athena: () => new AthenaEngine(createAthenaClient(), specs, logger, s3),
        "emr-serverless": () => new EmrServerlessEngine(createEmrServerlessClient(), specs, logger),
      }),
      publisher: new Publisher(s3, specs),
      table: new RunsTable(new DynamoDBClient({}), config.tableName, config.runTtlDays),
      logger,
      now: () => new Date(),
      announceRunnerTask: createRunnerTaskAnnouncer(config.eventSource),
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
