import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { resourceNames } from "../core/config";
import { FAILURE_NOTIFICATION } from "../core/topology";
import { DataArrival } from "./constructs/data-arrival";
import { EtlStateMachine } from "./constructs/etl-state-machine";
import { FailureNotification } from "./constructs/failure-notification";
import { roleGrantee } from "./constructs/grantee";
import type { SecureBucket } from "./constructs/secure-bucket";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { serviceTrustPolicy } from "./iam-policy";

export interface StateMachineStackProps extends EtlStackProps {
  /** The data-lake bucket (glue stack): its uploads release the "wait for data" tasks. */
  readonly dataLake: SecureBucket;
  /**
   * The EMR Serverless application and job role, for Task states that start job runs on it
   * (`${EmrApplicationId}`, `${EmrJobRoleArn}`).
   * @default none: those placeholders are unknown
   */
  readonly emrServerless?: { readonly applicationId: string; readonly jobRoleArn: string };
}

/**
 * The workflow: activities, the state machine (constructs/etl-state-machine.ts), its weekly schedule, the failure
 * topic with its notification rule, and the data-arrival function that releases the "wait for data" tasks (with its
 * table, bucket notification and wake-up rules).
 */
export class StateMachineStack extends EtlStack {
  readonly runnerActivity: SfnActivity;
  readonly waitActivities: Record<string, SfnActivity> = {};
  readonly failureTopic: SnsTopic;
  readonly stateMachine: EtlStateMachine;
  readonly dataArrival: DataArrival;

  constructor(scope: Construct, id: string, props: StateMachineStackProps) {
    super(scope, id, props);
    const { config, dataLake } = props;
    const names = resourceNames(config);

    this.runnerActivity = new SfnActivity(this, "runner-activity", { name: names.runnerActivity });
    for (const dataset of Object.keys(config.datasets)) {
      this.waitActivities[dataset] = new SfnActivity(this, `wait-activity-${dataset}`, { name: names.waitActivity(dataset) });
    }

    // Every failed or timed-out execution notifies, from Step Functions' own status-change event (not from the ASL:
    // a failed execution must stop at the failed job, where RedriveExecution resumes).
    this.failureTopic = new FailureNotification(this, FAILURE_NOTIFICATION.id, {
      config,
      stateMachineArn: this.arn("states", `stateMachine:${names.stateMachine}`),
      accountId: this.accountId,
      partition: this.partition,
    }).topic;

    this.stateMachine = new EtlStateMachine(this, "workflow", {
      config,
      runnerActivity: this.runnerActivity,
      waitActivities: this.waitActivities,
      failureTopicArn: this.failureTopic.arn,
      dataLake,
      emrServerless: props.emrServerless,
      accountId: this.accountId,
      partition: this.partition,
      stackAddresses: true,
    });
    this.createWorkflowSchedule();
    // Id "Default" is left out of Terraform addresses: the pieces keep the addresses they had in the stack itself.
    this.dataArrival = new DataArrival(this, "Default", {
      config,
      dataLake,
      waitActivities: this.waitActivities,
      stateMachine: this.stateMachine.stateMachine,
      accountId: this.accountId,
      eventBusArn: this.arn("events", "event-bus/default"),
    });

    new TerraformOutput(this, "state-machine-arn", { value: this.stateMachine.arn });
    new TerraformOutput(this, "failure-topic-arn", { value: this.failureTopic.arn });
  }

  /** The weekly start; kept but disabled when schedules.workflowEnabled is false, so switching is a one-line diff. */
  private createWorkflowSchedule(): void {
    const names = resourceNames(this.config);
    const rule = new CloudwatchEventRule(this, "workflow-schedule", {
      name: `${names.stateMachine}-schedule`,
      description: `Starts ${names.stateMachine}`,
      scheduleExpression: this.config.schedules.workflow,
      state: this.config.schedules.workflowEnabled ? "ENABLED" : "DISABLED",
    });
    const role = new IamRole(this, "workflow-schedule-role", {
      name: `${names.stateMachine}-schedule`,
      description: `Lets EventBridge start ${names.stateMachine}`,
      assumeRolePolicy: serviceTrustPolicy("events.amazonaws.com", this.accountId),
    });
    this.stateMachine.grantStartExecution(roleGrantee(this, "workflow-schedule-policy", role));
    new CloudwatchEventTarget(this, "workflow-schedule-target", { rule: rule.name, arn: this.stateMachine.arn, roleArn: role.arn, input: "{}" });
  }
}
