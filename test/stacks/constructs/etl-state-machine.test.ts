import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import { expect } from "chai";
import { synthScope } from "../stack-traces";
import type { Construct } from "constructs";
import { resourceNames, type EtlConfig } from "../../../core/config";
import { EtlStateMachine, grantActivityTasks, type EtlStateMachineProps } from "../../../stacks/constructs/etl-state-machine";
import { roleGrantee } from "../../../stacks/constructs/grantee";
import { SecureBucket } from "../../../stacks/constructs/secure-bucket";
import { variant } from "../synth";
import { workflowShape } from "../../support/workflow";

const { config, datasets } = workflowShape();
const names = resourceNames(config);
const TOPIC = "arn:aws:sns:us-east-1:123456789012:failures";

function build(scope: Construct, overrides: Partial<EtlStateMachineProps> = {}, c: EtlConfig = config, withDatasets = datasets): EtlStateMachine {
  const runnerActivity = new SfnActivity(scope, "runner", { name: names.runnerActivity });
  const waitActivities = Object.fromEntries(withDatasets.map((d) => [d, new SfnActivity(scope, `wait-${d}`, { name: names.waitActivity(d) })]));
  const dataLake = new SecureBucket(scope, "lake", { bucketPrefix: "lake-" });
  return new EtlStateMachine(scope, "workflow", { config: c, runnerActivity, waitActivities, failureTopicArn: TOPIC, dataLake, accountId: "123456789012", partition: "aws", ...overrides });
}
const synth = (build: (scope: Construct) => void) => JSON.parse(synthScope(build));
const only = (out: any, type: string) => {
  const found = Object.values<any>(out.resource[type] ?? {});
  expect(found, type).to.have.length(1);
  return found[0];
};

describe("EtlStateMachine", () => {
  let out: any;
  before(() => (out = synth((scope) => void build(scope))));

  it("builds the definition from the ASL file, with the activities' references in place of the placeholders", () => {
    const machine = only(out, "aws_sfn_state_machine");
    expect(machine).to.include({ name: names.stateMachine, type: "STANDARD" });
    const resources = new Set(JSON.stringify(JSON.parse(machine.definition)).match(/\$\{aws_sfn_activity\.[^}]+\}/g));
    expect([...resources].sort()).to.deep.equal(["${aws_sfn_activity.runner.arn}", ...datasets.map((d) => `\${aws_sfn_activity.wait-${d}.arn}`)].sort());
    expect(machine.definition).to.not.match(/cdktf-reference-\d+-ref/);
  });

  it("logs executions to its own log group with the configured level and retention, and traces as configured", () => {
    const machine = only(out, "aws_sfn_state_machine");
    const logGroup = only(out, "aws_cloudwatch_log_group");
    expect(logGroup).to.include({ name: `/aws/vendedlogs/states/${names.stateMachine}`, retention_in_days: config.logRetentionDays });
    expect(machine.logging_configuration).to.include({ include_execution_data: true, level: config.stateMachine.logLevel });
    expect(machine.logging_configuration.log_destination).to.match(/^\$\{aws_cloudwatch_log_group\..+\.arn\}:\*$/);
    expect(machine.tracing_configuration).to.deep.equal({ enabled: config.stateMachine.tracing });
    const untraced = synth((scope) => void build(scope, {}, variant((raw) => ((raw.stateMachine ??= {}).tracing = !config.stateMachine.tracing))));
    expect(only(untraced, "aws_sfn_state_machine").tracing_configuration).to.deep.equal({ enabled: !config.stateMachine.tracing });
  });

  it("gives its role, trusted by Step Functions of this account only, the integrations' IAM plus log delivery", () => {
    const role = only(out, "aws_iam_role");
    const trust = JSON.parse(role.assume_role_policy).Statement[0];
    expect(trust.Principal).to.deep.equal({ Service: "states.amazonaws.com" });
    expect(trust.Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": "123456789012" } });
    const statements = JSON.parse(only(out, "aws_iam_role_policy").policy).Statement;
    expect(statements.map((s: any) => s.Sid)).to.include("LogDelivery");
    expect(statements.some((s: any) => s.Sid === "Tracing")).to.equal(config.stateMachine.tracing);
    // Only log delivery and X-Ray take "*"; every integration statement is scoped.
    for (const s of statements.filter((s: any) => !["LogDelivery", "Tracing"].includes(s.Sid))) expect(s.Resource, s.Sid).to.not.include("*");
  });

  it("keeps the stack's former Terraform addresses only when asked", () => {
    const kept = synth((scope) => void build(scope, { stackAddresses: true }));
    expect(Object.keys(kept.resource.aws_sfn_state_machine)).to.deep.equal(["state-machine"]);
    expect(Object.keys(kept.resource.aws_iam_role)).to.deep.equal(["state-machine-role"]);
    expect(Object.keys(kept.resource.aws_iam_role_policy)).to.deep.equal(["state-machine-policy"]);
    expect(Object.keys(kept.resource.aws_cloudwatch_log_group)).to.deep.equal(["state-machine-logs"]);
    expect(only(kept, "aws_sfn_state_machine").role_arn).to.equal("${aws_iam_role.state-machine-role.arn}");
    expect(Object.keys(out.resource.aws_sfn_state_machine)[0]).to.match(/^workflow_state-machine_/);
  });

  it("refuses a dataset without a wait activity and a missing failure topic", () => {
    const [first, ...rest] = datasets;
    expect(() => synth((scope) => void build(scope, {}, config, rest))).to.throw(new RegExp(`no wait activity for dataset ${first}`));
    expect(() => synth((scope) => void build(scope, { failureTopicArn: "" }))).to.throw(/failureTopicArn is required/);
  });

  it("grantStartExecution lets a role start executions of this state machine only", () => {
    const out = synth((scope) => {
      const sm = build(scope);
      const role = new IamRole(scope, "starter", { name: "starter", assumeRolePolicy: "{}" });
      sm.grantStartExecution(roleGrantee(scope, "start", role));
    });
    const policy = out.resource.aws_iam_role_policy.start;
    expect(policy.name).to.equal("start-execution");
    const [statement, ...others] = JSON.parse(policy.policy).Statement;
    expect(others).to.deep.equal([]);
    expect(statement).to.deep.include({ Effect: "Allow", Sid: "StartWorkflow", Action: ["states:StartExecution"] });
    expect(statement.Resource).to.have.length(1);
    expect(statement.Resource[0]).to.match(/^\$\{aws_sfn_state_machine\.workflow_state-machine_[^.]+\.arn\}$/);
  });

  it("grantTaskResponse lets a worker poll its activities and answer their tasks, with heartbeats only when asked", () => {
    const out = synth((scope) => {
      const sm = build(scope);
      const runner = new SfnActivity(scope, "other-runner", { name: "other" });
      const role = new IamRole(scope, "worker", { name: "worker", assumeRolePolicy: "{}" });
      sm.grantTaskResponse(roleGrantee(scope, "runner-grant", role), [runner], { policyId: "runner-activity", label: "Runner", heartbeat: true });
      sm.grantTaskResponse(roleGrantee(scope, "quiet-grant", role), [runner], { policyId: "quiet", label: "Quiet" });
    });
    const statements = (id: string) => JSON.parse(out.resource.aws_iam_role_policy[id].policy).Statement;
    const smArn = `\${aws_sfn_state_machine.${Object.keys(out.resource.aws_sfn_state_machine)[0]}.arn}`;
    expect(out.resource.aws_iam_role_policy["runner-grant"].name).to.equal("runner-activity");
    expect(statements("runner-grant")).to.deep.equal([
      { Effect: "Allow", Sid: "PollRunnerTasks", Action: ["states:GetActivityTask"], Resource: ["${aws_sfn_activity.other-runner.arn}"] },
      { Effect: "Allow", Sid: "AnswerRunnerTasks", Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], Resource: ["${aws_sfn_activity.other-runner.arn}", smArn] },
    ]);
    expect(statements("quiet-grant")[1].Action).to.deep.equal(["states:SendTaskSuccess", "states:SendTaskFailure"]);
  });

  it("refuses an activity grant without activities or with a label that cannot name a statement, and a second grant through one role grantee", () => {
    const grantee = { addToRolePolicy: () => undefined };
    expect(() => grantActivityTasks(grantee, { stateMachineArn: "sm", activityArns: [], policyId: "p", label: "X" })).to.throw(/grant p: needs at least one activity/);
    expect(() => grantActivityTasks(grantee, { stateMachineArn: "sm", activityArns: ["a"], policyId: "p", label: "Not ok" })).to.throw(/label 'Not ok'/);
    expect(() =>
      synth((scope) => {
        const sm = build(scope);
        const once = roleGrantee(scope, "start", new IamRole(scope, "starter", { name: "starter", assumeRolePolicy: "{}" }));
        sm.grantStartExecution(once);
        sm.grantStartExecution(once);
      }),
    ).to.throw(/this grantee takes one grant/);
  });
});
