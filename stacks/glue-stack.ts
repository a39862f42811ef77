import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { GlueSecurityConfiguration } from "@cdktf/provider-aws/lib/glue-security-configuration";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { AssetType, TerraformAsset, TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { resourceNames, schemaPath, scriptsDir, sqlPath } from "../core/config";
import { ATHENA_RESULTS_PREFIX, COMMON_MODULE, jobSchemaFiles, jobSpecs, jobStagingPrefix } from "../core/job-specs";
import { glueCountsKey } from "../core/runner-environment";
import { jobsOn } from "../core/topology";
import { AthenaWorkgroup } from "./constructs/athena-workgroup";
import { EmrServerlessApplication } from "./constructs/emr-serverless-application";
import { GlueCatalog } from "./constructs/glue-catalog";
import { GlueJob } from "./constructs/glue-job";
import { skipCheck } from "./constructs/checkov-skip";
import { prefixAndBelow, SecureBucket } from "./constructs/secure-bucket";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { policyDocument, serviceTrustPolicy } from "./iam-policy";
import { glueJobArguments } from "../core/job-arguments";

export { COMMON_MODULE };
/** Prefix of the artifact bucket for Glue's temporary files (--TempDir); expired after a week. */
const TEMP_PREFIX = "glue-temp/";
/** Days a replaced or deleted object of the data lake is kept (as a noncurrent version). */
const REPLACED_DATA_DAYS = 30;
/** Every bucket: multipart uploads never completed are aborted after a day. */
const ABORT_INCOMPLETE_UPLOADS = { id: "abort-incomplete-uploads", status: "Enabled", filter: [{ prefix: "" }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }] };

export type GlueStackProps = EtlStackProps;

/**
 * Storage and compute: the data-lake and artifact buckets, the Glue artifacts (every file of the
 * scripts folder), the Data Catalog (constructs/glue-catalog.ts), and each engine a job uses: the Glue job role and one Glue job per job on
 * Glue; the Athena workgroup; the EMR Serverless application and its job role; the specs of the jobs not on Glue.
 */
export class GlueStack extends EtlStack {
  readonly dataLake: SecureBucket;
  readonly artifacts: SecureBucket;
  /** Receives the server access logs of the data-lake and artifact buckets. */
  readonly accessLogs: SecureBucket;
  /** The Data Catalog database and tables, for Athena. */
  readonly catalog: GlueCatalog;
  /** Glue jobs by job id (the configuration's key, e.g. "PSD"), for the jobs on engine "glue". */
  readonly jobs: Record<string, GlueJob>;
  /** The Athena workgroup, when a job runs on Athena. */
  readonly athena?: AthenaWorkgroup;
  /** The EMR Serverless application and its job role, when a job runs on EMR Serverless. */
  readonly emrServerless?: EmrServerlessApplication;

  constructor(scope: Construct, id: string, props: GlueStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = resourceNames(config);

    this.accessLogs = this.createAccessLogBucket();
    this.dataLake = this.createDataLake();
    this.artifacts = this.createArtifactBucket();
    const artifactUri = this.uploadScripts();
    // Id "Default" is left out of Terraform addresses: the catalog keeps the addresses it had in the stack itself.
    this.catalog = new GlueCatalog(this, "Default", { config, dataLake: this.dataLake, catalogArn: this.arn("glue", "catalog") });
    this.jobs = this.createGlueJobs(artifactUri);

    // Athena: the workgroup its jobs' queries run in (results encrypted in the artifact bucket).
    if (jobsOn(config, "athena").length > 0)
      this.athena = new AthenaWorkgroup(this, "athena", {
        name: names.athenaWorkGroup,
        description: `Queries of the Athena jobs of ${names.prefix}`,
        resultsBucket: this.artifacts,
        resultsPrefix: ATHENA_RESULTS_PREFIX,
        bytesScannedCutoffPerQuery: config.athena.bytesScannedCutoffPerQuery,
      });
    if (jobsOn(config, "emr-serverless").length > 0) this.emrServerless = this.createEmrServerless();

    // What the runner reads to start a job not on Glue: one JSON object per job, built as the local runtime builds it.
    for (const { jobId, key, spec } of jobSpecs(config, {
      dataBucket: this.dataLake.bucket.bucket,
      artifactBucket: this.artifacts.bucket.bucket,
      athena: this.athena ? { workGroup: this.athena.workGroupName } : undefined,
      emrServerless: this.emrServerless ? { applicationId: this.emrServerless.applicationId, executionRoleArn: this.emrServerless.jobRoleArn } : undefined,
    }))
      new S3Object(this, `job-spec-${jobId}`, { bucket: this.artifacts.bucket.id, key, content: JSON.stringify(spec), contentType: "application/json" });

    new TerraformOutput(this, "data-lake-bucket", { value: this.dataLake.bucket.bucket, description: "Upload raw datasets under their prefixes here" });
    new TerraformOutput(this, "artifacts-bucket", { value: this.artifacts.bucket.bucket });
  }

  /** Server access logs of both buckets, kept as long as the other logs. */
  private createAccessLogBucket(): SecureBucket {
    const bucket = new SecureBucket(this, "access-logs", {
      bucketPrefix: `${this.config.artifacts.bucketPrefix}logs-`,
      accessLogTargetFor: { accountId: this.accountId },
      lifecycleRules: [{ id: "expire-access-logs", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: this.config.logRetentionDays }] }, ABORT_INCOMPLETE_UPLOADS],
    });
    skipCheck(bucket.bucket, "CKV_AWS_18", "it is the access-log target; logging its own writes would loop");
    skipCheck(bucket.bucket, "CKV_AWS_21", "S3 log delivery only adds objects; the lifecycle expires them");
    skipCheck(bucket.bucket, "CKV2_AWS_62", "nothing reacts to a log delivery");
    return bucket;
  }

  /** Versioned, so an upload over a raw file or a job's overwrite keeps the previous data for a while. */
  private createDataLake(): SecureBucket {
    const { dataLake } = this.config;
    const bucket = new SecureBucket(this, "data-lake", {
      bucketPrefix: dataLake.bucketPrefix,
      versioned: true,
      accessLogs: this.accessLogs,
      lifecycleRules: [
        { id: "expire-replaced-data", status: "Enabled", filter: [{ prefix: "" }], noncurrentVersionExpiration: [{ noncurrentDays: REPLACED_DATA_DAYS }], expiration: [{ expiredObjectDeleteMarker: true }] },
        // A run that failed or was stopped never publishes: its staged objects would stay forever. Where rules
        // overlap, S3 applies the shorter expiration, so a replaced staged object goes after a day, not 30.
        {
          id: "expire-staging",
          status: "Enabled",
          filter: [{ prefix: dataLake.stagingPrefix }],
          expiration: [{ days: dataLake.stagingExpirationDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
        ABORT_INCOMPLETE_UPLOADS,
      ],
    });
    skipCheck(bucket.bucket, "CKV2_AWS_62", "its event notification lives in the state-machine stack, next to the data-arrival function it invokes");
    for (const prefix of [dataLake.rawPrefix, dataLake.processedPrefix, dataLake.curatedPrefix]) {
      // A zero-byte "folder" object so the prefixes show in the console before the first upload.
      new S3Object(this, `folder-${prefix.replace(/\W/g, "")}`, { bucket: bucket.bucket.id, key: prefix, content: "" });
    }
    return bucket;
  }

  private createArtifactBucket(): SecureBucket {
    const config = this.config;
    const bucket = new SecureBucket(this, "artifacts", {
      bucketPrefix: config.artifacts.bucketPrefix,
      versioned: true,
      accessLogs: this.accessLogs,
      lifecycleRules: [
        { id: "expire-glue-temp", status: "Enabled", filter: [{ prefix: TEMP_PREFIX }], expiration: [{ days: 7 }], noncurrentVersionExpiration: [{ noncurrentDays: 1 }] },
        ...(jobsOn(config, "athena").length > 0
          ? [{ id: "expire-athena-results", status: "Enabled", filter: [{ prefix: ATHENA_RESULTS_PREFIX }], expiration: [{ days: 7 }], noncurrentVersionExpiration: [{ noncurrentDays: 1 }] }]
          : []),
        { id: "expire-old-script-versions", status: "Enabled", filter: [{ prefix: config.artifacts.scriptsPrefix }], noncurrentVersionExpiration: [{ noncurrentDays: 90 }] },
        ABORT_INCOMPLETE_UPLOADS,
      ],
    });
    skipCheck(bucket.bucket, "CKV2_AWS_62", "nothing reacts to an upload of scripts: the Glue jobs read them when they start");
    return bucket;
  }

  /**
   * Every file of the scripts folder is a Glue artifact; source_hash makes a content change an update.
   * Returns the s3:// URI of a file of that folder.
   */
  private uploadScripts(): (file: string) => string {
    const scriptsPrefix = this.config.artifacts.scriptsPrefix;
    const folder = scriptsDir(this.config);
    if (!existsSync(join(folder, COMMON_MODULE))) throw new Error(`scriptsDir: ${join(folder, COMMON_MODULE)} not found; every job imports it`);
    for (const file of listFiles(folder)) {
      const key = relative(folder, file).split(sep).join("/");
      const assetId = key.replace(/[^A-Za-z0-9]/g, "-");
      const asset = new TerraformAsset(this, `artifact-${assetId}`, { path: file, type: AssetType.FILE });
      new S3Object(this, `script-${assetId}`, {
        bucket: this.artifacts.bucket.id,
        key: `${scriptsPrefix}${key}`,
        source: asset.path,
        sourceHash: createHash("md5").update(readFileSync(file)).digest("hex"),
      });
    }
    return (file) => this.artifacts.uri(`${scriptsPrefix}${relative(folder, file).split(sep).join("/")}`);
  }

  /** The security configuration and role the Glue jobs share, and one GlueJob per job on Glue. */
  private createGlueJobs(artifactUri: (file: string) => string): Record<string, GlueJob> {
    const config = this.config;
    const names = resourceNames(config);
    const { rawPrefix, processedPrefix, curatedPrefix } = config.dataLake;
    const scriptsPrefix = config.artifacts.scriptsPrefix;
    const glueJobs = jobsOn(config, "glue");
    const securityConfiguration = new GlueSecurityConfiguration(this, "security-configuration", {
      name: `${names.prefix}-glue`,
      encryptionConfiguration: {
        s3Encryption: { s3EncryptionMode: "SSE-S3" },
        cloudwatchEncryption: { cloudwatchEncryptionMode: "DISABLED" },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: "DISABLED" },
      },
    });
    skipCheck(securityConfiguration, "CKV_AWS_99", "S3 output is encrypted (SSE-S3); the jobs use no bookmarks; CloudWatch Logs encrypts logs at rest");

    const role = new IamRole(this, "job-role", {
      name: `${names.prefix}-glue-job`,
      description: `Role of the Glue jobs of ${names.prefix}`,
      assumeRolePolicy: serviceTrustPolicy("glue.amazonaws.com"),
    });
    const data = this.dataLake;
    new IamRolePolicy(this, "job-policy", {
      role: role.id,
      name: "etl-jobs",
      policy: policyDocument([
        this.artifacts.grantObjects("ReadArtifacts", "read", [scriptsPrefix]),
        data.grantObjects("ReadInputs", "read", [rawPrefix, processedPrefix]),
        // Outputs are overwritten; Spark's committer also reads back what it wrote.
        data.grantObjects("WriteOutputs", "write", [processedPrefix, curatedPrefix]),
        // Each job's counts object, in its staging folder (core/runner-environment.ts glueCountsKey).
        ...(glueJobs.length ? [data.grantObjects("WriteRunCounts", "write", glueJobs.map((jobId) => glueCountsKey(config, names.glueJob(jobId))))] : []),
        data.grantList("ListDataLake", prefixAndBelow([rawPrefix, processedPrefix, curatedPrefix, ...glueJobs.map((jobId) => jobStagingPrefix(config, names.glueJob(jobId)))])),
        this.artifacts.grantObjects("TempDir", "write", [TEMP_PREFIX]),
        this.artifacts.grantList("ListTempDir", prefixAndBelow([TEMP_PREFIX])),
        ...GlueJob.roleRuntimeStatements((service, resource) => this.arn(service, resource)),
      ]),
    });

    const commonModule = artifactUri(join(scriptsDir(config), COMMON_MODULE));
    return Object.fromEntries(
      glueJobs.map((jobId) => {
        const job = config.jobs[jobId];
        const glueJob = new GlueJob(this, `job-${jobId}`, {
          jobName: names.glueJob(jobId),
          description: job.description,
          roleArn: role.arn,
          scriptLocation: this.artifacts.uri(`${scriptsPrefix}${job.script}`),
          glueVersion: config.glue.version,
          workerType: job.workerType ?? config.glue.workerType,
          numberOfWorkers: job.numberOfWorkers ?? config.glue.numberOfWorkers,
          timeoutMinutes: job.timeoutMinutes ?? config.glue.timeoutMinutes,
          maxConcurrentRuns: config.glue.maxConcurrentRuns,
          securityConfiguration: securityConfiguration.name,
          arguments: { ...glueJobArguments(config, jobId, data.bucket.bucket, names.glueJob(jobId)) },
          extraPyFiles: [commonModule],
          extraFiles: [sqlPath(config, job), ...jobSchemaFiles(config, jobId).map((file) => schemaPath(config, file))].map(artifactUri),
          tempDir: this.artifacts.uri(TEMP_PREFIX),
        });
        return [jobId, glueJob];
      }),
    );
  }

  /** EMR Serverless: the application and the role its runs assume, allowed exactly what its jobs read and write. */
  private createEmrServerless(): EmrServerlessApplication {
    const config = this.config;
    const names = resourceNames(config);
    const emrJobs = jobsOn(config, "emr-serverless");
    const emr = new EmrServerlessApplication(this, "emr-serverless", {
      name: names.emrApplication,
      releaseLabel: config.emrServerless.releaseLabel,
      idleTimeoutMinutes: config.emrServerless.idleTimeoutMinutes,
      maximumCapacity: config.emrServerless.maximumCapacity,
      jobRoleName: names.emrJobRole,
      logRetentionDays: config.logRetentionDays,
      arn: (service, resource) => this.arn(service, resource),
    });
    const scriptKeys = new Set(
      emrJobs.flatMap((id) => [config.jobs[id].script, basename(sqlPath(config, config.jobs[id])), ...jobSchemaFiles(config, id).map((s) => `schemas/${s}`)]),
    );
    const inputPrefixes = new Set(emrJobs.flatMap((id) => config.jobs[id].inputs.map((i) => (i.dataset !== undefined ? config.datasets[i.dataset].prefix : config.jobs[i.job!].output))));
    const stagingPrefixes = emrJobs.map((id) => jobStagingPrefix(config, names.glueJob(id)));
    const data = this.dataLake;
    emr.grantJobAccess(
      this.artifacts.grantObjects("ReadJobScripts", "read", [COMMON_MODULE, ...scriptKeys].map((key) => `${config.artifacts.scriptsPrefix}${key}`)),
      data.grantObjects("ReadJobInputs", "read", [...inputPrefixes]),
      // Spark's committer writes, reads back and deletes its temporary files under the run's staging folder.
      data.grantObjects("WriteJobStaging", "stage", stagingPrefixes),
      data.grantList("ListJobFolders", prefixAndBelow([...inputPrefixes, ...stagingPrefixes])),
    );
    return emr;
  }
}

/** Every file under `dir`, recursively, in a stable order; skips dot files and Python caches. */
function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith(".") && name !== "__pycache__")
    .sort((a, b) => a.localeCompare(b))
    .flatMap((name) => {
      // statSync follows symbolic links: a linked file ships its content (the fixtures link the one etl_common.py).
      const info = statSync(join(dir, name));
      return info.isDirectory() ? listFiles(join(dir, name)) : info.isFile() ? [join(dir, name)] : [];
    });
}
