import { expect } from "chai";
import { csvLineRegex } from "../../core/catalog";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { jobArguments } from "../../core/job-arguments";
import { scriptsDir } from "../../core/config";
import { resources, resourceWith, synthFile, type SynthesizedApp, type TfJson } from "./synth";

const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));

describe("glue stack (example configuration)", () => {
  let app: SynthesizedApp;
  let glue: TfJson;
  // References to the buckets, e.g. "${aws_s3_bucket.<id>.bucket}".
  let dataBucket: string;
  let dataArn: string;
  let artifactsArn: string;
  before(() => {
    app = synthFile();
    glue = app.glue;
    const idOf = (prefix: string) => Object.entries(resources(glue, "aws_s3_bucket")).find(([, b]) => b.bucket_prefix === prefix)![0];
    dataBucket = `\${aws_s3_bucket.${idOf("data-lake-")}.bucket}`;
    dataArn = `\${aws_s3_bucket.${idOf("data-lake-")}.arn}`;
    artifactsArn = `\${aws_s3_bucket.${idOf("artifacts-")}.arn}`;
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
    expect(uploaded.some((o) => o.key === "glue-scripts/schemas/sales.json")).to.equal(true);
  });

  it("catalogs the raw CSV datasets (string columns from the schema) and the curated join (typed Parquet)", () => {
    expect(Object.values(resources(glue, "aws_glue_catalog_database"))[0].name).to.equal("etl_orchestrator");
    const tables = resources(glue, "aws_glue_catalog_table");
    expect(Object.values(tables).map((t) => t.name).sort()).to.deep.equal(["marketing_and_sales", "raw_marketing", "raw_sales"]);

    const sales = resourceWith(glue, "aws_glue_catalog_table", "name", "raw_sales");
    const schema = JSON.parse(readFileSync(join(scriptsDir(app.config), "schemas", "sales.json"), "utf8"));
    expect(sales.storage_descriptor.columns.map((c: any) => c.name)).to.deep.equal(schema.columns.map((c: any) => c.name));
    expect(sales.storage_descriptor.columns.every((c: any) => c.type === "string")).to.equal(true);
    // RegexSerDe: a malformed line (unclosed quote, wrong field count) is all NULL, dropped and counted by the statements.
    expect(sales.storage_descriptor.ser_de_info.serialization_library).to.equal("org.apache.hadoop.hive.serde2.RegexSerDe");
    expect(sales.storage_descriptor.ser_de_info.parameters["input.regex"]).to.equal(csvLineRegex(schema.columns.length));
    expect(sales.parameters["skip.header.line.count"]).to.equal("1");
    expect(sales.storage_descriptor.location).to.equal(`s3://${dataBucket}/raw/sales/`);
    expect(sales.description).to.match(/string.*M\/D\/YYYY/);

    const joined = resourceWith(glue, "aws_glue_catalog_table", "name", "marketing_and_sales");
    const joinedSchema = JSON.parse(readFileSync(join(scriptsDir(app.config), "schemas", "marketing_and_sales.json"), "utf8"));
    expect(joined.storage_descriptor.columns).to.deep.equal(joinedSchema.columns.map((c: any) => ({ name: c.name, type: c.type })));
    expect(joined.storage_descriptor.ser_de_info.serialization_library).to.equal("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
    expect(joined.storage_descriptor.location).to.equal(`s3://${dataBucket}/curated/marketing_and_sales/`);
  });

  it("defines one Glue 5 job per job on Glue, without Glue retries, with the shared job arguments", () => {
    const jobs = resources(glue, "aws_glue_job");
    const onGlue = Object.keys(app.config.jobs).filter((id) => app.config.jobs[id].engine === "glue");
    expect(Object.values(jobs).map((j) => j.name).sort()).to.deep.equal(onGlue.map((id) => `etl-dev-${id}`).sort());
    const psd = resourceWith(glue, "aws_glue_job", "name", "etl-dev-PSD");
    expect(psd).to.include({ glue_version: "5.0", worker_type: "G.1X", number_of_workers: 2, timeout: 60, max_retries: 0 });
    expect(psd.execution_property).to.deep.equal({ max_concurrent_runs: 1 });
    expect(psd.security_configuration).to.match(/aws_glue_security_configuration/);
    expect(psd.command).to.deep.include({ name: "glueetl", python_version: "3" });
    expect(psd.command.script_location).to.match(/^s3:\/\/\$\{aws_s3_bucket\.artifacts.*\}\/glue-scripts\/process_sales_data\.py$/);
    const args = psd.default_arguments;
    expect(args).to.deep.include(jobArguments(app.config, "PSD", dataBucket));
    expect(args["--extra-py-files"]).to.match(/\/glue-scripts\/etl_common\.py$/);
    expect(args["--extra-files"].split(",").map((u: string) => u.replace(/.*\/glue-scripts\//, ""))).to.deep.equal(["process_sales_data.sql", "schemas/sales.json"]);
    expect(args).to.include({ "--job-language": "python", "--enable-metrics": "true", "--enable-continuous-cloudwatch-log": "true" });
    expect(args["--TempDir"]).to.match(/^s3:\/\/\$\{aws_s3_bucket\.artifacts.*\}\/glue-temp\/$/);
    // A job reading only other jobs' Parquet ships no schema.
    const jmsd = resourceWith(glue, "aws_glue_job", "name", "etl-dev-JMSD");
    expect(jmsd.default_arguments["--extra-files"]).to.match(/join_marketing_and_sales_data\.sql$/);
    expect(jmsd.default_arguments["--extra-files"]).to.not.include(",");
  });

  it("encrypts Glue output and scopes the job role to the project's prefixes", () => {
    const security = Object.values(resources(glue, "aws_glue_security_configuration"))[0];
    expect(security.encryption_configuration.s3_encryption.s3_encryption_mode).to.equal("SSE-S3");
    const statements = JSON.parse(Object.values(resources(glue, "aws_iam_role_policy"))[0].policy).Statement;
    const sid = (s: string) => statements.find((x: any) => x.Sid === s);
    const data = dataArn;
    expect(sid("ReadInputs").Resource).to.deep.equal([`${data}/raw/*`, `${data}/processed/*`]);
    expect(sid("WriteOutputs").Action).to.include.members(["s3:PutObject", "s3:DeleteObject"]);
    expect(sid("WriteOutputs").Resource).to.deep.equal([`${data}/processed/*`, `${data}/curated/*`]);
    expect(sid("ListDataLake").Condition.StringLike["s3:prefix"]).to.include.members(["raw/*", "processed/*", "curated/*"]);
    expect(sid("ReadArtifacts").Resource).to.deep.equal([`${artifactsArn}/glue-scripts/*`]);
    expect(sid("GlueLogs").Resource[0]).to.match(/:log-group:\/aws-glue\/\*$/);
  });
});
