// The runner's environment as the stacks and the local runtime set it: the inverse of runnerConfigFromEnv
// (functions/glue-runner/config.ts). Plain code, so importing it pulls no zod into the stacks.

export interface RunnerConfig {
  activityArn: string;
  tableName: string;
  runTtlDays: number;
  maxTasksPerInvocation: number;
  glueConcurrency: number;
}

/** The runner's POWERTOOLS_SERVICE_NAME, on AWS and locally. */
export const RUNNER_SERVICE_NAME = "glue-runner";

/** Values may be Terraform tokens (strings). */
export function runnerEnvironment(config: RunnerConfig & { logLevel: string }): Record<string, string> {
  return {
    ACTIVITY_ARN: config.activityArn,
    TABLE_NAME: config.tableName,
    RUN_TTL_DAYS: String(config.runTtlDays),
    MAX_TASKS_PER_INVOCATION: String(config.maxTasksPerInvocation),
    GLUE_CONCURRENCY: String(config.glueConcurrency),
    POWERTOOLS_SERVICE_NAME: RUNNER_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
  };
}
