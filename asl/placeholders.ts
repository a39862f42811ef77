// The ${Placeholder} values the workflow's ASL may use, derived from the configuration.
// The stacks pass Terraform references as ARNs; the local runtime passes its local ARNs.
import type { EtlConfig } from "../core/config";
import { resourceNames } from "../core/config";
import { FUNCTIONS } from "../core/topology";

export interface WorkflowArns {
  runnerActivityArn: string;
  waitActivityArn: (dataset: string) => string;
  failureTopicArn: string;
  /** The EMR Serverless application's id, where the deployment has one. */
  emrApplicationId?: string;
  /** The EMR Serverless job runs' execution role. */
  emrJobRoleArn?: string;
}

/**
 * Placeholders:
 * - `${RunnerActivityArn}`: the ETL runner's activity;
 * - `${WaitActivityArn.<dataset>}`: the "wait for data" activity of each dataset;
 * - `${JobName.<job>}`: the name of each job, whatever its engine (the Glue job's name for glue:startJobRun);
 * - `${FailureTopicArn}`: the SNS topic for failure notifications;
 * - `${EventSource}`: the EventBridge source of the workflow's own events;
 * - `${FunctionName.<id>}`: a Lambda function for lambda:invoke: the project's (`runner`, `dataArrival`) or one of
 *   the configuration's `lambdaFunctions`;
 * - `${AthenaWorkGroup}`: the project's Athena workgroup, for athena:startQueryExecution;
 * - `${EmrApplicationId}`, `${EmrJobRoleArn}`: the EMR Serverless application and job role, for
 *   emr-serverless:startJobRun (where the deployment has them).
 */
export function workflowPlaceholders(config: EtlConfig, arns: WorkflowArns): Record<string, string> {
  const names = resourceNames(config);
  const values: Record<string, string> = {
    RunnerActivityArn: arns.runnerActivityArn,
    FailureTopicArn: arns.failureTopicArn,
    EventSource: names.eventSource,
    AthenaWorkGroup: names.athenaWorkGroup,
    ...(arns.emrApplicationId !== undefined && { EmrApplicationId: arns.emrApplicationId }),
    ...(arns.emrJobRoleArn !== undefined && { EmrJobRoleArn: arns.emrJobRoleArn }),
  };
  for (const dataset of Object.keys(config.datasets)) values[`WaitActivityArn.${dataset}`] = arns.waitActivityArn(dataset);
  for (const job of Object.keys(config.jobs)) values[`JobName.${job}`] = names.glueJob(job);
  for (const [id, fn] of Object.entries(FUNCTIONS)) values[`FunctionName.${id}`] = fn.functionName(names);
  for (const [id, fn] of Object.entries(config.lambdaFunctions)) {
    if (Object.hasOwn(FUNCTIONS, id)) throw new Error(`lambdaFunctions.${id}: '${id}' is one of the project's functions (${Object.keys(FUNCTIONS).join(", ")}); choose another id`);
    values[`FunctionName.${id}`] = fn.functionName;
  }
  return values;
}

