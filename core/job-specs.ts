// The specs of the jobs not on Glue (core/job-spec.ts), built once from the configuration: the glue stack writes
// them as S3 objects and the local runtime writes the same objects into the local S3. Resource names and ids may be
// Terraform references. Must not import cdktf.
import { basename } from "node:path";
import { athenaCountsQuery, athenaQuery, athenaRawInputs } from "./athena-query";
import { jobQualityLimits } from "./quality";
import type { EtlConfig } from "./config";
import { resourceNames, sqlPath } from "./config";
import { jobArguments } from "./job-arguments";
import { jobSpecKey, type JobSpec } from "./job-spec";
import { jobSpecsPrefix, jobStagingPrefix } from "./runner-environment";

/** The readers every job imports (Glue: --extra-py-files; EMR Serverless: --py-files). */
export const COMMON_MODULE = "etl_common.py";

/** Key prefix of the artifact bucket where the Athena workgroup writes query results (expired after a week). */
export const ATHENA_RESULTS_PREFIX = "athena-results/";

export interface JobSpecResources {
  /** The data-lake bucket's name. */
  dataBucket: string;
  /** The artifact bucket's name (the scripts, SQL and schemas under artifacts.scriptsPrefix). */
  artifactBucket: string;
  /** Required when a job runs on Athena. */
  athena?: { workGroup: string };
  /** Required when a job runs on EMR Serverless. */
  emrServerless?: { applicationId: string; executionRoleArn: string };
}

export interface JobSpecObject {
  jobId: string;
  /** Key in the artifact bucket: <scriptsPrefix>jobs/<job name>.json. */
  key: string;
  spec: JobSpec;
}

export { jobStagingPrefix };

/** The schema files a job's CSV inputs name (the job ships them: Glue --extra-files, EMR --files). */
export const jobSchemaFiles = (config: EtlConfig, jobId: string): string[] => [
  ...new Set(config.jobs[jobId].inputs.flatMap((i) => (i.dataset !== undefined ? [config.datasets[i.dataset].schema] : []))),
];

/** One spec per job not on Glue. */
export function jobSpecs(config: EtlConfig, resources: JobSpecResources): JobSpecObject[] {
  const names = resourceNames(config);
  const scripts = config.artifacts.scriptsPrefix;
  const artifact = (key: string) => `s3://${resources.artifactBucket}/${scripts}${key}`;
  return Object.entries(config.jobs).flatMap(([jobId, job]): JobSpecObject[] => {
    if (job.engine === "glue") return [];
    const jobName = names.glueJob(jobId);
    const common = { jobName, outputUri: `s3://${resources.dataBucket}/${job.output}`, stagingUri: `s3://${resources.dataBucket}/${jobStagingPrefix(config, jobName)}` };
    const key = jobSpecKey(jobSpecsPrefix(config), jobName);
    if (job.engine === "athena") {
      if (!resources.athena) throw new Error(`jobs.${jobId}.engine: athena needs the Athena workgroup`);
      return [{ jobId, key, spec: { engine: "athena", ...common, workGroup: resources.athena.workGroup, database: config.glue.databaseName, query: athenaQuery(config, jobId), countsQuery: athenaCountsQuery(config, jobId), quality: jobQualityLimits(config, jobId), rawInputs: athenaRawInputs(config, jobId, resources.dataBucket) } }];
    }
    if (!resources.emrServerless) throw new Error(`jobs.${jobId}.engine: emr-serverless needs the EMR Serverless application and its job role`);
    const args = jobArguments(config, jobId, resources.dataBucket);
    const sql = basename(sqlPath(config, job));
    const files = [artifact(sql), ...jobSchemaFiles(config, jobId).map((s) => artifact(`schemas/${s}`))];
    return [
      {
        jobId,
        key,
        spec: {
          engine: "emr-serverless",
          ...common,
          applicationId: resources.emrServerless.applicationId,
          executionRoleArn: resources.emrServerless.executionRoleArn,
          entryPoint: artifact(job.script),
          entryPointArguments: ["--etl_inputs", args["--etl_inputs"], "--etl_sql", args["--etl_sql"], "--etl_quality", args["--etl_quality"]],
          // etl_common.py on the Python path; the SQL and the schemas in the working directory (SparkFiles).
          sparkSubmitParameters: `--py-files ${artifact(COMMON_MODULE)} --files ${files.join(",")}`,
        },
      },
    ];
  });
}
