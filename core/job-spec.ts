// What the runner needs to start a job that is not on Glue: written by the stacks (and the local runtime) as one
// JSON object per job at <jobSpecsUri><jobName>.json in the artifact bucket; read by the runner at start.
export type EngineName = "glue" | "athena" | "emr-serverless";

export interface AthenaJobSpec {
  engine: "athena";
  jobName: string;
  workGroup: string;
  database: string;
  /** The whole statement, an UNLOAD whose destination is the marker STAGING_URI_MARKER. */
  query: string;
  /** The counts statement (core/athena-query.ts athenaCountsQuery), run once `query` succeeded; its marker is the run's counts folder. */
  countsQuery: string;
  /** The data-quality limits the counts must meet before the output is published: core/quality.ts QualityLimits, spelled out (quality.ts imports the configuration, which imports this file). */
  quality: { inputs: Record<string, { maxDroppedFraction: number | null }>; minOutputRows: number; notNull: string[] };
  /** Final output, s3://bucket/prefix/ (the job's `output`). */
  outputUri: string;
  /** Staging root, s3://bucket/<stagingPrefix><jobName>/; a run writes under <stagingUri><taskId>/. */
  stagingUri: string;
  /** The raw tables the statements read (core/athena-inputs.ts AthenaRawInput): the runner checks their files' headers and binds both statements to those files. */
  rawInputs?: Array<{ input: string; database: string; table: string; uri: string; columns: Array<{ name: string; source: string }> }>;
}

export interface EmrServerlessJobSpec {
  engine: "emr-serverless";
  jobName: string;
  applicationId: string;
  executionRoleArn: string;
  /** s3:// URI of the job's PySpark script. */
  entryPoint: string;
  /** The job's arguments as for Glue: --etl_inputs, --etl_sql, ...; the runner adds --etl_output and --etl_task_id. */
  entryPointArguments: string[];
  sparkSubmitParameters: string;
  outputUri: string;
  stagingUri: string;
}

export type JobSpec = AthenaJobSpec | EmrServerlessJobSpec;

export const STAGING_URI_MARKER = "{{etl_staging_uri}}";

export const jobSpecKey = (jobSpecsPrefix: string, jobName: string) => `${jobSpecsPrefix}${jobName}.json`;
