// The runner's environment (docs/architecture.md, "Function environment").
import { ACTIVITY_ARN_PATTERN, parseEnv, positiveIntVar, stringVar } from "../shared/env";
import * as z from "../shared/zod";
import type { RunnerConfig } from "../../core/runner-environment";

export type { RunnerConfig };

const runnerEnv = z.object({
  ACTIVITY_ARN: stringVar.check(z.regex(ACTIVITY_ARN_PATTERN, "an activity ARN")),
  TABLE_NAME: stringVar,
  RUN_TTL_DAYS: positiveIntVar,
  MAX_TASKS_PER_INVOCATION: positiveIntVar,
  GLUE_CONCURRENCY: positiveIntVar,
});

export function runnerConfigFromEnv(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const vars = parseEnv(runnerEnv, env);
  return {
    activityArn: vars.ACTIVITY_ARN,
    tableName: vars.TABLE_NAME,
    runTtlDays: vars.RUN_TTL_DAYS,
    maxTasksPerInvocation: vars.MAX_TASKS_PER_INVOCATION,
    glueConcurrency: vars.GLUE_CONCURRENCY,
  };
}
