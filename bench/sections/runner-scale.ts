// Section 4: one check cycle of the runner over 10, 100 and 1,000 active runs: wall time and AWS calls.
// DynamoDB is dynalite, Glue the local Glue service (its runs held in RUNNING), SFN a fake that accepts
// the runner's task answers; every call is counted on the SDK clients.
import { createHash } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GlueClient } from "@aws-sdk/client-glue";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { checkAllRuns } from "../../functions/etl-runner/check";
import { emptySummary, type RunnerDeps } from "../../functions/etl-runner/deps";
import { RunsTable } from "../../functions/etl-runner/runs-table";
import { GlueEngine, TASK_ID_ARGUMENT } from "../../functions/etl-runner/engines/glue";
import { engineRegistry } from "../../functions/etl-runner/engines/registry";
import { JobSpecs } from "../../functions/etl-runner/job-specs";
import { Publisher } from "../../functions/etl-runner/publish";

const unusedS3 = (): never => {
  throw new Error("the runner-scale bench runs Glue jobs only: no S3 client");
};
import { mapConcurrent } from "../../functions/shared/concurrency";
import { createLogger } from "../../functions/shared/logger";
import { localWorkflowArns } from "../../local/arns";
import { withEnv } from "../../local/env";
import { startAwsJsonServer } from "../../local/aws-json-server";
import { startLocalDynamoDB } from "../../local/dynamodb";
import { startLocalGlue, type Transformation } from "../../local/glue-service";
import { loadConfig, resourceNames, type EtlConfig } from "../../core/config";
import { RUNNER_TABLE } from "../../core/table-keys";
import { CallCounter } from "../call-counter";
import type { BenchContext, Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, timeMs } from "../stats";

const SIZES = [10, 100, 1_000];
const CYCLES = 5;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

interface Cycle {
  ms: number;
  glue: number;
  dynamodb: number;
  sfn: number;
  breakdown: string;
}

/** Runs whose transformation waits until `release()`: they stay RUNNING for the whole measurement. */
function heldTransformation() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const transformation: Transformation = async () => {
    await released;
    return { rowsWritten: 0, rowsRead: {}, droppedRows: {}, files: [] };
  };
  return { release, transformation };
}

/** The runs never read data; the local Glue service only needs its listings and downloads to succeed. */
const emptyS3 = {
  send: async (command: unknown) => {
    if (command instanceof ListObjectsV2Command) return { Contents: [{ Key: `${command.input.Prefix ?? ""}empty.csv` }] };
    if (command instanceof GetObjectCommand) return { Body: { transformToByteArray: async () => new Uint8Array() } };
    return {};
  },
} as unknown as S3Client;

async function measureSize(context: BenchContext, baseConfig: EtlConfig, activeRuns: number): Promise<Cycle[]> {
  // Every run is active at once, so the jobs must allow that many concurrent runs.
  const config: EtlConfig = { ...baseConfig, glue: { ...baseConfig.glue, maxConcurrentRuns: activeRuns } };
  const names = resourceNames(config);
  const region = config.region;
  const jobNames = Object.keys(config.jobs).map((id) => names.glueJob(id));
  const held = heldTransformation();
  const counter = new CallCounter();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const dynamodb = await startLocalDynamoDB({ [names.runnerTable]: RUNNER_TABLE }, region);
    cleanups.push(() => dynamodb.close());
    const glueServer = await startLocalGlue({ config, bucket: "bench", s3: emptyS3, transformation: held.transformation, transitionMs: 10 });
    // Runs are released before the service closes, so its close can wait for them.
    cleanups.push(async () => {
      held.release();
      await glueServer.close();
    });
    const sfnServer = await startAwsJsonServer({
      service: "AWSStepFunctions",
      handlers: { SendTaskHeartbeat: () => ({}), SendTaskSuccess: () => ({}), SendTaskFailure: () => ({}) },
    });
    cleanups.push(() => sfnServer.close());

    const ddbClient = counter.attach(new DynamoDBClient({ endpoint: dynamodb.endpoint, region, credentials }), "dynamodb");
    const glueClient = counter.attach(new GlueClient({ endpoint: glueServer.endpoint, region, credentials }), "glue");
    const sfnClient = counter.attach(new SFNClient({ endpoint: sfnServer.endpoint, region, credentials }), "sfn");
    cleanups.push(() => [ddbClient, glueClient, sfnClient].forEach((c) => c.destroy()));
    const table = new RunsTable(ddbClient, names.runnerTable, config.runner.runTtlDays);

    // Seed: one Glue run and one tracked task per active run, spread over the jobs.
    const startJobRun = glueServer.glue.handlers().StartJobRun;
    const now = new Date();
    await mapConcurrent(
      Array.from({ length: activeRuns }, (_, i) => i),
      16,
      async (i) => {
        const jobName = jobNames[i % jobNames.length];
        const taskToken = `bench-task-token-${i}`;
        const taskId = createHash("sha256").update(taskToken).digest("hex");
        const { JobRunId } = (await startJobRun({ JobName: jobName, Arguments: { [TASK_ID_ARGUMENT]: taskId } }, new AbortController().signal)) as { JobRunId: string };
        const item = { jobName, taskId, taskToken, status: "RUNNING" as const, taskInput: JSON.stringify({ JobName: jobName }), claimedAt: now.toISOString(), jobRunId: JobRunId, startedAt: now.toISOString() };
        if (!(await table.claim(item, now))) throw new Error(`seeding: task ${taskId} was already claimed`);
      },
    );
    while (!glueServer.glue.allRuns().every((r) => r.JobRunState === "RUNNING")) await new Promise((r) => setTimeout(r, 20));

    const logger = withEnv({ POWERTOOLS_LOG_LEVEL: "SILENT" }, () => createLogger());
    const deps: RunnerDeps = {
      sfn: sfnClient,
      engines: engineRegistry({}, { glue: () => new GlueEngine({ glue: glueClient }, logger) }),
      // Glue runs publish nothing: no S3 call is made.
      publisher: new Publisher(unusedS3, new JobSpecs(unusedS3, undefined)),
      table,
      logger,
      now: () => new Date(),
      config: {
        activityArn: localWorkflowArns(config, region).runnerActivityArn,
        tableName: names.runnerTable,
        runTtlDays: config.runner.runTtlDays,
        maxTasksPerInvocation: config.runner.maxTasksPerInvocation,
        engineConcurrency: config.runner.engineConcurrency,
        jobEngines: {},
      },
    };

    return await repeat(CYCLES, async (i) => {
      counter.reset();
      const summary = emptySummary();
      const ms = await timeMs(() => checkAllRuns(deps, summary));
      // Every run is in progress: the cycle must have checked each one and sent each a heartbeat.
      if (summary.errors || summary.runsChecked !== activeRuns || summary.heartbeats !== activeRuns)
        throw new Error(`${activeRuns} active runs, cycle ${i + 1}: expected ${activeRuns} runs checked and heartbeats, got ${JSON.stringify(summary)}`);
      const cycle = {
        ms,
        glue: counter.total("glue"),
        dynamodb: counter.total("dynamodb"),
        sfn: counter.total("sfn"),
        breakdown: `Glue: ${counter.breakdown("glue")}; DynamoDB: ${counter.breakdown("dynamodb")}; SFN: ${counter.breakdown("sfn")}`,
      };
      context.log(`${activeRuns} active runs, cycle ${i + 1}/${CYCLES}: ${ms.toFixed(0)} ms; ${cycle.breakdown}`);
      return cycle;
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

export const runnerScaleSection: Section = {
  id: "runner-scale",
  title: "Runner: one check cycle over N active runs",
  async run(context) {
    const config = loadConfig();
    const jobs = Object.keys(config.jobs).length;
    const figures: Figure[] = [];
    for (const activeRuns of SIZES) {
      const cycles = await measureSize(context, config, activeRuns);
      const how = `checkAllRuns() of functions/etl-runner/check.ts over ${activeRuns} RUNNING runs spread over ${jobs} jobs (dynalite, local Glue service, fake SFN; ENGINE_CONCURRENCY ${config.runner.engineConcurrency}), ${CYCLES} cycles; wall time of one call; SDK commands counted by a middleware on each client`;
      const calls = (service: "glue" | "dynamodb" | "sfn", label: string): Figure => ({
        name: `${activeRuns} runs: ${label} calls`,
        unit: "calls",
        median: median(cycles.map((c) => c[service])),
        samples: cycles.map((c) => c[service]),
        command: how,
      });
      figures.push(
        {
          name: `${activeRuns} runs: check cycle`,
          unit: "s",
          median: median(cycles.map((c) => c.ms / 1000)),
          samples: cycles.map((c) => c.ms / 1000),
          command: how,
          ...(activeRuns === 1_000 ? { target: { atMost: 10 } } : {}),
          note: cycles[cycles.length - 1].breakdown,
        },
        calls("glue", "Glue"),
        calls("dynamodb", "DynamoDB"),
        calls("sfn", "SFN"),
      );
    }
    return figures;
  },
};
