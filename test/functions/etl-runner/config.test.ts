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
    });
  });

  it("reads back what runnerEnvironment writes (the environment the stacks and the local runtime set)", () => {
    const config = runnerConfigFromEnv(RUNNER_ENV);
    const env = runnerEnvironment({ ...config, logLevel: "INFO" });
    expect(runnerConfigFromEnv(env)).to.deep.equal(config);
    expect(env).to.include({ POWERTOOLS_SERVICE_NAME: "etl-runner", POWERTOOLS_LOG_LEVEL: "INFO" });
  });

  for (const name of Object.keys(RUNNER_ENV)) {
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
