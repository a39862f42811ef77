import { expect } from "chai";
import { csvLineRegex } from "../../core/catalog";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { jobArguments } from "../../core/job-arguments";
import { COUNTS_OBJECT } from "../../core/quality";
import { outputTableName, rawTableName } from "../../core/catalog";
import { resourceNames, scriptsDir } from "../../core/config";
import { resources, resourceWith, synthFile, type SynthesizedApp, type TfJson } from "./synth";

const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));

describe("glue stack (active configuration)", () => {
  let app: SynthesizedApp;
  let glue: TfJson;
  // References to the buckets, e.g. "${aws_s3_bucket.<id>.bucket}".
  let dataBucket: string;
  let dataArn: string;
  let artifactsArn: string;
  let artifactsId: string;
  before(() => {
    app = synthFile();
    glue = app.glue;
    const idOf = (prefix: string) => Object.entries(resources(glue, "aws_s3_bucket")).find(([, b]) => b.bucket_prefix === prefix)![0];
    dataBucket = `\${aws_s3_bucket.${idOf("data-lake-")}.bucket}`;
    dataArn = `\${aws_s3_bucket.${idOf("data-lake-")}.arn}`;
    artifactsArn = `\${aws_s3_bucket.${idOf("artifacts-")}.arn}`;
    artifactsId = idOf("artifacts-");
  });

  it("has the data-lake and artifact buckets, versioned, logging to the access-log bucket", () => {
    const buckets = Object.entries(resources(glue, "aws_s3_bucket"));
    expect(buckets.map(([, b]) => b.bucket_prefix).sort()).to.deep.equal(["artifacts-", "artifacts-logs-", "data-lake-"]);
    const ref = (prefix: string, attribute = "id") => `\${aws_s3_bucket.${buckets.find(([, b]) => b.bucket_prefix === prefix)![0]}.${attribute}}`;
    const versioned = Object.values(resources(glue, "aws_s3_bucket_versioning"));
    expect(versioned.map((v) => v.bucket).sort()).to.deep.equal([ref("artifacts-"), ref("data-lake-")].sort());
    expect(versioned.every((v) => v.versioning_configuration.status === "Enabled")).to.equal(true);
    const logging = Object.values(resources(glue, "aws_s3_bucket_logging"));
    expect(logging.map((l) => [l.bucket, l.target_bucket, l.target_prefix]).sort()).to.deep.equal(
      [
        [ref("artifacts-"), ref("artifacts-logs-"), `${ref("artifacts-", "bucket")}/`],
        [ref("data-lake-"), ref("artifacts-logs-"), `${ref("data-lake-", "bucket")}/`],
      ].sort(),
    );
    // S3's log delivery may write to the log bucket for this account only.
    const policy = Object.values(resources(glue, "aws_s3_bucket_policy")).find((p) => p.bucket === ref("artifacts-logs-"));
    const delivery = JSON.parse(policy.policy).Statement.find((s: any) => s.Sid === "S3ServerAccessLogs");
    expect(delivery).to.deep.include({ Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: ["s3:PutObject"], Resource: [`${ref("artifacts-logs-", "arn")}/*`] });
    expect(delivery.Condition.StringEquals["aws:SourceAccount"]).to.match(/data\.aws_caller_identity/);
  });

  it("keeps replaced data-lake objects 30 days, expires access logs with the log retention, aborts stale uploads everywhere", () => {
    const lifecycles = Object.values(resources(glue, "aws_s3_bucket_lifecycle_configuration"));
    const rules = (fragment: string) => lifecycles.find((l) => l.bucket.includes(fragment))!.rule;
    expect(rules("data-lake").find((r: any) => r.id === "expire-replaced-data")).to.deep.include({ noncurrent_version_expiration: [{ noncurrent_days: 30 }], expiration: [{ expired_object_delete_marker: true }] });
    expect(rules("access-logs").find((r: any) => r.id === "expire-access-logs").expiration).to.deep.equal([{ days: 30 }]);
    for (const fragment of ["data-lake", "artifacts_bucket", "access-logs"])
      expect(rules(fragment).find((r: any) => r.id === "abort-incomplete-uploads").abort_incomplete_multipart_upload, fragment).to.deep.equal([{ days_after_initiation: 1 }]);
  });

  it("creates zero-byte folder objects for the three top prefixes only", () => {
    const folders = Object.values(resources(glue, "aws_s3_object")).filter((o) => o.content === "");
    expect(folders.map((o) => o.key).sort()).to.deep.equal(["curated/", "processed/", "raw/"]);
    expect(folders.every((o) => o.bucket.includes("data-lake"))).to.equal(true);
  });

  it("uploads every file of glue-scripts/ with the md5 of its content", () => {
    const dir = scriptsDir(app.config);
    const uploaded = Object.values(resources(glue, "aws_s3_object")).filter((o) => o.source !== undefined);
    const expected = files(dir).filter((f) => !f.includes("__pycache__") && !relative(dir, f).split(sep).some((p) => p.startsWith(".")));
    expect(uploaded.map((o) => o.key).sort()).to.deep.equal(expected.map((f) => `glue-scripts/${relative(dir, f).split(sep).join("/")}`).sort());
    for (const f of expected) {
      const object = resourceWith(glue, "aws_s3_object", "key", `glue-scripts/${relative(dir, f).split(sep).join("/")}`);
      expect(object.source_hash, f).to.equal(createHash("md5").update(readFileSync(f)).digest("hex"));
      expect(object.source, f).to.match(/^assets\//);
      expect(object.bucket).to.include("artifacts");
    }
    expect(uploaded.some((o) => o.key === "glue-scripts/etl_common.py")).to.equal(true);
    for (const { schema } of Object.values(app.config.datasets)) expect(uploaded.some((o) => o.key === `glue-scripts/schemas/${schema}`), schema).to.equal(true);
  });

  it("catalogs the raw CSV datasets (string columns from the schema) and each job's catalogSchema output (typed Parquet)", () => {
    const { config } = app;
    expect(Object.values(resources(glue, "aws_glue_catalog_database"))[0].name).to.equal(config.glue.databaseName);
    const tables = resources(glue, "aws_glue_catalog_table");
    const withSchema = Object.keys(config.jobs).filter((id) => config.jobs[id].catalogSchema !== undefined);
    expect(withSchema, "jobs with a catalogSchema").to.not.be.empty;
    expect(Object.values(tables).map((t) => t.name).sort()).to.deep.equal([...Object.keys(config.datasets).map(rawTableName), ...withSchema.map((id) => outputTableName(config, id))].sort());

    for (const [dataset, { prefix, schema: file }] of Object.entries(config.datasets)) {
      const raw = resourceWith(glue, "aws_glue_catalog_table", "name", rawTableName(dataset));
      const schema = JSON.parse(readFileSync(join(scriptsDir(config), "schemas", file), "utf8"));
      expect(raw.storage_descriptor.columns.map((c: any) => c.name), dataset).to.deep.equal(schema.columns.map((c: any) => c.name));
      expect(raw.storage_descriptor.columns.every((c: any) => c.type === "string"), dataset).to.equal(true);
      // RegexSerDe: a malformed line (unclosed quote, wrong field count) is all NULL, dropped and counted by the statements.
      expect(raw.storage_descriptor.ser_de_info.serialization_library).to.equal("org.apache.hadoop.hive.serde2.RegexSerDe");
      expect(raw.storage_descriptor.ser_de_info.parameters["input.regex"]).to.equal(csvLineRegex(schema.columns.length));
      expect(raw.parameters["skip.header.line.count"]).to.equal("1");
      expect(raw.storage_descriptor.location).to.equal(`s3://${dataBucket}/${prefix}`);
      expect(raw.description).to.match(/string.*M\/D\/YYYY/);
    }

    for (const id of withSchema) {
      const job = config.jobs[id];
      const output = resourceWith(glue, "aws_glue_catalog_table", "name", outputTableName(config, id));
      const schema = JSON.parse(readFileSync(join(scriptsDir(config), "schemas", job.catalogSchema!), "utf8"));
      expect(output.storage_descriptor.columns, id).to.deep.equal(schema.columns.map((c: any) => ({ name: c.name, type: c.type })));
      expect(output.storage_descriptor.ser_de_info.serialization_library).to.equal("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
      expect(output.storage_descriptor.location).to.equal(`s3://${dataBucket}/${job.output}`);
    }
  });

  it("defines one Glue 5 job per job on Glue, without Glue retries, with the shared job arguments", () => {
    const { config } = app;
    const names = resourceNames(config);
    const jobs = resources(glue, "aws_glue_job");
    const onGlue = Object.keys(config.jobs).filter((id) => config.jobs[id].engine === "glue");
    expect(onGlue, "jobs on Glue").to.not.be.empty;
    expect(Object.values(jobs).map((j) => j.name).sort()).to.deep.equal(onGlue.map(names.glueJob).sort());
    for (const id of onGlue) {
      const job = config.jobs[id];
      const resource = resourceWith(glue, "aws_glue_job", "name", names.glueJob(id));
      expect(resource, id).to.include({
        glue_version: config.glue.version,
        worker_type: job.workerType ?? config.glue.workerType,
        number_of_workers: job.numberOfWorkers ?? config.glue.numberOfWorkers,
        timeout: job.timeoutMinutes ?? config.glue.timeoutMinutes,
        max_retries: 0,
      });
      expect(resource.execution_property).to.deep.equal({ max_concurrent_runs: config.glue.maxConcurrentRuns });
      expect(resource.security_configuration).to.match(/aws_glue_security_configuration/);
      expect(resource.command).to.deep.include({ name: "glueetl", python_version: "3" });
      expect(resource.command.script_location).to.equal(`s3://\${aws_s3_bucket.${artifactsId}.bucket}/${config.artifacts.scriptsPrefix}${job.script}`);
      const args = resource.default_arguments;
      expect(args).to.deep.include(jobArguments(config, id, dataBucket));
      // Its counts object goes to its staging folder, not into its output; the runner reads it from there.
      const countsKey = `${config.dataLake.stagingPrefix}${names.glueJob(id)}/${COUNTS_OBJECT}`;
      expect(args["--etl_counts"]).to.equal(`s3://${dataBucket}/${countsKey}`);
      expect(countsKey.startsWith(job.output)).to.equal(false);
      const runnerEnv = resourceWith(app.runner, "aws_lambda_function", "function_name", names.runnerFunction).environment.variables;
      expect(JSON.parse(runnerEnv.GLUE_COUNTS_URIS)[names.glueJob(id)]).to.match(new RegExp(`^s3://\\$\\{[^}]+\\}/${countsKey}$`));
      expect(args["--extra-py-files"]).to.match(/\/glue-scripts\/etl_common\.py$/);
      // The job's SQL and the schemas of the raw datasets it reads: a job reading only other jobs' Parquet ships no schema.
      const schemas = job.inputs.flatMap((i) => (i.dataset !== undefined ? [`schemas/${config.datasets[i.dataset].schema}`] : []));
      expect(args["--extra-files"].split(",").map((u: string) => u.replace(/.*\/glue-scripts\//, "")), id).to.deep.equal([job.script.replace(/\.py$/, ".sql"), ...new Set(schemas)]);
      expect(args).to.include({ "--job-language": "python", "--enable-metrics": "true", "--enable-continuous-cloudwatch-log": "true" });
      expect(args["--TempDir"]).to.match(/^s3:\/\/\$\{aws_s3_bucket\.artifacts.*\}\/glue-temp\/$/);
    }
  });

  it("encrypts Glue output and scopes the job role to the project's prefixes", () => {
    const { config } = app;
    const names = resourceNames(config);
    const security = Object.values(resources(glue, "aws_glue_security_configuration"))[0];
    expect(security.encryption_configuration.s3_encryption.s3_encryption_mode).to.equal("SSE-S3");
    // The Glue job role's policy (with a job on EMR Serverless, the stack also has the EMR job role's).
    const statements = JSON.parse(resourceWith(glue, "aws_iam_role_policy", "name", "etl-jobs").policy).Statement;
    const sid = (s: string) => statements.find((x: any) => x.Sid === s);
    const data = dataArn;
    expect(sid("ReadInputs").Resource).to.deep.equal([`${data}/raw/*`, `${data}/processed/*`]);
    expect(sid("WriteOutputs").Action).to.include.members(["s3:PutObject", "s3:DeleteObject"]);
    expect(sid("WriteOutputs").Resource).to.deep.equal([`${data}/processed/*`, `${data}/curated/*`]);
    expect(sid("ListDataLake").Condition.StringLike["s3:prefix"]).to.include.members(["raw/*", "processed/*", "curated/*"]);
    // Each Glue job writes its counts object, and that one object only, in its staging folder.
    const glueJobs = Object.keys(config.jobs).filter((id) => config.jobs[id].engine === "glue").map(names.glueJob);
    expect(sid("WriteRunCounts").Resource).to.deep.equal(glueJobs.map((job) => `${data}/${config.dataLake.stagingPrefix}${job}/${COUNTS_OBJECT}`));
    expect(sid("ListDataLake").Condition.StringLike["s3:prefix"]).to.include.members(glueJobs.map((job) => `${config.dataLake.stagingPrefix}${job}/*`));
    expect(sid("ReadArtifacts").Resource).to.deep.equal([`${artifactsArn}/glue-scripts/*`]);
    expect(sid("GlueLogs").Resource[0]).to.match(/:log-group:\/aws-glue\/\*$/);
  });
});
