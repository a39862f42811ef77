// The runner's environment (docs/architecture.md, "Function environment").
import { ACTIVITY_ARN_PATTERN, jsonVar, parseEnv, positiveIntVar, stringVar } from "../shared/env";
import * as z from "../shared/zod";
import type { RunnerConfig } from "../../core/runner-environment";

export type { RunnerConfig };

const engineName = z.enum(["glue", "athena", "emr-serverless"], { error: "an engine: glue, athena or emr-serverless" });

const runnerEnv = z
  .object({
    ACTIVITY_ARN: stringVar.check(z.regex(ACTIVITY_ARN_PATTERN, "an activity ARN")),
    TABLE_NAME: stringVar,
    RUN_TTL_DAYS: positiveIntVar,
    MAX_TASKS_PER_INVOCATION: positiveIntVar,
    ENGINE_CONCURRENCY: positiveIntVar,
    JOB_ENGINES: jsonVar(z.record(z.string().check(z.minLength(1)), engineName)),
    EVENT_SOURCE: stringVar,
    JOB_SPECS_URI: z.optional(z.string().check(z.regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+\/)?$/, "an S3 URI of a folder, s3://bucket/prefix/"))),
    GLUE_COUNTS_URIS: z.optional(jsonVar(z.record(z.string().check(z.minLength(1)), z.string().check(z.regex(/^s3:\/\/[^/]+\/.+$/, "an S3 URI"))))),
  })
  .check(
    z.refine((vars) => vars.JOB_SPECS_URI !== undefined || Object.values(vars.JOB_ENGINES).every((engine) => engine === "glue"), {
      message: "required when a job runs on athena or emr-serverless",
      path: ["JOB_SPECS_URI"],
    }),
  );

export function runnerConfigFromEnv(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const vars = parseEnv(runnerEnv, env);
  return {
    activityArn: vars.ACTIVITY_ARN,
    tableName: vars.TABLE_NAME,
    runTtlDays: vars.RUN_TTL_DAYS,
    maxTasksPerInvocation: vars.MAX_TASKS_PER_INVOCATION,
    engineConcurrency: vars.ENGINE_CONCURRENCY,
    jobEngines: vars.JOB_ENGINES,
    eventSource: vars.EVENT_SOURCE,
    ...(vars.JOB_SPECS_URI !== undefined ? { jobSpecsUri: vars.JOB_SPECS_URI } : {}),
    ...(vars.GLUE_COUNTS_URIS !== undefined ? { glueCountsUris: vars.GLUE_COUNTS_URIS } : {}),
  };
}
