// The runner's environment as the stacks and the local runtime set it: the inverse of runnerConfigFromEnv
// (functions/etl-runner/config.ts). Plain code, so importing it pulls no zod into the stacks.
import type { EtlConfig } from "./config";
import type { EngineName } from "./job-spec";
import { COUNTS_OBJECT } from "./quality";

export interface RunnerConfig {
  activityArn: string;
  tableName: string;
  runTtlDays: number;
  maxTasksPerInvocation: number;
  engineConcurrency: number;
  /** Every job's engine, by job name (resourceNames().glueJob(id)). */
  jobEngines: Record<string, EngineName>;
  /** s3://<artifact bucket>/<scriptsPrefix>jobs/: where the specs of the jobs not on Glue are; only when one exists. */
  jobSpecsUri?: string;
  /** The source of the RunnerTaskScheduled events it puts after closing a task with success (resourceNames().eventSource). */
  eventSource: string;
  /** The counts object (core/quality.ts COUNTS_OBJECT) of each job on Glue, by job name: s3://<data bucket>/<glueCountsKey>. */
  glueCountsUris?: Record<string, string>;
}

/** The runner's POWERTOOLS_SERVICE_NAME, on AWS and locally. */
export const RUNNER_SERVICE_NAME = "etl-runner";

/** Key prefix under which a job's runs stage their output: <stagingPrefix><job name>/. */
export const jobStagingPrefix = (config: Pick<EtlConfig, "dataLake">, jobName: string) => `${config.dataLake.stagingPrefix}${jobName}/`;

/**
 * Where a job on Glue writes its counts object (its --etl_counts): in its staging folder, beside its output rather
 * than in it (a Glue run writes its output in place), so the output folder holds the job's result only.
 */
export const glueCountsKey = (config: Pick<EtlConfig, "dataLake">, jobName: string) => `${jobStagingPrefix(config, jobName)}${COUNTS_OBJECT}`;

/** Key prefix of the job specs in the artifact bucket (core/job-spec.ts jobSpecKey). */
export const jobSpecsPrefix = (config: Pick<EtlConfig, "artifacts">) => `${config.artifacts.scriptsPrefix}jobs/`;

/**
 * JOB_ENGINES and JOB_SPECS_URI for a configuration: `jobName` names a job as resourceNames().glueJob does, and
 * `artifactBucket` may be a Terraform token.
 */
export function runnerJobs(
  config: Pick<EtlConfig, "jobs" | "artifacts" | "dataLake">,
  jobName: (id: string) => string,
  artifactBucket: string,
  dataBucket: string,
): Pick<RunnerConfig, "jobEngines" | "jobSpecsUri" | "glueCountsUris"> {
  const jobEngines = Object.fromEntries(Object.entries(config.jobs).map(([id, job]) => [jobName(id), job.engine]));
  const needsSpecs = Object.values(jobEngines).some((engine) => engine !== "glue");
  const onGlue = Object.entries(config.jobs).filter(([, job]) => (job.engine ?? "glue") === "glue");
  return {
    jobEngines,
    jobSpecsUri: needsSpecs ? `s3://${artifactBucket}/${jobSpecsPrefix(config)}` : undefined,
    glueCountsUris: onGlue.length ? Object.fromEntries(onGlue.map(([id]) => [jobName(id), `s3://${dataBucket}/${glueCountsKey(config, jobName(id))}`])) : undefined,
  };
}

/** Values may be Terraform tokens (strings). */
export function runnerEnvironment(config: RunnerConfig & { logLevel: string }): Record<string, string> {
  return {
    ACTIVITY_ARN: config.activityArn,
    TABLE_NAME: config.tableName,
    RUN_TTL_DAYS: String(config.runTtlDays),
    MAX_TASKS_PER_INVOCATION: String(config.maxTasksPerInvocation),
    ENGINE_CONCURRENCY: String(config.engineConcurrency),
    JOB_ENGINES: JSON.stringify(config.jobEngines),
    EVENT_SOURCE: config.eventSource,
    ...(config.jobSpecsUri ? { JOB_SPECS_URI: config.jobSpecsUri } : {}),
    ...(config.glueCountsUris ? { GLUE_COUNTS_URIS: JSON.stringify(config.glueCountsUris) } : {}),
    POWERTOOLS_SERVICE_NAME: RUNNER_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
  };
}
