// The glue stack per engine: the Athena workgroup and the EMR Serverless application (with its job role) exist
// exactly when a job uses them, their IAM is scoped to ARNs, and each job not on Glue has its spec object, built
// by the same builder as the local runtime's.
import { expect } from "chai";
import { athenaQuery } from "../../core/athena-query";
import { resourceNames, type EtlConfig } from "../../core/config";
import type { AthenaJobSpec, EmrServerlessJobSpec, EngineName } from "../../core/job-spec";
import { ATHENA_RESULTS_PREFIX, jobStagingPrefix } from "../../core/job-specs";
import { escapeRegExp } from "../../core/regex";
import { workflowShape } from "../support/workflow";
import { resources, synthConfig, variant, type TfJson } from "./synth";

const shape = workflowShape();
/** The active configuration with every job on Glue but those in `engines` (Glue's worker settings dropped there). */
const withEngines = (engines: Record<string, EngineName>, change: (raw: any) => void = () => undefined) =>
  variant((raw) => {
    for (const id of shape.jobs) {
      const engine = engines[id] ?? "glue";
      raw.jobs[id].engine = engine;
      if (engine !== "glue") for (const field of ["workerType", "numberOfWorkers"]) delete raw.jobs[id][field];
    }
    change(raw);
  });
/** A job reading a raw dataset (on Athena below), and one reading only other jobs' outputs (on EMR Serverless below). */
const datasetJob = shape.datasetJobs[0];
const joinJob = shape.joinJobs[0];
const specObjects = (glue: TfJson) => Object.values(resources(glue, "aws_s3_object")).filter((o) => /\/jobs\/[^/]+\.json$/.test(o.key));
const specOf = (glue: TfJson, config: EtlConfig, jobId: string) => {
  const object = specObjects(glue).find((o) => o.key === `${config.artifacts.scriptsPrefix}jobs/${resourceNames(config).glueJob(jobId)}.json`);
  expect(object, `spec object of ${jobId}`).to.not.equal(undefined);
  return JSON.parse(object.content);
};
const jobRolePolicy = (glue: TfJson) => JSON.parse(Object.values(resources(glue, "aws_iam_role_policy")).find((p) => p.name === "emr-jobs").policy);

describe("glue stack per engine", () => {
  it("creates neither workgroup, application nor job specs when every job runs on Glue", () => {
    const config = withEngines({});
    const { glue } = synthConfig(config);
    expect(resources(glue, "aws_athena_workgroup")).to.deep.equal({});
    expect(resources(glue, "aws_emrserverless_application")).to.deep.equal({});
    expect(specObjects(glue)).to.deep.equal([]);
    expect(Object.values(resources(glue, "aws_glue_job")).map((j) => j.name).sort()).to.deep.equal(Object.keys(config.jobs).map((id) => resourceNames(config).glueJob(id)).sort());
  });

  describe("athena", () => {
    const config = withEngines({ [datasetJob]: "athena" });
    let glue: TfJson;
    before(() => ({ glue } = synthConfig(config)));

    it("has a workgroup that enforces its configuration: encrypted results in the artifact bucket and the configured scan limit", () => {
      const workgroups = Object.values(resources(glue, "aws_athena_workgroup"));
      expect(workgroups).to.have.length(1);
      const [workgroup] = workgroups;
      expect(workgroup.name).to.equal(resourceNames(config).athenaWorkGroup);
      expect(workgroup.configuration.enforce_workgroup_configuration).to.equal(true);
      expect(workgroup.configuration.bytes_scanned_cutoff_per_query).to.equal(config.athena.bytesScannedCutoffPerQuery);
      expect(workgroup.configuration.result_configuration.encryption_configuration.encryption_option).to.equal("SSE_S3");
      expect(workgroup.configuration.result_configuration.output_location).to.match(/^s3:\/\/\$\{aws_s3_bucket\.artifacts_bucket_[A-Z0-9]+\.bucket\}\//);
      expect(workgroup.configuration.result_configuration.output_location.endsWith(`}/${ATHENA_RESULTS_PREFIX}`)).to.equal(true);
      expect(resources(glue, "aws_emrserverless_application")).to.deep.equal({});
    });

    it("writes the job's spec (the generated statement, workgroup, database, output and staging URIs) and makes no Glue job for it", () => {
      const spec = specOf(glue, config, datasetJob) as AthenaJobSpec;
      const name = resourceNames(config).glueJob(datasetJob);
      expect(spec.engine).to.equal("athena");
      expect(spec.jobName).to.equal(name);
      expect(spec.query).to.equal(athenaQuery(config, datasetJob));
      expect(spec.workGroup).to.match(/^\$\{aws_athena_workgroup\.[^.]+\.name\}$/);
      expect(spec.database).to.equal(config.glue.databaseName);
      expect(spec.outputUri).to.match(new RegExp(`^s3://\\$\\{aws_s3_bucket\\.data-lake_bucket_[A-Z0-9]+\\.bucket\\}/${config.jobs[datasetJob].output}$`));
      expect(spec.stagingUri.endsWith(`/${jobStagingPrefix(config, name)}`)).to.equal(true);
      expect(specObjects(glue)).to.have.length(1);
      expect(Object.values(resources(glue, "aws_glue_job")).map((j) => j.name)).to.not.include(name);
    });

    it("expires the workgroup's results after a week", () => {
      const rules = Object.values(resources(glue, "aws_s3_bucket_lifecycle_configuration")).flatMap((l) => l.rule);
      expect(rules.find((r: any) => r.id === "expire-athena-results")?.filter[0].prefix).to.equal(ATHENA_RESULTS_PREFIX);
    });
  });

  describe("emr-serverless", () => {
    const config = withEngines({ [joinJob]: "emr-serverless" });
    const job = config.jobs[joinJob];
    const sql = job.script.replace(/\.py$/, ".sql");
    let glue: TfJson;
    before(() => ({ glue } = synthConfig(config)));

    it("has a Spark application with the configured release, auto-stop and maximum capacity, logging to its own log group", () => {
      const apps = Object.values(resources(glue, "aws_emrserverless_application"));
      expect(apps).to.have.length(1);
      const [app] = apps;
      expect(app).to.deep.include({ name: resourceNames(config).emrApplication, type: "spark", release_label: config.emrServerless.releaseLabel });
      expect(app.auto_stop_configuration).to.deep.equal({ enabled: true, idle_timeout_minutes: config.emrServerless.idleTimeoutMinutes });
      expect(app.maximum_capacity).to.deep.equal({ cpu: config.emrServerless.maximumCapacity.cpu, memory: config.emrServerless.maximumCapacity.memory });
      expect(app.monitoring_configuration.cloudwatch_logging_configuration.enabled).to.equal(true);
      expect(resources(glue, "aws_athena_workgroup")).to.deep.equal({});
    });

    it("gives the job role exactly the job's scripts, inputs, staging folder and logs, all scoped to ARNs", () => {
      const role = Object.values(resources(glue, "aws_iam_role")).find((r) => r.name === resourceNames(config).emrJobRole);
      const trust = JSON.parse(role.assume_role_policy).Statement[0];
      expect(trust.Principal).to.deep.equal({ Service: "emr-serverless.amazonaws.com" });
      expect(trust.Condition.ArnLike["aws:SourceArn"]).to.match(/aws_emrserverless_application\..*\.arn\}\/jobruns\/\*$/);
      const statements: any[] = jobRolePolicy(glue).Statement;
      for (const s of statements) for (const r of s.Resource) expect(r, s.Sid).to.not.equal("*");
      const sid = (id: string) => statements.find((s) => s.Sid === id);
      const keys = sid("ReadJobScripts").Resource.map((r: string) => r.replace(/^.*\}\//, "")).sort();
      const scripts = config.artifacts.scriptsPrefix;
      expect(keys).to.deep.equal([`${scripts}etl_common.py`, `${scripts}${job.script}`, `${scripts}${sql}`].sort());
      expect(sid("ReadJobInputs").Resource.map((r: string) => r.replace(/^.*\}\//, "")).sort()).to.deep.equal(job.inputs.map((i) => `${config.jobs[i.job!].output}*`).sort());
      expect(sid("WriteJobStaging").Resource.map((r: string) => r.replace(/^.*\}\//, ""))).to.deep.equal([`${jobStagingPrefix(config, resourceNames(config).glueJob(joinJob))}*`]);
      expect(sid("WriteJobStaging").Action).to.not.include("s3:*");
      expect(statements.flatMap((s) => s.Action).filter((a: string) => /^(glue|athena|emr-serverless|iam):/.test(a))).to.deep.equal([]);
    });

    it("writes the job's spec: its script, arguments and files from the artifact bucket, the application and the role", () => {
      const spec = specOf(glue, config, joinJob) as EmrServerlessJobSpec;
      expect(spec.engine).to.equal("emr-serverless");
      expect(spec.applicationId).to.match(/^\$\{aws_emrserverless_application\.[^.]+\.id\}$/);
      expect(spec.executionRoleArn).to.match(/^\$\{aws_iam_role\.[^.]+\.arn\}$/);
      expect(spec.entryPoint.endsWith(`/${config.artifacts.scriptsPrefix}${job.script}`)).to.equal(true);
      expect(spec.entryPointArguments[0]).to.equal("--etl_inputs");
      expect(JSON.parse(spec.entryPointArguments[1]).map((i: any) => i.name)).to.deep.equal(job.inputs.map((i) => i.name));
      expect(spec.entryPointArguments.slice(2, 4)).to.deep.equal(["--etl_sql", sql]);
      expect(spec.entryPointArguments[4]).to.equal("--etl_quality");
      expect(spec.sparkSubmitParameters).to.match(
        new RegExp(`^--py-files s3://\\S+/${escapeRegExp(config.artifacts.scriptsPrefix)}etl_common\\.py --files s3://\\S+/${escapeRegExp(config.artifacts.scriptsPrefix + sql)}$`),
      );
      expect(Object.values(resources(glue, "aws_glue_job")).map((j) => j.name)).to.not.include(resourceNames(config).glueJob(joinJob));
    });
  });

  it("refuses an Athena job that reads a job output without a catalog table, naming the field", () => {
    const read = shape.config.jobs[joinJob].inputs[0].job!;
    const config = withEngines({ [joinJob]: "athena" }, (raw) => delete raw.jobs[read].catalogSchema);
    expect(() => synthConfig(config)).to.throw(new RegExp(`jobs\\.${joinJob}\\.inputs\\[0\\]\\.job: .*catalogSchema`));
  });
});
