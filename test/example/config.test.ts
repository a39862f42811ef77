// The shipped etl.config.json's own values (whatever ETL_CONFIG says). The loader's and the validation's mechanisms,
// on variants of the active configuration, are tested in test/core/config.test.ts.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, PROJECT_ROOT, resourceNames } from "../../core/config";

const shipped = () => JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("example: the shipped etl.config.json", () => {
  it("loads as the base environment dev with a local backend, its files under the project", () => {
    const config = loadConfig(DEFAULT_CONFIG_FILE, undefined);
    expect(config.environment).to.equal("dev");
    expect(config.backend).to.deep.equal({ type: "local" });
    expect(config.rootDir).to.equal(PROJECT_ROOT);
    expect(config.scriptsDir).to.equal("glue-scripts");
    expect(config.glue.numberOfWorkers).to.equal(2);
    expect(config).to.not.have.property("environments");
  });

  it("names every resource etl-dev-…", () => {
    const names = resourceNames(loadConfig(DEFAULT_CONFIG_FILE, undefined));
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

  it("has a prod environment: more Glue workers, a slower fallback, a year of logs, the same jobs", () => {
    const { glue, schedules, logRetentionDays } = shipped().environments.prod;
    const prod = loadConfig(DEFAULT_CONFIG_FILE, "prod");
    const dev = loadConfig(DEFAULT_CONFIG_FILE, undefined);
    expect(prod.environment).to.equal("prod");
    expect(prod.glue).to.deep.equal({ ...dev.glue, numberOfWorkers: glue.numberOfWorkers });
    expect(prod.glue.numberOfWorkers).to.not.equal(dev.glue.numberOfWorkers);
    expect(prod.schedules).to.deep.equal({ ...dev.schedules, fallback: schedules.fallback });
    expect(prod.logRetentionDays).to.equal(logRetentionDays);
    expect(prod.jobs).to.deep.equal(dev.jobs);
    const names = resourceNames(prod);
    expect(names.prefix).to.equal("etl-prod");
    expect(names.runnerActivity).to.equal("etl-prod-etl-runner");
    expect(names.glueJob("JMSD")).to.equal("etl-prod-JMSD");
    expect(names.waitActivity("marketing")).to.equal("etl-prod-wait-for-marketing");
    expect(names.eventSource).to.equal("etl.prod.workflow");
    expect(loadConfig(DEFAULT_CONFIG_FILE, "dev")).to.deep.equal(dev);
    expect(errorOf(() => loadConfig(DEFAULT_CONFIG_FILE, "staging"))).to.equal(`${DEFAULT_CONFIG_FILE}: unknown environment 'staging'; known: dev, prod`);
  });

  it("names its files: the workflow, the schemas, each job's script, SQL and catalog schema", () => {
    const config = loadConfig(DEFAULT_CONFIG_FILE, undefined);
    expect(config.stateMachine.definition).to.equal("asl/etl-workflow.asl.json");
    expect(config.datasets.sales.schema).to.equal("sales.json");
    expect(config.jobs.PSD.script).to.equal("process_sales_data.py");
    expect(config.jobs.JMSD.catalogSchema).to.equal("marketing_and_sales.json");
    expect(config.jobs.PMD.engine).to.equal("athena");
    expect(config.jobs.JMSD.inputs.map((i) => i.job)).to.deep.equal(["PSD", "PMD"]);
  });
});
