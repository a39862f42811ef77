// The data-arrival function's environment as the stacks and the local runtime set it: the inverse of
// arrivalConfigFromEnv (functions/data-arrival/config.ts). Plain code, so importing it pulls no zod into the stacks.

export interface DatasetConfig {
  prefix: string;
  activityArn: string;
}

export interface ArrivalConfig {
  tableName: string;
  datasets: Record<string, DatasetConfig>;
  dataBucket: string;
  arrivalTtlDays: number;
  /** The source of the RunnerTaskScheduled events it puts after closing a task with success (resourceNames().eventSource). */
  eventSource: string;
}

/** The data-arrival function's POWERTOOLS_SERVICE_NAME, on AWS and locally. */
export const ARRIVAL_SERVICE_NAME = "data-arrival";

/** Values may be Terraform tokens (strings). */
export function arrivalEnvironment(config: ArrivalConfig & { logLevel: string }): Record<string, string> {
  return {
    TABLE_NAME: config.tableName,
    DATASETS: JSON.stringify(config.datasets),
    DATA_BUCKET: config.dataBucket,
    ARRIVAL_TTL_DAYS: String(config.arrivalTtlDays),
    EVENT_SOURCE: config.eventSource,
    POWERTOOLS_SERVICE_NAME: ARRIVAL_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
  };
}
