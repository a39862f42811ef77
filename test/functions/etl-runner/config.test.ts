import { expect } from "chai";
import { runnerConfigFromEnv } from "../../../functions/etl-runner/config";
import { runnerEnvironment } from "../../../core/runner-environment";
import { RUNNER_ENV } from "./harness";

describe("etl-runner config", () => {
  it("reads every variable", () => {
    expect(runnerConfigFromEnv(RUNNER_ENV)).to.deep.equal({
      activityArn: RUNNER_ENV.ACTIVITY_ARN,
      tableName: "etl-dev-active-job-runs",
      runTtlDays: 14,
      maxTasksPerInvocation: 10,
      engineConcurrency: 8,
      jobEngines: { "etl-dev-LoadOrders": "glue", "etl-dev-CleanClicks": "athena", "etl-dev-JoinAll": "emr-serverless" },
      jobSpecsUri: "s3://artifacts-etl-dev-1/glue-scripts/jobs/",
      eventSource: "etl.dev.workflow",
    });
  });

  it("needs no JOB_SPECS_URI when every job runs on Glue", () => {
    const env: Record<string, string> = { ...RUNNER_ENV, JOB_ENGINES: JSON.stringify({ "etl-dev-LoadOrders": "glue" }) };
    delete env.JOB_SPECS_URI;
    expect(runnerConfigFromEnv(env).jobSpecsUri).to.equal(undefined);
    expect(runnerEnvironment({ ...runnerConfigFromEnv(env), logLevel: "INFO" })).to.not.have.property("JOB_SPECS_URI");
  });

  it("names JOB_SPECS_URI when a job runs elsewhere and it is missing or not a folder URI", () => {
    const env: Record<string, string> = { ...RUNNER_ENV };
    delete env.JOB_SPECS_URI;
    expect(() => runnerConfigFromEnv(env)).to.throw(/JOB_SPECS_URI: required when a job runs on athena or emr-serverless/);
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, JOB_SPECS_URI: "s3://bucket/jobs" })).to.throw(/JOB_SPECS_URI: an S3 URI of a folder/);
  });

  it("names JOB_ENGINES when it is not JSON or names an unknown engine", () => {
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, JOB_ENGINES: "{" })).to.throw(/JOB_ENGINES: not JSON/);
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, JOB_ENGINES: JSON.stringify({ j: "spark" }) })).to.throw(/JOB_ENGINES\.j: an engine: glue, athena or emr-serverless/);
  });

  it("reads back what runnerEnvironment writes (the environment the stacks and the local runtime set)", () => {
    const config = runnerConfigFromEnv(RUNNER_ENV);
    const env = runnerEnvironment({ ...config, logLevel: "INFO" });
    expect(runnerConfigFromEnv(env)).to.deep.equal(config);
    expect(env).to.include({ POWERTOOLS_SERVICE_NAME: "etl-runner", POWERTOOLS_LOG_LEVEL: "INFO" });
  });

  for (const name of Object.keys(RUNNER_ENV).filter((n) => n !== "JOB_SPECS_URI")) {
    it(`names ${name} when it is missing`, () => {
      const env: Record<string, string> = { ...RUNNER_ENV };
      delete env[name];
      expect(() => runnerConfigFromEnv(env)).to.throw(new RegExp(`${name}: required`));
    });
  }

  it("names a variable with a bad value", () => {
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, RUN_TTL_DAYS: "two" })).to.throw(/RUN_TTL_DAYS: a positive integer/);
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, ENGINE_CONCURRENCY: "0" })).to.throw(/ENGINE_CONCURRENCY/);
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, ACTIVITY_ARN: "etl-dev-etl-runner" })).to.throw(/ACTIVITY_ARN: an activity ARN/);
  });
});
