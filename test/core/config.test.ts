import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ConfigError, DEFAULT_CONFIG_FILE, PROJECT_ROOT, loadConfig, parseConfig, resourceNames } from "../../core/config";

/** The shipped configuration as raw JSON, to change one field per test. */
const shipped = () => JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
const parse = (raw: unknown, environment?: string) => parseConfig(raw, { source: "test.json", environment, rootDir: PROJECT_ROOT });
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
    it("loads etl.config.json as the base environment with a local backend", () => {
      const config = loadConfig();
      expect(config.environment).to.equal("dev");
      expect(config.backend).to.deep.equal({ type: "local" });
      expect(config.rootDir).to.equal(PROJECT_ROOT);
      expect(config.scriptsDir).to.equal("glue-scripts");
      expect(config.glue.numberOfWorkers).to.equal(2);
      expect(config).to.not.have.property("environments");
    });

    it("fills defaults for optional fields", () => {
      const raw = shipped();
      delete raw.tags;
      delete raw.backend;
      delete raw.scriptsDir;
      raw.jobs.PSD.description = undefined;
      const config = parse(raw);
      expect(config.tags).to.deep.equal({});
      expect(config.backend).to.deep.equal({ type: "local" });
      expect(config.jobs.PSD.description).to.equal("");
    });

    it("names every resource after project and environment", () => {
      const names = resourceNames(loadConfig());
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
      expect(names.waitActivity("sales")).to.equal("etl-dev-wait-for-sales");
      expect(names.glueJob("PSD")).to.equal("etl-dev-PSD");
    });
  });

  describe("engines' sections", () => {
    it("defaults athena, emrServerless and dataLake.stagingPrefix when absent", () => {
      const raw = shipped();
      delete raw.athena;
      delete raw.emrServerless;
      delete raw.dataLake.stagingPrefix;
      const config = parse(raw);
      expect(config.athena).to.deep.equal({ bytesScannedCutoffPerQuery: 10 * 1024 ** 3 });
      expect(config.emrServerless).to.deep.equal({ releaseLabel: "emr-7.9.0", idleTimeoutMinutes: 15, maximumCapacity: { cpu: "8 vCPU", memory: "32 GB" } });
      expect(config.dataLake.stagingPrefix).to.equal("staging/");
    });

    it("fills a partial emrServerless section field by field", () => {
      const raw = shipped();
      raw.emrServerless = { maximumCapacity: { cpu: "4 vCPU" } };
      expect(parse(raw).emrServerless).to.deep.equal({ releaseLabel: "emr-7.9.0", idleTimeoutMinutes: 15, maximumCapacity: { cpu: "4 vCPU", memory: "32 GB" } });
    });

    it("rejects a bytes-scanned limit under Athena's 10 MB, a bad release label, a bad capacity and a bad staging prefix, naming each", () => {
      const raw = shipped();
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
    it("merges an environment's overrides over the base, field by field", () => {
      const { glue, schedules, logRetentionDays } = shipped().environments.prod;
      const prod = loadConfig(DEFAULT_CONFIG_FILE, "prod");
      const dev = loadConfig();
      expect(prod.environment).to.equal("prod");
      expect(prod.glue).to.deep.equal({ ...dev.glue, numberOfWorkers: glue.numberOfWorkers });
      expect(prod.glue.numberOfWorkers).to.not.equal(dev.glue.numberOfWorkers);
      expect(prod.schedules).to.deep.equal({ ...dev.schedules, fallback: schedules.fallback });
      expect(prod.logRetentionDays).to.equal(logRetentionDays);
      expect(prod.jobs).to.deep.equal(dev.jobs);
    });

    it("puts the environment in every resource name", () => {
      const names = resourceNames(loadConfig(DEFAULT_CONFIG_FILE, "prod"));
      expect(names.prefix).to.equal("etl-prod");
      expect(names.runnerActivity).to.equal("etl-prod-etl-runner");
      expect(names.glueJob("JMSD")).to.equal("etl-prod-JMSD");
      expect(names.waitActivity("marketing")).to.equal("etl-prod-wait-for-marketing");
      expect(names.eventSource).to.equal("etl.prod.workflow");
    });

    it("is selected by ETL_ENV, and the base environment's name selects the base", () => {
      process.env.ETL_ENV = "prod";
      expect(loadConfig().environment).to.equal("prod");
      expect(loadConfig(DEFAULT_CONFIG_FILE, "dev")).to.deep.equal((delete process.env.ETL_ENV, loadConfig()));
    });

    it("gives an environment its own names, prefixes and schedules", () => {
      const raw = shipped();
      raw.environments.staging = { project: "etl2", dataLake: { bucketPrefix: "stg-lake-" }, schedules: { workflowEnabled: false } };
      const staging = parse(raw, "staging");
      expect(resourceNames(staging).prefix).to.equal("etl2-staging");
      expect(staging.dataLake).to.deep.equal({ ...shipped().dataLake, bucketPrefix: "stg-lake-" });
      expect(staging.schedules.workflowEnabled).to.equal(false);
    });

    it("rejects an unknown environment, naming the file and the known ones", () => {
      expect(errorOf(() => loadConfig(DEFAULT_CONFIG_FILE, "staging"))).to.equal(`${DEFAULT_CONFIG_FILE}: unknown environment 'staging'; known: dev, prod`);
      process.env.ETL_ENV = "qa";
      expect(errorOf(() => loadConfig())).to.include("unknown environment 'qa'");
    });

    it("validates the merged result and names the environment, field and value", () => {
      const raw = shipped();
      raw.environments.prod.runner = { timeoutSeconds: 60 };
      expect(errorOf(() => parse(raw, "prod"))).to.equal(
        "test.json [environment prod]: invalid configuration\n  - runner.timeoutSeconds: at least 90 s, to outlive the 60 s activity long-poll (got 60)",
      );
      // The base alone is still valid: only the environment is wrong.
      expect(parse(raw).runner.timeoutSeconds).to.equal(300);
    });
  });

  describe("backend", () => {
    it("configures S3 with native lock files by default", () => {
      const raw = shipped();
      raw.backend = { type: "s3", bucket: "my-tf-state", region: "eu-west-1" };
      expect(parse(raw).backend).to.deep.equal({ type: "s3", bucket: "my-tf-state", keyPrefix: "etl-orchestrator/", region: "eu-west-1", useLockfile: true });
    });

    it("lets an environment switch from the local to the S3 backend without inheriting local fields", () => {
      const raw = shipped();
      raw.backend = { type: "local", path: "state/dev.tfstate" };
      raw.environments.prod.backend = { type: "s3", bucket: "prod-tf-state" };
      expect(parse(raw, "prod").backend).to.deep.equal({ type: "s3", bucket: "prod-tf-state", keyPrefix: "etl-orchestrator/", useLockfile: true });
      expect(parse(raw).backend).to.deep.equal({ type: "local", path: "state/dev.tfstate" });
    });

    it("rejects DynamoDB locking, a bad bucket and an unknown type, naming field and value", () => {
      const raw = shipped();
      raw.backend = { type: "s3", bucket: "Bad_Bucket", dynamodbTable: "locks" };
      const message = errorOf(() => parse(raw));
      expect(message).to.include("backend.bucket: an S3 bucket name (got \"Bad_Bucket\")");
      expect(message).to.match(/backend: Unrecognized key: "dynamodbTable"/);
      raw.backend = { type: "consul" };
      expect(errorOf(() => parse(raw))).to.match(/  - backend\.type: .* \(got "consul"\)/);
    });
  });

  it("runs a job on Glue unless its engine says otherwise", () => {
    const raw = shipped();
    raw.jobs.JMSD.engine = "emr-serverless";
    const config = parse(raw);
    for (const id of Object.keys(config.jobs)) expect(config.jobs[id].engine, id).to.equal(id === "JMSD" ? "emr-serverless" : (shipped().jobs[id].engine ?? "glue"));
  });

  describe("bad values", () => {
    const cases: Array<[string, (raw: any) => void, string]> = [
      ["project", (r) => (r.project = "ETL"), '  - project: lower-case letters, digits and \'-\', starting with a letter, at most 20 characters (got "ETL")'],
      ["region", (r) => (r.region = "moon-1"), '  - region: an AWS region such as \'us-east-1\' (got "moon-1")'],
      ["schedule", (r) => (r.schedules.fallback = "every 5 minutes"), "  - schedules.fallback: an EventBridge expression such as 'cron(0 3 ? * MON *)' or 'rate(5 minutes)' (got \"every 5 minutes\")"],
      ["prefix", (r) => (r.datasets.sales.prefix = "/raw/sales"), "  - datasets.sales.prefix: an S3 key prefix such as 'raw/sales/' (no leading '/', ends with '/') (got \"/raw/sales\")"],
      ["retention", (r) => (r.logRetentionDays = 31), "  - logRetentionDays: a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30"],
      ["missing field", (r) => delete r.glue.version, "  - glue.version: "],
      ["unknown field", (r) => (r.glue.workers = 3), '  - glue: Unrecognized key: "workers"'],
      ["worker type", (r) => (r.jobs.PSD.workerType = "G.16X"), '  - jobs.PSD.workerType: '],
      ["streaming-only worker type", (r) => (r.glue.workerType = "G.025X"), '  - glue.workerType: a worker type of Glue Spark (glueetl) jobs: G.1X, G.2X, G.4X or G.8X (G.025X is for streaming jobs, Z.2X for Ray jobs) (got "G.025X")'],
      ["engine", (r) => (r.jobs.PMD.engine = "spark"), '  - jobs.PMD.engine: an engine: glue, athena, emr-serverless (got "spark")'],
      ["Glue worker settings on another engine", (r) => Object.assign(r.jobs.PMD, { engine: "athena", numberOfWorkers: 4 }), '  - jobs.PMD.numberOfWorkers: applies to engine "glue" only (this job runs on athena) (got 4)'],
      ["Ray-only worker type", (r) => (r.jobs.PSD.workerType = "Z.2X"), '  - jobs.PSD.workerType: a worker type of Glue Spark (glueetl) jobs: G.1X, G.2X, G.4X or G.8X (G.025X is for streaming jobs, Z.2X for Ray jobs) (got "Z.2X")'],
    ];
    for (const [what, change, expected] of cases)
      it(`names the field and the value: ${what}`, () => {
        const raw = shipped();
        change(raw);
        const message = errorOf(() => parse(raw));
        expect(message).to.match(/^test\.json: invalid configuration\n/);
        expect(message).to.include(expected);
      });

    it("rejects derived names over AWS's limits, naming the fields and the resulting name", () => {
      const raw = shipped();
      raw.project = "p".repeat(20);
      raw.environment = "e".repeat(20);
      raw.stateMachine.name = "s".repeat(20);
      raw.activities.waitPrefix = "w".repeat(20);
      raw.datasets["d".repeat(40)] = { prefix: "raw/long/", schema: "sales.json" };
      const message = errorOf(() => parse(raw));
      const sm = `${"p".repeat(20)}-${"e".repeat(20)}-${"s".repeat(20)}`;
      expect(message).to.include(
        `  - stateMachine.name: the IAM role name '${sm}-schedule' (from project, environment, stateMachine.name) is 71 characters; AWS allows at most 64: shorten project or environment or stateMachine.name by 7 (got "${"s".repeat(20)}")`,
      );
      expect(message).to.include(
        `  - datasets.${"d".repeat(40)}: the Step Functions activity name '${"p".repeat(20)}-${"e".repeat(20)}-${"w".repeat(20)}${"d".repeat(40)}' (from project, environment, activities.waitPrefix, datasets.${"d".repeat(40)}) is 102 characters; AWS allows at most 80`,
      );
      expect(message).to.not.include("datasets.sales:").and.not.include("datasets.marketing:");
      expect(message).to.not.include("  - environment:");
    });

    it("accepts the longest names that fit", () => {
      const raw = shipped();
      raw.project = "p".repeat(20);
      raw.environment = "e".repeat(20);
      raw.stateMachine.name = "s".repeat(13);
      expect(resourceNames(parse(raw)).stateMachine.length + "-schedule".length).to.equal(64);
    });

    it("lists every bad field at once", () => {
      const raw = shipped();
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
      const raw = shipped();
      raw.jobs.PSD.inputs[0].dataset = "orders";
      raw.jobs.JMSD.inputs[1].job = "PXD";
      const message = errorOf(() => parse(raw));
      expect(message).to.include("  - jobs.PSD.inputs.0.dataset: unknown dataset; known: sales, marketing (got \"orders\")");
      expect(message).to.include("  - jobs.JMSD.inputs.1.job: unknown job; known: PSD, PMD, JMSD (got \"PXD\")");
    });

    it("rejects a job reading its own output, and an input with both or neither source", () => {
      const raw = shipped();
      raw.jobs.JMSD.inputs[0] = { name: "sales", job: "JMSD" };
      raw.jobs.PSD.inputs[0] = { name: "sales", dataset: "sales", job: "PMD" };
      raw.jobs.PMD.inputs[0] = { name: "marketing" };
      const message = errorOf(() => parse(raw));
      expect(message).to.include("  - jobs.JMSD.inputs.0.job: a job cannot read its own output (got \"JMSD\")");
      expect(message).to.include("  - jobs.PSD.inputs.0: set exactly one of 'dataset' or 'job'");
      expect(message).to.include("  - jobs.PMD.inputs.0: set exactly one of 'dataset' or 'job'");
    });

    it("rejects a dataset outside the raw prefix and overlapping dataset prefixes", () => {
      const raw = shipped();
      raw.datasets.marketing.prefix = "raw/sales/marketing/";
      raw.datasets.sales.schema = "sales.json";
      raw.datasets.orders = { prefix: "processed/orders/", schema: "sales.json" };
      const message = errorOf(() => parse(raw));
      expect(message).to.include("  - datasets.orders.prefix: must lie under dataLake.rawPrefix 'raw/' (got \"processed/orders/\")");
      expect(message).to.include("  - datasets.sales.prefix: overlaps the prefix of dataset 'marketing' ('raw/sales/marketing/'): an upload must map to one dataset (got \"raw/sales/\")");
    });
  });

  describe("files", () => {
    let tmp: string;
    beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "config-test-"))));
    afterEach(() => rmSync(tmp, { recursive: true, force: true }));

    it("resolves files against the configuration's folder and lists every missing one", () => {
      const file = join(tmp, "etl.config.json");
      writeFileSync(file, JSON.stringify(shipped()));
      const message = errorOf(() => loadConfig(file));
      expect(message).to.match(new RegExp(`^${file}: invalid configuration\\n`));
      for (const missing of [
        `  - stateMachine.definition: file not found: ${join(tmp, "asl", "etl-workflow.asl.json")}`,
        `  - datasets.sales.schema: file not found: ${join(tmp, "glue-scripts", "schemas", "sales.json")}`,
        `  - jobs.PSD.script: file not found: ${join(tmp, "glue-scripts", "process_sales_data.py")}`,
        `  - jobs.PSD.script (its SQL): file not found: ${join(tmp, "glue-scripts", "process_sales_data.sql")}`,
        `  - jobs.JMSD.catalogSchema: file not found: ${join(tmp, "glue-scripts", "schemas", "marketing_and_sales.json")}`,
      ])
        expect(message).to.include(missing);
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
