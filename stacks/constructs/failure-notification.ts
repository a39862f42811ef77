import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";
import { resourceNames, type EtlConfig } from "../../core/config";
import { FAILURE_NOTIFICATION } from "../../core/topology";

export interface FailureNotificationProps {
  /** The configuration: names, `notifications.email`. */
  readonly config: EtlConfig;
  /**
   * The workflow's state machine ARN, built from its name (the state machine needs the topic's ARN for any
   * `sns:publish` in the ASL, so it cannot come first).
   */
  readonly stateMachineArn: string;
  /** The account of the stack: the key's administrators and the events' source account. */
  readonly accountId: string;
  /** The partition of the stack (`aws`). */
  readonly partition: string;
}

/**
 * The failure topic and what publishes to it: an EventBridge rule on the workflow's "Step Functions Execution
 * Status Change" events (FAILED, TIMED_OUT; core/topology.ts FAILURE_NOTIFICATION) targeting the topic with an
 * input transformer. The topic is encrypted with a customer-managed key, since EventBridge cannot publish to a
 * topic under the AWS-managed `alias/aws/sns` key; the key and the topic policy admit EventBridge only for
 * this account, and publishing only from this rule.
 *
 * The topic and its subscription are created in `scope` itself, where the stack had them, so their Terraform
 * addresses (`aws_sns_topic.failure-topic`) stay.
 */
export class FailureNotification extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  readonly rule: CloudwatchEventRule;

  constructor(scope: Construct, id: string, props: FailureNotificationProps) {
    super(scope, id);
    const { config, stateMachineArn, accountId, partition } = props;
    if (!stateMachineArn) throw new Error(`${this.node.path}: stateMachineArn is required`);
    const names = resourceNames(config);

    this.rule = new CloudwatchEventRule(this, "rule", {
      name: FAILURE_NOTIFICATION.ruleName(names),
      description: FAILURE_NOTIFICATION.description,
      eventPattern: JSON.stringify(FAILURE_NOTIFICATION.eventPattern({ stateMachineArn })),
    });
    const fromThisAccount = { StringEquals: { "aws:SourceAccount": accountId } };
    this.key = new KmsKey(this, "key", {
      description: `Encrypts the ${names.failureTopic} topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          // Without it the key would be unmanageable (AWS's default key policy).
          { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" },
          { Sid: "EventBridgePublishes", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*", Condition: fromThisAccount },
        ],
      }),
    });
    this.topic = new SnsTopic(scope, "failure-topic", { name: names.failureTopic, kmsMasterKeyId: this.key.arn });
    if (config.notifications.email) {
      new SnsTopicSubscription(scope, "failure-email", { topicArn: this.topic.arn, protocol: "email", endpoint: config.notifications.email });
    }
    new SnsTopicPolicy(this, "policy", {
      arn: this.topic.arn,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "FailureRulePublishes",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sns:Publish",
            Resource: this.topic.arn,
            Condition: { ArnEquals: { "aws:SourceArn": this.rule.arn } },
          },
          {
            Sid: "TlsOnly",
            Effect: "Deny",
            Principal: "*",
            Action: "sns:Publish",
            Resource: this.topic.arn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    });
    new CloudwatchEventTarget(this, "target", {
      rule: this.rule.name,
      arn: this.topic.arn,
      inputTransformer: { inputPaths: { ...FAILURE_NOTIFICATION.inputPaths }, inputTemplate: FAILURE_NOTIFICATION.inputTemplate },
    });
  }
}
