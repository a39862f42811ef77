// The configuration's loader and validation, on variants of the active configuration (ETL_CONFIG, else
// etl.config.json); the shipped file's own values are checked in test/example/config.test.ts.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { expect } from "chai";
import { ConfigError, definitionPath, loadConfig, resourceNames, schemaPath, scriptPath, sqlPath } from "../../core/config";
import { activeConfigFile, activeRawConfig, parseVariant, workflowShape } from "../support/workflow";

/** The active configuration as raw JSON, to change one field per test. */
const active = activeRawConfig;
const parse = (raw: unknown, environment?: string) => parseVariant(raw, { source: "test.json", environment });
const shape = workflowShape();
const [firstDataset] = shape.datasets;
const [firstJob] = shape.jobs;
/** A job of the active configuration that reads a raw dataset. */
const datasetJob = shape.datasetJobs[0];
/** The active configuration with two environments of its own, "prod" and "staging" left undefined. */
const withProd = () => {
  const raw = active();
  raw.environments = { prod: { glue: { numberOfWorkers: raw.glue.numberOfWorkers + 2 }, schedules: { fallback: "rate(7 minutes)" }, logRetentionDays: 365 } };
  return raw;
};
/** Writes `raw` as etl.config.json in `dir`, with the active workflow file beside it and the active scripts. */
const writeCopy = (raw: any, dir: string): string => {
  const config = loadConfig(activeConfigFile());
  raw.scriptsDir = resolve(dirname(activeConfigFile()), raw.scriptsDir ?? "glue-scripts");
  mkdirSync(dirname(join(dir, raw.stateMachine.definition)), { recursive: true });
  cpSync(definitionPath(config), join(dir, raw.stateMachine.definition));
  writeFileSync(join(dir, "etl.config.json"), JSON.stringify(raw));
  return join(dir, "etl.config.json");
};
/** Puts job `id` on Glue with `fields` (a Glue-only setting is then checked for its value, not its engine). */
const onGlue = (raw: any, id: string, fields: Record<string, unknown>) => Object.assign(raw.jobs[id], { engine: "glue", ...fields });
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("stacks/config", () => {
  let savedEnv: string | undefined;
  beforeEach(() => {
    savedEnv = process.env.ETL_ENV;
    delete process.env.ETL_ENV;
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.ETL_ENV;
    else process.env.ETL_ENV = savedEnv;
  });

  describe("defaults", () => {
    it("loads the active file (ETL_CONFIG, else etl.config.json) as its base environment, files resolved against its folder", () => {
      const raw = active();
      const config = loadConfig();
      expect(config.environment).to.equal(raw.environment);
      expect(config.rootDir).to.equal(dirname(activeConfigFile()));
      expect(config.scriptsDir).to.equal(raw.scriptsDir ?? "glue-scripts");
      expect(config.glue.numberOfWorkers).to.equal(raw.glue.numberOfWorkers);
      expect(config).to.not.have.property("environments");
      expect(config).to.deep.equal(loadConfig(activeConfigFile()));
    });

    it("fills defaults for optional fields", () => {
      const raw = active();
      delete raw.tags;
      delete raw.backend;
      raw.jobs[firstJob].description = undefined;
      const config = parse(raw);
      expect(config.tags).to.deep.equal({});
      expect(config.backend).to.deep.equal({ type: "local" });
      expect(config.jobs[firstJob].description).to.equal("");
    });

    it("names every resource after project and environment", () => {
      const raw = active();
      Object.assign(raw, { project: "etl", environment: "dev", activities: { runner: "etl-runner", waitPrefix: "wait-for-" } });
      raw.stateMachine.name = "workflow";
      raw.runner.tableName = "active-job-runs";
      raw.dataArrival.tableName = "data-arrivals";
      const names = resourceNames(parse(raw));
      expect(names).to.deep.include({
        prefix: "etl-dev",
        runnerActivity: "etl-dev-etl-runner",
        stateMachine: "etl-dev-workflow",
        runnerTable: "etl-dev-active-job-runs",
        arrivalTable: "etl-dev-data-arrivals",
        runnerFunction: "etl-dev-etl-runner",
        dataArrivalFunction: "etl-dev-data-arrival",
        failureTopic: "etl-dev-failures",
        eventSource: "etl.dev.workflow",
        athenaWorkGroup: "etl-dev-etl",
        emrApplication: "etl-dev-spark",
        emrJobRole: "etl-dev-emr-job",
      });
      for (const dataset of shape.datasets) expect(names.waitActivity(dataset)).to.equal(`etl-dev-wait-for-${dataset}`);
      for (const job of shape.jobs) expect(names.glueJob(job)).to.equal(`etl-dev-${job}`);
    });
  });

  describe("engines' sections", () => {
    it("defaults athena, emrServerless and dataLake.stagingPrefix when absent", () => {
      const raw = active();
      delete raw.athena;
      delete raw.emrServerless;
      delete raw.dataLake.stagingPrefix;
      const config = parse(raw);
      expect(config.athena).to.deep.equal({ bytesScannedCutoffPerQuery: 10 * 1024 ** 3 });
      expect(config.emrServerless).to.deep.equal({ releaseLabel: "emr-7.9.0", idleTimeoutMinutes: 15, maximumCapacity: { cpu: "8 vCPU", memory: "32 GB" } });
      expect(config.dataLake.stagingPrefix).to.equal("staging/");
    });

    it("fills a partial emrServerless section field by field", () => {
      const raw = active();
      raw.emrServerless = { maximumCapacity: { cpu: "4 vCPU" } };
      expect(parse(raw).emrServerless).to.deep.equal({ releaseLabel: "emr-7.9.0", idleTimeoutMinutes: 15, maximumCapacity: { cpu: "4 vCPU", memory: "32 GB" } });
    });

    it("rejects a bytes-scanned limit under Athena's 10 MB, a bad release label, a bad capacity and a bad staging prefix, naming each", () => {
      const raw = active();
      raw.athena = { bytesScannedCutoffPerQuery: 1000 };
      raw.emrServerless = { releaseLabel: "7.9", maximumCapacity: { memory: "32GB" } };
      raw.dataLake.stagingPrefix = "/staging";
      const message = errorOf(() => parse(raw));
      expect(message).to.match(/athena\.bytesScannedCutoffPerQuery: at least 10000000.*\(got 1000\)/);
      expect(message).to.match(/emrServerless\.releaseLabel: an EMR release label.*\(got "7\.9"\)/);
      expect(message).to.match(/emrServerless\.maximumCapacity\.memory: .*\(got "32GB"\)/);
      expect(message).to.match(/dataLake\.stagingPrefix: an S3 key prefix/);
    });
  });

  describe("environments", () => {
    let tmp: string;
    /** A copy of the active configuration with a prod environment, as a file. */
    let file: string;
    before(() => {
      tmp = mkdtempSync(join(tmpdir(), "config-environments-"));
      file = writeCopy(withProd(), tmp);
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    it("merges an environment's overrides over the base, field by field", () => {
      const { glue, schedules, logRetentionDays } = withProd().environments.prod;
      const prod = loadConfig(file, "prod");
      const dev = loadConfig(file);
      expect(prod.environment).to.equal("prod");
      expect(prod.glue).to.deep.equal({ ...dev.glue, numberOfWorkers: glue.numberOfWorkers });
      expect(prod.glue.numberOfWorkers).to.not.equal(dev.glue.numberOfWorkers);
      expect(prod.schedules).to.deep.equal({ ...dev.schedules, fallback: schedules.fallback });
      expect(prod.logRetentionDays).to.equal(logRetentionDays);
      expect(prod.jobs).to.deep.equal(dev.jobs);
    });

    it("puts the environment in every resource name", () => {
      const raw = withProd();
      Object.assign(raw, { project: "etl", activities: { runner: "etl-runner", waitPrefix: "wait-for-" } });
      const names = resourceNames(parse(raw, "prod"));
      expect(names.prefix).to.equal("etl-prod");
      expect(names.runnerActivity).to.equal("etl-prod-etl-runner");
      for (const job of shape.jobs) expect(names.glueJob(job)).to.equal(`etl-prod-${job}`);
      for (const dataset of shape.datasets) expect(names.waitActivity(dataset)).to.equal(`etl-prod-wait-for-${dataset}`);
      expect(names.eventSource).to.equal("etl.prod.workflow");
    });

    it("is selected by ETL_ENV, and the base environment's name selects the base", () => {
      const saved = process.env.ETL_CONFIG;
      process.env.ETL_CONFIG = file;
      try {
        process.env.ETL_ENV = "prod";
        expect(loadConfig().environment).to.equal("prod");
        expect(loadConfig(file, active().environment)).to.deep.equal((delete process.env.ETL_ENV, loadConfig()));
      } finally {
        process.env.ETL_CONFIG = saved;
        if (saved === undefined) delete process.env.ETL_CONFIG;
      }
    });

    it("gives an environment its own names, prefixes and schedules", () => {
      const raw = withProd();
      raw.environments.staging = { project: "etl2", dataLake: { bucketPrefix: "stg-lake-" }, schedules: { workflowEnabled: false } };
      const staging = parse(raw, "staging");
      expect(resourceNames(staging).prefix).to.equal("etl2-staging");
      expect(staging.dataLake).to.deep.equal({ ...parse(active()).dataLake, bucketPrefix: "stg-lake-" });
      expect(staging.schedules.workflowEnabled).to.equal(false);
    });

    it("rejects an unknown environment, naming the file and the known ones", () => {
      expect(errorOf(() => loadConfig(file, "staging"))).to.equal(`${file}: unknown environment 'staging'; known: ${active().environment}, prod`);
      process.env.ETL_ENV = "qa";
      expect(errorOf(() => loadConfig())).to.include("unknown environment 'qa'");
    });

    it("validates the merged result and names the environment, field and value", () => {
      const raw = withProd();
      raw.environments.prod.runner = { timeoutSeconds: 60 };
      expect(errorOf(() => parse(raw, "prod"))).to.equal(
        "test.json [environment prod]: invalid configuration\n  - runner.timeoutSeconds: at least 90 s, to outlive the 60 s activity long-poll (got 60)",
      );
      // The base alone is still valid: only the environment is wrong.
      expect(parse(raw).runner.timeoutSeconds).to.equal(raw.runner.timeoutSeconds);
    });
  });

  describe("backend", () => {
    it("configures S3 with native lock files by default", () => {
      const raw = active();
      raw.backend = { type: "s3", bucket: "my-tf-state", region: "eu-west-1" };
      expect(parse(raw).backend).to.deep.equal({ type: "s3", bucket: "my-tf-state", keyPrefix: "etl-orchestrator/", region: "eu-west-1", useLockfile: true });
    });

    it("lets an environment switch from the local to the S3 backend without inheriting local fields", () => {
      const raw = active();
      raw.backend = { type: "local", path: "state/dev.tfstate" };
      raw.environments = { prod: { backend: { type: "s3", bucket: "prod-tf-state" } } };
      expect(parse(raw, "prod").backend).to.deep.equal({ type: "s3", bucket: "prod-tf-state", keyPrefix: "etl-orchestrator/", useLockfile: true });
      expect(parse(raw).backend).to.deep.equal({ type: "local", path: "state/dev.tfstate" });
    });

    it("rejects DynamoDB locking, a bad bucket and an unknown type, naming field and value", () => {
      const raw = active();
      raw.backend = { type: "s3", bucket: "Bad_Bucket", dynamodbTable: "locks" };
      const message = errorOf(() => parse(raw));
      expect(message).to.include("backend.bucket: an S3 bucket name (got \"Bad_Bucket\")");
      expect(message).to.match(/backend: Unrecognized key: "dynamodbTable"/);
      raw.backend = { type: "consul" };
      expect(errorOf(() => parse(raw))).to.match(/  - backend\.type: .* \(got "consul"\)/);
    });
  });

  it("runs a job on Glue unless its engine says otherwise", () => {
    const raw = active();
    const moved = shape.jobs.find((id) => raw.jobs[id].engine !== "emr-serverless")!;
    for (const field of ["workerType", "numberOfWorkers"]) delete raw.jobs[moved][field];
    raw.jobs[moved].engine = "emr-serverless";
    const config = parse(raw);
    for (const id of Object.keys(config.jobs)) expect(config.jobs[id].engine, id).to.equal(id === moved ? "emr-serverless" : (active().jobs[id].engine ?? "glue"));
  });

  describe("bad values", () => {
    const cases: Array<[string, (raw: any) => void, string]> = [
      ["project", (r) => (r.project = "ETL"), '  - project: lower-case letters, digits and \'-\', starting with a letter, at most 20 characters (got "ETL")'],
      ["region", (r) => (r.region = "moon-1"), '  - region: an AWS region such as \'us-east-1\' (got "moon-1")'],
      ["schedule", (r) => (r.schedules.fallback = "every 5 minutes"), "  - schedules.fallback: an EventBridge expression such as 'cron(0 3 ? * MON *)' or 'rate(5 minutes)' (got \"every 5 minutes\")"],
      ["prefix", (r) => (r.datasets[firstDataset].prefix = "/raw/x"), `  - datasets.${firstDataset}.prefix: an S3 key prefix such as 'raw/sales/' (no leading '/', ends with '/') (got "/raw/x")`],
      ["retention", (r) => (r.logRetentionDays = 31), "  - logRetentionDays: a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30"],
      ["missing field", (r) => delete r.glue.version, "  - glue.version: "],
      ["unknown field", (r) => (r.glue.workers = 3), '  - glue: Unrecognized key: "workers"'],
      ["worker type", (r) => onGlue(r, firstJob, { workerType: "G.16X" }), `  - jobs.${firstJob}.workerType: `],
      ["streaming-only worker type", (r) => (r.glue.workerType = "G.025X"), '  - glue.workerType: a worker type of Glue Spark (glueetl) jobs: G.1X, G.2X, G.4X or G.8X (G.025X is for streaming jobs, Z.2X for Ray jobs) (got "G.025X")'],
      ["engine", (r) => (r.jobs[firstJob].engine = "spark"), `  - jobs.${firstJob}.engine: an engine: glue, athena, emr-serverless (got "spark")`],
      ["Glue worker settings on another engine", (r) => Object.assign(r.jobs[firstJob], { engine: "athena", numberOfWorkers: 4 }), `  - jobs.${firstJob}.numberOfWorkers: applies to engine "glue" only (this job runs on athena) (got 4)`],
      ["Ray-only worker type", (r) => onGlue(r, firstJob, { workerType: "Z.2X" }), `  - jobs.${firstJob}.workerType: a worker type of Glue Spark (glueetl) jobs: G.1X, G.2X, G.4X or G.8X (G.025X is for streaming jobs, Z.2X for Ray jobs) (got "Z.2X")`],
    ];
    for (const [what, change, expected] of cases)
      it(`names the field and the value: ${what}`, () => {
        const raw = active();
        change(raw);
        const message = errorOf(() => parse(raw));
        expect(message).to.match(/^test\.json: invalid configuration\n/);
        expect(message).to.include(expected);
      });

    it("rejects derived names over AWS's limits, naming the fields and the resulting name", () => {
      const raw = active();
      raw.project = "p".repeat(20);
      raw.environment = "e".repeat(20);
      raw.stateMachine.name = "s".repeat(20);
      raw.activities.waitPrefix = "w".repeat(20);
      raw.datasets["d".repeat(40)] = { prefix: `${raw.dataLake.rawPrefix}long/`, schema: raw.datasets[firstDataset].schema };
      const message = errorOf(() => parse(raw));
      const sm = `${"p".repeat(20)}-${"e".repeat(20)}-${"s".repeat(20)}`;
      expect(message).to.include(
        `  - stateMachine.name: the IAM role name '${sm}-schedule' (from project, environment, stateMachine.name) is 71 characters; AWS allows at most 64: shorten project or environment or stateMachine.name by 7 (got "${"s".repeat(20)}")`,
      );
      expect(message).to.include(
        `  - datasets.${"d".repeat(40)}: the Step Functions activity name '${"p".repeat(20)}-${"e".repeat(20)}-${"w".repeat(20)}${"d".repeat(40)}' (from project, environment, activities.waitPrefix, datasets.${"d".repeat(40)}) is 102 characters; AWS allows at most 80`,
      );
      for (const dataset of shape.datasets) expect(message).to.not.include(`datasets.${dataset}:`);
      expect(message).to.not.include("  - environment:");
    });

    it("accepts the longest names that fit", () => {
      const raw = active();
      raw.project = "p".repeat(20);
      raw.environment = "e".repeat(20);
      raw.stateMachine.name = "s".repeat(13);
      expect(resourceNames(parse(raw)).stateMachine.length + "-schedule".length).to.equal(64);
    });

    it("lists every bad field at once", () => {
      const raw = active();
      raw.region = "x";
      raw.runner.memoryMb = 64;
      expect(errorOf(() => parse(raw)).split("\n")).to.have.length(3);
    });

    it("rejects something that is not an object", () => {
      expect(errorOf(() => parse([]))).to.equal("test.json: expected a JSON object");
    });
  });

  describe("cross-references", () => {
    it("rejects a job input naming an unknown dataset or job, with the known ones", () => {
      const raw = active();
      raw.jobs[datasetJob].inputs[0].dataset = "no_such_dataset";
      const inputs = raw.jobs[firstJob].inputs;
      inputs.push({ name: "extra", job: "NoSuchJob" });
      const message = errorOf(() => parse(raw));
      expect(message).to.include(`  - jobs.${datasetJob}.inputs.0.dataset: unknown dataset; known: ${shape.datasets.join(", ")} (got "no_such_dataset")`);
      expect(message).to.include(`  - jobs.${firstJob}.inputs.${inputs.length - 1}.job: unknown job; known: ${shape.jobs.join(", ")} (got "NoSuchJob")`);
    });

    it("rejects a job reading its own output, and an input with both or neither source", () => {
      const raw = active();
      const inputs = raw.jobs[firstJob].inputs;
      const at = inputs.length;
      inputs.push({ name: "self", job: firstJob }, { name: "both", dataset: firstDataset, job: shape.jobs[shape.jobs.length - 1] }, { name: "neither" });
      const message = errorOf(() => parse(raw));
      expect(message).to.include(`  - jobs.${firstJob}.inputs.${at}.job: a job cannot read its own output (got "${firstJob}")`);
      expect(message).to.include(`  - jobs.${firstJob}.inputs.${at + 1}: set exactly one of 'dataset' or 'job'`);
      expect(message).to.include(`  - jobs.${firstJob}.inputs.${at + 2}: set exactly one of 'dataset' or 'job'`);
    });

    it("rejects a dataset outside the raw prefix and overlapping dataset prefixes", () => {
      const raw = active();
      const { prefix, schema } = raw.datasets[firstDataset];
      // A dataset added after the first, under its prefix; another outside the raw prefix.
      raw.datasets.nested_dataset = { prefix: `${prefix}nested/`, schema };
      raw.datasets.outside_dataset = { prefix: "outside-the-raw-prefix/x/", schema };
      const message = errorOf(() => parse(raw));
      expect(message).to.include(`  - datasets.outside_dataset.prefix: must lie under dataLake.rawPrefix '${raw.dataLake.rawPrefix}' (got "outside-the-raw-prefix/x/")`);
      expect(message).to.include(`  - datasets.${firstDataset}.prefix: overlaps the prefix of dataset 'nested_dataset' ('${prefix}nested/'): an upload must map to one dataset (got "${prefix}")`);
    });
  });

  describe("files", () => {
    let tmp: string;
    beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "config-test-"))));
    afterEach(() => rmSync(tmp, { recursive: true, force: true }));

    it("resolves files against the configuration's folder and lists every missing one", () => {
      const file = join(tmp, "etl.config.json");
      const raw = active();
      raw.scriptsDir = "glue-scripts";
      writeFileSync(file, JSON.stringify(raw));
      const message = errorOf(() => loadConfig(file));
      expect(message).to.match(new RegExp(`^${file}: invalid configuration\\n`));
      // Where each file would be, beside the copy (the configuration's paths resolved against its folder).
      const beside = { ...parse(active()), rootDir: tmp, scriptsDir: "glue-scripts" };
      const missing = [`  - stateMachine.definition: file not found: ${definitionPath(beside)}`];
      for (const [id, d] of Object.entries(beside.datasets)) missing.push(`  - datasets.${id}.schema: file not found: ${schemaPath(beside, d.schema)}`);
      for (const [id, j] of Object.entries(beside.jobs)) {
        missing.push(`  - jobs.${id}.script: file not found: ${scriptPath(beside, j)}`, `  - jobs.${id}.script (its SQL): file not found: ${sqlPath(beside, j)}`);
        if (j.catalogSchema) missing.push(`  - jobs.${id}.catalogSchema: file not found: ${schemaPath(beside, j.catalogSchema)}`);
      }
      expect(missing.some((m) => m.includes(".catalogSchema"))).to.equal(true);
      for (const line of missing) expect(message).to.include(line);
      expect(definitionPath(beside).startsWith(join(tmp, "asl"))).to.equal(true);
      for (const line of missing.slice(1)) expect(line.split("file not found: ")[1].startsWith(join(tmp, "glue-scripts"))).to.equal(true);
    });

    it("names a file it cannot read or parse", () => {
      expect(errorOf(() => loadConfig(join(tmp, "nope.json")))).to.match(new RegExp(`^${join(tmp, "nope.json")}: cannot read the configuration \\(ENOENT`));
      writeFileSync(join(tmp, "bad.json"), '{ "project": ');
      expect(errorOf(() => loadConfig(join(tmp, "bad.json")))).to.match(new RegExp(`^${join(tmp, "bad.json")}: invalid JSON: `));
    });

    it("reads ETL_CONFIG when no file is given", () => {
      const saved = process.env.ETL_CONFIG;
      process.env.ETL_CONFIG = join(tmp, "missing.json");
      try {
        expect(errorOf(() => loadConfig())).to.include(join(tmp, "missing.json"));
      } finally {
        if (saved === undefined) delete process.env.ETL_CONFIG;
        else process.env.ETL_CONFIG = saved;
      }
    });
  });
});
