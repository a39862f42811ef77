import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { Construct } from "constructs";
import type { EtlConfig } from "../../core/config";
import { resolveTriggers, type FunctionId, type TriggerRefs } from "../../core/topology";
import type { NodejsFunction } from "./nodejs-function";

export interface LambdaEventRuleProps {
  /** Rule name (at most 64 characters). */
  readonly ruleName: string;
  /** @default "" */
  readonly description?: string;
  /** The function the rule invokes. */
  readonly target: NodejsFunction;
  /** An event pattern; set this or `scheduleExpression`, not both. */
  readonly eventPattern?: Record<string, unknown>;
  /** A schedule such as `rate(5 minutes)`; set this or `eventPattern`, not both. */
  readonly scheduleExpression?: string;
}

/** An EventBridge rule on the default bus that invokes a Lambda function, with the permission scoped to the rule. */
export class LambdaEventRule extends Construct {
  readonly rule: CloudwatchEventRule;

  /**
   * The rules the topology (core/topology.ts TRIGGERS) gives `target` in this configuration, each invoking `fn`;
   * created directly in `scope` under the trigger's id, so a rule keeps its Terraform address.
   */
  static forTriggers(scope: Construct, target: FunctionId, fn: NodejsFunction, config: EtlConfig, refs: TriggerRefs = {}): LambdaEventRule[] {
    return resolveTriggers(config, refs, target).map(
      (t) =>
        new LambdaEventRule(scope, t.id, {
          ruleName: t.ruleName,
          description: t.description,
          target: fn,
          eventPattern: t.eventPattern as Record<string, unknown> | undefined,
          scheduleExpression: t.scheduleExpression,
        }),
    );
  }

  constructor(scope: Construct, id: string, props: LambdaEventRuleProps) {
    super(scope, id);
    if ((props.eventPattern === undefined) === (props.scheduleExpression === undefined))
      throw new Error(`${this.node.path}: set exactly one of eventPattern or scheduleExpression`);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(props.ruleName)) throw new Error(`${this.node.path}: ruleName '${props.ruleName}' must be 1-64 letters, digits, '.', '-' or '_'`);

    this.rule = new CloudwatchEventRule(this, "rule", {
      name: props.ruleName,
      description: props.description ?? "",
      eventPattern: props.eventPattern && JSON.stringify(props.eventPattern),
      scheduleExpression: props.scheduleExpression,
    });
    new CloudwatchEventTarget(this, "target", { rule: this.rule.name, arn: props.target.arn });
    new LambdaPermission(this, "permission", {
      action: "lambda:InvokeFunction",
      functionName: props.target.function.functionName,
      principal: "events.amazonaws.com",
      sourceArn: this.rule.arn,
    });
  }
}
