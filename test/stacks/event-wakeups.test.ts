// Who wakes whom without kicks in the workflow: the stacks give both functions a rule on the workflow's own RUNNING
// status change, and let them (not the state machine) put RunnerTaskScheduled on the default bus, for that source and
// detail-type only.
import { expect } from "chai";
import { resourceNames } from "../../core/config";
import { KICKS } from "../../core/kicks";
import { FIXTURE_CONFIG, resources, synthFile, type TfJson } from "./synth";

/** The role policy statements of the function named `functionName`. */
function functionStatements(stack: TfJson, functionName: string): any[] {
  const [fnId] = Object.entries(resources(stack, "aws_lambda_function")).find(([, f]) => f.function_name === functionName)!;
  const role = resources(stack, "aws_lambda_function")[fnId].role as string;
  const roleId = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(role)![1];
  return Object.values(resources(stack, "aws_iam_role_policy"))
    .filter((p) => p.role === `\${aws_iam_role.${roleId}.id}` || p.role === `\${aws_iam_role.${roleId}.name}`)
    .flatMap((p) => JSON.parse(p.policy).Statement);
}

for (const [label, file] of [["etl.config.json", undefined], ["three-datasets fixture", FIXTURE_CONFIG]] as const) {
  describe(`stacks: the functions wake each other, not the workflow (${label})`, () => {
    const synth = synthFile(file);
    const names = resourceNames(synth.config);
    const functions = [
      { stack: synth.stateMachine, name: names.dataArrivalFunction },
      { stack: synth.runner, name: names.runnerFunction },
    ];

    it("lets each function put RunnerTaskScheduled from the workflow's source on the default bus only", () => {
      for (const { stack, name } of functions) {
        const puts = functionStatements(stack, name).filter((s) => s.Action.some((a: string) => a.startsWith("events:")));
        expect(puts, name).to.have.length(1);
        expect(puts[0].Action).to.deep.equal(["events:PutEvents"]);
        expect(puts[0].Resource).to.have.length(1);
        expect(puts[0].Resource[0]).to.match(/^arn:\$\{data\.aws_partition\.partition\.partition\}:events:[a-z0-9-]+:\$\{data\.aws_caller_identity\.account\.account_id\}:event-bus\/default$/);
        expect(puts[0].Condition).to.deep.equal({ StringEquals: { "events:source": names.eventSource, "events:detail-type": KICKS.runner } });
        const fn = Object.values(resources(stack, "aws_lambda_function")).find((f) => f.function_name === name);
        expect(fn.environment.variables.EVENT_SOURCE).to.equal(names.eventSource);
      }
    });

    it("gives the state machine's role no events:PutEvents: its ASL puts no event", () => {
      const role = resources(synth.stateMachine, "aws_iam_role_policy")["state-machine-policy"];
      const actions = JSON.parse(role.policy).Statement.flatMap((s: any) => s.Action);
      expect(actions).to.not.include("events:PutEvents");
    });

    it("wakes each function on the workflow's RUNNING status change, matched by its state machine", () => {
      for (const { stack, name } of functions) {
        const rule = Object.values(resources(stack, "aws_cloudwatch_event_rule")).find((r) => r.name === `${name}-running`);
        expect(rule, name).to.not.equal(undefined);
        const pattern = JSON.parse(rule.event_pattern);
        expect(pattern).to.deep.include({ source: ["aws.states"], "detail-type": ["Step Functions Execution Status Change"] });
        expect(pattern.detail.status).to.deep.equal(["RUNNING"]);
        // The state machine itself, by reference (across stacks, a remote state lookup).
        expect(pattern.detail.stateMachineArn).to.have.length(1);
        expect(pattern.detail.stateMachineArn[0]).to.match(/aws_sfn_state_machine\.state-machine\.arn|terraform_remote_state/);
      }
    });
  });
}
