import { expect } from "chai";
import { runnerConfigFromEnv } from "../../../functions/glue-runner/config";
import { runnerEnvironment } from "../../../core/runner-environment";
import { RUNNER_ENV } from "./harness";

describe("glue-runner config", () => {
  it("reads every variable", () => {
    expect(runnerConfigFromEnv(RUNNER_ENV)).to.deep.equal({
      activityArn: RUNNER_ENV.ACTIVITY_ARN,
      tableName: "etl-dev-active-job-runs",
      runTtlDays: 14,
      maxTasksPerInvocation: 10,
      glueConcurrency: 8,
    });
  });

  it("reads back what runnerEnvironment writes (the environment the stacks and the local runtime set)", () => {
    const config = runnerConfigFromEnv(RUNNER_ENV);
    const env = runnerEnvironment({ ...config, logLevel: "INFO" });
    expect(runnerConfigFromEnv(env)).to.deep.equal(config);
    expect(env).to.include({ POWERTOOLS_SERVICE_NAME: "glue-runner", POWERTOOLS_LOG_LEVEL: "INFO" });
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
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, GLUE_CONCURRENCY: "0" })).to.throw(/GLUE_CONCURRENCY/);
    expect(() => runnerConfigFromEnv({ ...RUNNER_ENV, ACTIVITY_ARN: "etl-dev-glue-runner" })).to.throw(/ACTIVITY_ARN: an activity ARN/);
  });
});
