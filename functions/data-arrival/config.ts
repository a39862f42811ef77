// The data-arrival function's environment (docs/architecture.md, "Function environment").
import { ACTIVITY_ARN_PATTERN, jsonVar, parseEnv, positiveIntVar, stringVar } from "../shared/env";
import * as z from "../shared/zod";
import type { ArrivalConfig, DatasetConfig } from "../../core/arrival-environment";

export type { ArrivalConfig, DatasetConfig };

const datasets = z.record(
  z.string().check(z.regex(/^[a-z][a-z0-9_]*$/, "a dataset id")),
  z.object({
    prefix: z.string().check(z.regex(/^([^/]+\/)+$/, "an S3 key prefix ending with '/'")),
    activityArn: z.string().check(z.regex(ACTIVITY_ARN_PATTERN, "an activity ARN")),
  }),
);

const arrivalEnv = z.object({
  TABLE_NAME: stringVar,
  DATASETS: jsonVar(datasets),
  DATA_BUCKET: stringVar,
  ARRIVAL_TTL_DAYS: positiveIntVar,
  EVENT_SOURCE: stringVar,
});

export function arrivalConfigFromEnv(env: Record<string, string | undefined> = process.env): ArrivalConfig {
  const vars = parseEnv(arrivalEnv, env);
  if (Object.keys(vars.DATASETS).length === 0) throw new Error("invalid environment: DATASETS: at least one dataset");
  return { tableName: vars.TABLE_NAME, datasets: vars.DATASETS, dataBucket: vars.DATA_BUCKET, arrivalTtlDays: vars.ARRIVAL_TTL_DAYS, eventSource: vars.EVENT_SOURCE };
}

/** The dataset whose prefix holds `key` (the longest prefix wins), or undefined. */
export function datasetOfKey(datasets: Record<string, DatasetConfig>, key: string): string | undefined {
  let best: string | undefined;
  for (const [id, { prefix }] of Object.entries(datasets))
    if (key.startsWith(prefix) && (best === undefined || prefix.length > datasets[best].prefix.length)) best = id;
  return best;
}
