// What the runner needs of each engine a job uses: IAM statements scoped to that engine's resources (its state-change
// rules are triggers in core/topology.ts). An engine no job uses gets nothing.
import { COUNTS_OBJECT } from "../core/quality";
import type { EtlConfig } from "../core/config";
import type { EngineName } from "../core/job-spec";
import { jobSpecsPrefix } from "../core/runner-environment";
import { jobsOn as jobIdsOn } from "../core/topology";
import type { PolicyStatement } from "./iam-policy";

/** The engines' resources (glue stack) the runner is granted; ARNs and names may be Terraform references. */
export interface RunnerEngineResources {
  /** Glue job ARNs and names, by job id, for the jobs on Glue. */
  readonly glueJobs: Record<string, { arn: string; name: string }>;
  readonly athena?: {
    readonly workGroupName: string;
    readonly workGroupArn: string;
    /** The S3 folder the workgroup writes query results to (Athena writes them with the caller's credentials). */
    readonly resultsBucketArn: string;
    readonly resultsPrefix: string;
    /** The Data Catalog database and table ARNs the queries read. */
    readonly catalogArns: string[];
  };
  readonly emrServerless?: {
    readonly applicationId: string;
    readonly applicationArn: string;
    readonly jobRoleArn: string;
  };
  /** Job outputs and staging areas. */
  readonly dataLakeArn: string;
  /** Job specs. */
  readonly artifactsArn: string;
}

export interface RunnerEngineAccess {
  /** Policy statements by policy name. */
  statements: Record<string, PolicyStatement[]>;
}

/** The staging root of a job's runs (core/job-spec.ts stagingUri), under the data lake's staging prefix. */
export function stagingPrefix(config: EtlConfig, jobName: string): string {
  return `${config.dataLake.stagingPrefix}${jobName}/`;
}

/** The IAM of every engine in use; `jobName` names a job as resourceNames().glueJob does. */
export function runnerEngineAccess(config: EtlConfig, jobName: (id: string) => string, resources: RunnerEngineResources): RunnerEngineAccess {
  // [id, job] of the jobs on an engine
  const jobsOn = (engine: EngineName) => jobIdsOn(config, engine).map((id) => [id, config.jobs[id]] as const);
  const statements: RunnerEngineAccess["statements"] = {};

  const glueJobs = jobsOn("glue").map(([id]) => {
    const job = resources.glueJobs[id];
    if (!job) throw new Error(`runner stack: job ${id} runs on glue but the glue stack has no Glue job for it`);
    return job;
  });
  if (glueJobs.length > 0) {
    statements["glue-jobs"] = [
      { Sid: "RunProjectJobs", Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], Resource: glueJobs.map((j) => j.arn) },
      // The counts object each Glue job writes beside its output (GLUE_COUNTS_URIS), read into the task output.
      { Sid: "ReadGlueJobCounts", Action: ["s3:GetObject"], Resource: jobsOn("glue").map(([, job]) => `${resources.dataLakeArn}/${job.output}${COUNTS_OBJECT}`) },
    ];
  }

  // Jobs not on Glue: their spec, and publishing (staging -> output) with the list calls scoped to those prefixes.
  const staged = [...jobsOn("athena"), ...jobsOn("emr-serverless")];
  const listPrefixes = new Set<string>();
  if (staged.length > 0) {
    const { dataLakeArn, artifactsArn } = resources;
    const folders = staged.flatMap(([id, job]) => [job.output, stagingPrefix(config, jobName(id))]);
    for (const folder of folders) listPrefixes.add(folder);
    statements["job-publishing"] = [
      { Sid: "ReadJobSpecs", Action: ["s3:GetObject"], Resource: staged.map(([id]) => `${artifactsArn}/${jobSpecsPrefix(config)}${jobName(id)}.json`) },
      { Sid: "PublishJobOutputs", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], Resource: folders.map((f) => `${dataLakeArn}/${f}*`) },
    ];
  }

  const athenaJobs = jobsOn("athena");
  if (athenaJobs.length > 0) {
    const athena = resources.athena;
    if (!athena) throw new Error(`runner stack: ${athenaJobs.map(([id]) => id).join(", ")} run on athena, which needs the Athena workgroup (glue stack)`);
    // Athena reads and writes with the caller's credentials: the inputs, the catalog, the results folder.
    const inputs = athenaJobs.flatMap(([, job]) => job.inputs.map((input) => (input.dataset !== undefined ? config.datasets[input.dataset].prefix : config.jobs[input.job!].output)));
    for (const prefix of inputs) listPrefixes.add(prefix);
    statements["athena-queries"] = [
      {
        Sid: "RunAthenaQueries",
        Action: ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:BatchGetQueryExecution", "athena:ListQueryExecutions", "athena:StopQueryExecution"],
        Resource: [athena.workGroupArn],
      },
      { Sid: "ReadCatalogForAthena", Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"], Resource: athena.catalogArns },
      { Sid: "ReadAthenaInputs", Action: ["s3:GetObject"], Resource: [...new Set(inputs)].map((p) => `${resources.dataLakeArn}/${p}*`) },
      { Sid: "AthenaBucketLocations", Action: ["s3:GetBucketLocation"], Resource: [resources.dataLakeArn, athena.resultsBucketArn] },
      { Sid: "WriteAthenaResults", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: [`${athena.resultsBucketArn}/${athena.resultsPrefix}*`] },
      { Sid: "ListAthenaResults", Action: ["s3:ListBucket"], Resource: [athena.resultsBucketArn], Condition: { StringLike: { "s3:prefix": [`${athena.resultsPrefix}*`] } } },
    ];
  }

  const emrJobs = jobsOn("emr-serverless");
  if (emrJobs.length > 0) {
    const emr = resources.emrServerless;
    if (!emr) throw new Error(`runner stack: ${emrJobs.map(([id]) => id).join(", ")} run on emr-serverless, which needs the EMR Serverless application and its job role (glue stack)`);
    statements["emr-serverless-runs"] = [
      {
        Sid: "RunEmrServerlessJobs",
        Action: ["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"],
        Resource: [emr.applicationArn, `${emr.applicationArn}/jobruns/*`],
      },
      { Sid: "PassEmrJobRole", Action: ["iam:PassRole"], Resource: [emr.jobRoleArn], Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } } },
    ];
  }

  if (listPrefixes.size > 0)
    (statements["job-publishing"] ??= []).push({
      Sid: "ListJobFolders",
      Action: ["s3:ListBucket"],
      Resource: [resources.dataLakeArn],
      Condition: { StringLike: { "s3:prefix": [...listPrefixes].map((p) => `${p}*`) } },
    });
  return { statements };
}
