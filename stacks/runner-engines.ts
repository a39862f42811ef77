// What the runner needs of each engine a job uses besides Glue (whose jobs grant their own): IAM statements scoped to
// that engine's resources, built by the engine's construct module from the resources' ARNs (they come from the glue
// stack); its state-change rules are triggers in core/topology.ts. An engine no job uses gets nothing.
import type { EtlConfig } from "../core/config";
import type { EngineName } from "../core/job-spec";
import { glueCountsKey, jobSpecsPrefix } from "../core/runner-environment";
import { jobsOn as jobIdsOn } from "../core/topology";
import { jobStagingPrefix } from "../core/job-specs";
import { athenaQueryStatements } from "./constructs/athena-workgroup";
import { emrJobRunStatements } from "./constructs/emr-serverless-application";
import { listStatement, objectsStatement } from "./constructs/secure-bucket";
import type { PolicyStatement } from "./iam-policy";

/** The engines' resources (glue stack) the runner is granted; ARNs and names may be Terraform references. */
export interface RunnerEngineResources {
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

/** The IAM of every engine in use; `jobName` names a job as resourceNames().glueJob does. Glue jobs grant their own (GlueJob.grantStartAndMonitor). */
export function runnerEngineAccess(config: EtlConfig, jobName: (id: string) => string, resources: RunnerEngineResources): RunnerEngineAccess {
  // [id, job] of the jobs on an engine
  const jobsOn = (engine: EngineName) => jobIdsOn(config, engine).map((id) => [id, config.jobs[id]] as const);
  const statements: RunnerEngineAccess["statements"] = {};
  const { dataLakeArn, artifactsArn } = resources;
  const glueJobs = jobsOn("glue");
  if (glueJobs.length > 0)
    // The counts object each Glue job writes in its staging folder, beside its output (GLUE_COUNTS_URIS), read into
    // the task output; the jobs' own calls are granted by their GlueJob constructs.
    statements["glue-jobs"] = [{ Sid: "ReadGlueJobCounts", Action: ["s3:GetObject"], Resource: glueJobs.map(([id]) => `${dataLakeArn}/${glueCountsKey(config, jobName(id))}`) }];

  // Jobs not on Glue: their spec, and publishing (staging -> output) with the list calls scoped to those prefixes.
  const staged = [...jobsOn("athena"), ...jobsOn("emr-serverless")];
  const listPrefixes = new Set<string>();
  if (staged.length > 0) {
    const folders = staged.flatMap(([id, job]) => [job.output, jobStagingPrefix(config, jobName(id))]);
    for (const folder of folders) listPrefixes.add(folder);
    statements["job-publishing"] = [
      objectsStatement(artifactsArn, "ReadJobSpecs", "read", staged.map(([id]) => `${jobSpecsPrefix(config)}${jobName(id)}.json`)),
      objectsStatement(dataLakeArn, "PublishJobOutputs", "stage", folders),
    ];
  }

  const athenaJobs = jobsOn("athena");
  if (athenaJobs.length > 0) {
    const athena = resources.athena;
    if (!athena) throw new Error(`runner stack: ${athenaJobs.map(([id]) => id).join(", ")} run on athena, which needs the Athena workgroup (glue stack)`);
    // Athena reads and writes with the caller's credentials: the inputs, the catalog, the results folder.
    const inputs = athenaJobs.flatMap(([, job]) => job.inputs.map((input) => (input.dataset !== undefined ? config.datasets[input.dataset].prefix : config.jobs[input.job!].output)));
    for (const prefix of inputs) listPrefixes.add(prefix);
    statements["athena-queries"] = athenaQueryStatements(athena, {
      catalogArns: athena.catalogArns,
      objectArns: [...new Set(inputs)].map((p) => `${dataLakeArn}/${p}*`),
      bucketArns: [dataLakeArn],
    });
  }

  const emrJobs = jobsOn("emr-serverless");
  if (emrJobs.length > 0) {
    const emr = resources.emrServerless;
    if (!emr) throw new Error(`runner stack: ${emrJobs.map(([id]) => id).join(", ")} run on emr-serverless, which needs the EMR Serverless application and its job role (glue stack)`);
    statements["emr-serverless-runs"] = emrJobRunStatements(emr);
  }

  if (listPrefixes.size > 0) (statements["job-publishing"] ??= []).push(listStatement(dataLakeArn, "ListJobFolders", [...listPrefixes].map((p) => `${p}*`)));
  return { statements };
}
