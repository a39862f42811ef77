// Section 4: one check cycle of the runner over 100, 1,000 and 10,000 active runs spread over 30 jobs, ten on each
// engine (Glue, Athena, EMR Serverless): wall time and calls per engine. DynamoDB is dynalite, the engines are
// in-process fakes of their AWS APIs (bench/engine-fakes.ts), SFN a fake on the AWS JSON protocol over HTTP.
import { createHash } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { STAGING_URI_MARKER, type EngineName, type JobSpec } from "../../core/job-spec";
import { DEFAULT_LIMITS } from "../../core/quality";
import { checkAllRuns } from "../../functions/etl-runner/check";
import { emptySummary, type RunnerDeps } from "../../functions/etl-runner/deps";
import { AthenaEngine } from "../../functions/etl-runner/engines/athena";
import { EmrServerlessEngine, emrRunName } from "../../functions/etl-runner/engines/emr-serverless";
import { GlueEngine } from "../../functions/etl-runner/engines/glue";
import { engineRegistry } from "../../functions/etl-runner/engines/registry";
import type { JobSpecs } from "../../functions/etl-runner/job-specs";
import { Publisher } from "../../functions/etl-runner/publish";
import { RunsTable } from "../../functions/etl-runner/runs-table";
import { stagingRunUri } from "../../functions/etl-runner/s3-uri";
import { mapConcurrent } from "../../functions/shared/concurrency";
import { createLogger } from "../../functions/shared/logger";
import { createSfnClient } from "../../functions/shared/sfn";
import { localWorkflowArns } from "../../local/arns";
import { withEnv } from "../../local/env";
import { startAwsJsonServer } from "../../local/aws-json-server";
import { startLocalDynamoDB } from "../../local/dynamodb";
import { loadConfig, resourceNames, type EtlConfig } from "../../core/config";
import { RUNNER_TABLE } from "../../core/table-keys";
import { CallCounter } from "../call-counter";
import { scaleAthena, scaleEmrServerless, scaleGlue } from "../engine-fakes";
import type { BenchContext, Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, timeMs } from "../stats";

const SIZES = [100, 1_000, 10_000];
const ENGINES: EngineName[] = ["glue", "athena", "emr-serverless"];
const JOBS_PER_ENGINE = 10;
const CYCLES = 5;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const APPLICATION_ID = "00benchapp";
const WORK_GROUP = "bench";

interface Cycle {
  ms: number;
  calls: Record<string, number>;
  breakdown: string;
}

const unusedS3 = (): never => {
  throw new Error("the runner-scale bench publishes nothing: every run is RUNNING");
};

async function measureSize(context: BenchContext, config: EtlConfig, activeRuns: number): Promise<Cycle[]> {
  const names = resourceNames(config);
  const region = config.region;
  const jobs = ENGINES.flatMap((engine) => Array.from({ length: JOBS_PER_ENGINE }, (_, i) => ({ engine, jobName: `bench-${engine}-${i + 1}` })));
  const specs = new Map<string, JobSpec>();
  for (const { engine, jobName } of jobs) {
    const stagingUri = `s3://bench/staging/${jobName}/`;
    if (engine === "athena") specs.set(jobName, { engine, jobName, workGroup: WORK_GROUP, database: "bench", query: `UNLOAD (SELECT 1) TO '${STAGING_URI_MARKER}'`, countsQuery: `UNLOAD (SELECT 1) TO '${STAGING_URI_MARKER}'`, quality: DEFAULT_LIMITS, outputUri: `s3://bench/out/${jobName}/`, stagingUri });
    if (engine === "emr-serverless")
      specs.set(jobName, { engine, jobName, applicationId: APPLICATION_ID, executionRoleArn: "arn:aws:iam::000000000000:role/bench", entryPoint: "s3://bench/job.py", entryPointArguments: [], sparkSubmitParameters: "", outputUri: `s3://bench/out/${jobName}/`, stagingUri });
  }
  const jobSpecs = { get: async (jobName: string) => specs.get(jobName)! } as unknown as JobSpecs;
  const glue = scaleGlue();
  const athena = scaleAthena();
  const emr = scaleEmrServerless();
  const counter = new CallCounter();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const dynamodb = await startLocalDynamoDB({ [names.runnerTable]: RUNNER_TABLE }, region);
    cleanups.push(() => dynamodb.close());
    const sfnServer = await startAwsJsonServer({
      service: "AWSStepFunctions",
      handlers: { SendTaskHeartbeat: () => ({}), SendTaskSuccess: () => ({}), SendTaskFailure: () => ({}) },
    });
    cleanups.push(() => sfnServer.close());
    const ddbClient = counter.attach(new DynamoDBClient({ endpoint: dynamodb.endpoint, region, credentials }), "dynamodb");
    // The runner's own SFN client (functions/shared/sfn.ts), pointed at the fake.
    const sfnClient = counter.attach(createSfnClient({ endpoint: sfnServer.endpoint, region, credentials }), "sfn");
    cleanups.push(() => [ddbClient, sfnClient].forEach((c) => c.destroy()));
    const table = new RunsTable(ddbClient, names.runnerTable, config.runner.runTtlDays);

    // Seed: one engine run and one tracked task per active run, spread over the jobs.
    const now = new Date();
    await mapConcurrent(
      Array.from({ length: activeRuns }, (_, i) => i),
      16,
      async (i) => {
        const { engine, jobName } = jobs[i % jobs.length];
        const taskToken = `bench-task-token-${i}`;
        const taskId = createHash("sha256").update(taskToken).digest("hex");
        const spec = specs.get(jobName);
        const jobRunId =
          engine === "glue"
            ? glue.addRun(jobName, taskId)
            : engine === "athena"
              ? athena.addRun(WORK_GROUP, spec?.engine === "athena" ? spec.query.split(STAGING_URI_MARKER).join(stagingRunUri(spec.stagingUri, taskId)) : "")
              : emr.addRun(APPLICATION_ID, emrRunName(jobName, taskId), "arn:aws:iam::000000000000:role/bench");
        const item = { jobName, taskId, taskToken, status: "RUNNING" as const, taskInput: JSON.stringify({ JobName: jobName }), claimedAt: now.toISOString(), jobRunId, startedAt: now.toISOString() };
        if (!(await table.claim(item, now))) throw new Error(`seeding: task ${taskId} was already claimed`);
      },
    );

    const logger = withEnv({ POWERTOOLS_LOG_LEVEL: "SILENT" }, () => createLogger());
    const jobEngines = Object.fromEntries(jobs.map((j) => [j.jobName, j.engine]));
    const deps: RunnerDeps = {
      sfn: sfnClient,
      engines: engineRegistry(jobEngines, {
        glue: () => new GlueEngine({ glue: glue.client }, logger),
        athena: () => new AthenaEngine(athena.client, jobSpecs, logger, unusedS3),
        "emr-serverless": () => new EmrServerlessEngine(emr.client, jobSpecs, logger),
      }),
      publisher: new Publisher(unusedS3, jobSpecs),
      table,
      logger,
      now: () => new Date(),
      config: {
        activityArn: localWorkflowArns(config, region).runnerActivityArn,
        tableName: names.runnerTable,
        runTtlDays: config.runner.runTtlDays,
        maxTasksPerInvocation: config.runner.maxTasksPerInvocation,
        engineConcurrency: config.runner.engineConcurrency,
        eventSource: names.eventSource,
        jobEngines,
      },
    };

    const fakes = { glue, athena, "emr-serverless": emr };
    return await repeat(CYCLES, async (i) => {
      counter.reset();
      for (const fake of Object.values(fakes)) fake.reset();
      const summary = emptySummary();
      const ms = await timeMs(() => checkAllRuns(deps, summary));
      // Every run is in progress: the cycle must have checked each one and sent each a heartbeat.
      if (summary.errors || summary.runsChecked !== activeRuns || summary.heartbeats !== activeRuns)
        throw new Error(`${activeRuns} active runs, cycle ${i + 1}: expected ${activeRuns} runs checked and heartbeats, got ${JSON.stringify(summary)}`);
      const calls: Record<string, number> = { dynamodb: counter.total("dynamodb"), sfn: counter.total("sfn") };
      const parts: string[] = [];
      for (const [engine, fake] of Object.entries(fakes)) {
        const byOperation = fake.calls();
        calls[engine] = Object.values(byOperation).reduce((a, b) => a + b, 0);
        parts.push(`${engine}: ${Object.entries(byOperation).map(([op, n]) => `${op} ${n}`).join(", ") || "none"}`);
      }
      const breakdown = `${parts.join("; ")}; DynamoDB: ${counter.breakdown("dynamodb")}; SFN: ${counter.breakdown("sfn")}`;
      context.log(`${activeRuns} active runs, cycle ${i + 1}/${CYCLES}: ${ms.toFixed(0)} ms; ${breakdown}`);
      return { ms, calls, breakdown };
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

export const runnerScaleSection: Section = {
  id: "runner-scale",
  title: `Runner: one check cycle over N active runs (${ENGINES.length * JOBS_PER_ENGINE} jobs, ${JOBS_PER_ENGINE} on each engine)`,
  async run(context) {
    const config = loadConfig();
    const figures: Figure[] = [];
    for (const activeRuns of SIZES) {
      const cycles = await measureSize(context, config, activeRuns);
      const how = `checkAllRuns() of functions/etl-runner/check.ts over ${activeRuns} RUNNING runs spread over ${ENGINES.length * JOBS_PER_ENGINE} jobs (${JOBS_PER_ENGINE} each on ${ENGINES.join(", ")}; dynalite, in-process engine fakes, fake SFN over HTTP through the runner's createSfnClient(); ENGINE_CONCURRENCY ${config.runner.engineConcurrency}), ${CYCLES} cycles; wall time of one call; calls counted per command on each client`;
      figures.push({
        name: `${activeRuns.toLocaleString("en-US")} runs: check cycle`,
        unit: "s",
        median: median(cycles.map((c) => c.ms / 1000)),
        samples: cycles.map((c) => c.ms / 1000),
        command: how,
        ...(activeRuns === 10_000 ? { target: { atMost: 10 } } : {}),
        note: cycles[cycles.length - 1].breakdown,
      });
      for (const service of [...ENGINES, "dynamodb", "sfn"])
        figures.push({
          name: `${activeRuns.toLocaleString("en-US")} runs: ${service} calls`,
          unit: "calls",
          median: median(cycles.map((c) => c.calls[service])),
          samples: cycles.map((c) => c.calls[service]),
          command: how,
        });
    }
    return figures;
  },
};
