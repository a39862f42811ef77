// The ARNs of the local services (account 000000000000): the local Step Functions service names its activities
// this way, and the workflow's placeholders are filled with them before the services start.
import type { WorkflowArns } from "../asl/placeholders";
import { resourceNames, type EtlConfig } from "../core/config";

export const LOCAL_REGION = "us-east-1";
export const LOCAL_ACCOUNT = "000000000000";

/** The ARN the local service gives activity `name`. */
export function localActivityArn(name: string, region = LOCAL_REGION, accountId = LOCAL_ACCOUNT): string {
  return `arn:aws:states:${region}:${accountId}:activity:${name}`;
}

/** The ARN the local Step Functions service gives the state machine `name`. */
export function localStateMachineArn(name: string, region = LOCAL_REGION, accountId = LOCAL_ACCOUNT): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

/** The workflow's ARNs (activities, failure topic) as the local runtime names them. */
export function localWorkflowArns(config: EtlConfig, region = config.region, accountId = LOCAL_ACCOUNT): WorkflowArns {
  const names = resourceNames(config);
  return {
    runnerActivityArn: localActivityArn(names.runnerActivity, region, accountId),
    waitActivityArn: (dataset) => localActivityArn(names.waitActivity(dataset), region, accountId),
    failureTopicArn: `arn:aws:sns:${region}:${accountId}:${names.failureTopic}`,
  };
}
