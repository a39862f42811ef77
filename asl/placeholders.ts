// The ${Placeholder} values the workflow's ASL may use, derived from the configuration.
// The stacks pass Terraform references as ARNs; the local runtime passes its local ARNs.
import type { EtlConfig } from "../core/config";
import { resourceNames } from "../core/config";

export interface WorkflowArns {
  runnerActivityArn: string;
  waitActivityArn: (dataset: string) => string;
  failureTopicArn: string;
}

/**
 * Placeholders:
 * - `${RunnerActivityArn}`: the ETL runner's activity;
 * - `${WaitActivityArn.<dataset>}`: the "wait for data" activity of each dataset;
 * - `${JobName.<job>}`: the name of each job, whatever its engine;
 * - `${FailureTopicArn}`: the SNS topic for failure notifications;
 * - `${EventSource}`: the EventBridge source of the workflow's wake-up events.
 */
export function workflowPlaceholders(config: EtlConfig, arns: WorkflowArns): Record<string, string> {
  const names = resourceNames(config);
  const values: Record<string, string> = {
    RunnerActivityArn: arns.runnerActivityArn,
    FailureTopicArn: arns.failureTopicArn,
    EventSource: names.eventSource,
  };
  for (const dataset of Object.keys(config.datasets)) values[`WaitActivityArn.${dataset}`] = arns.waitActivityArn(dataset);
  for (const job of Object.keys(config.jobs)) values[`JobName.${job}`] = names.glueJob(job);
  return values;
}
