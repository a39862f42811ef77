import { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import { expect } from "chai";
import { synthScope } from "../stack-traces";
import type { Construct } from "constructs";
import { loadConfig, resourceNames, type EtlConfig } from "../../../core/config";
import { resolveTriggers, STATE_MACHINE_ARN_REF } from "../../../core/topology";
import { DataArrival } from "../../../stacks/constructs/data-arrival";
import type { PolicyStatement } from "../../../stacks/iam-policy";
import { SecureBucket } from "../../../stacks/constructs/secure-bucket";

const config = loadConfig();
const names = resourceNames(config);

function build(scope: Construct, c: EtlConfig = config, datasets = Object.keys(c.datasets)) {
  const dataLake = new SecureBucket(scope, "lake", { bucketPrefix: "lake-" });
  const waitActivities = Object.fromEntries(datasets.map((d) => [d, new SfnActivity(scope, `wait-${d}`, { name: names.waitActivity(d) })]));
  const stateMachine = new SfnStateMachine(scope, "sm", { name: "sm", roleArn: "arn:aws:iam::123456789012:role/sm", definition: "{}" });
  return new DataArrival(scope, "arrival", { config: c, dataLake, waitActivities, stateMachine, accountId: "123456789012" });
}

describe("DataArrival", () => {
  let out: any;
  before(() => (out = JSON.parse(synthScope((scope) => void build(scope)))));
  const statements = () => Object.values<any>(out.resource.aws_iam_role_policy).flatMap((p) => JSON.parse(p.policy).Statement);

  it("creates the arrival table and the function with its environment from the topology", () => {
    const table = Object.values<any>(out.resource.aws_dynamodb_table)[0];
    expect(table).to.include({ name: names.arrivalTable, hash_key: "pk", range_key: "sk" });
    const fn = Object.values<any>(out.resource.aws_lambda_function)[0];
    expect(fn).to.include({ function_name: names.dataArrivalFunction, memory_size: config.dataArrival.memoryMb, timeout: config.dataArrival.timeoutSeconds });
    const datasets = JSON.parse(fn.environment.variables.DATASETS);
    expect(Object.keys(datasets)).to.deep.equal(Object.keys(config.datasets));
    for (const [d, ds] of Object.entries(config.datasets)) {
      expect(datasets[d].prefix).to.equal(ds.prefix);
      expect(datasets[d].activityArn).to.match(new RegExp(`^\\$\\{aws_sfn_activity\\.wait-${d}\\.(arn|id)\\}$`));
    }
    expect(fn.environment.variables.TABLE_NAME).to.match(/^\$\{aws_dynamodb_table\..+\.name\}$/);
  });

  it("notifies the function of objects created under each dataset's prefix, once S3 may invoke it", () => {
    const notification = Object.values<any>(out.resource.aws_s3_bucket_notification)[0];
    expect(notification.lambda_function.map((f: any) => [f.id, f.filter_prefix, f.events])).to.deep.equal(
      Object.entries(config.datasets).map(([d, ds]) => [`upload-${d}`, ds.prefix, ["s3:ObjectCreated:*"]]),
    );
    const permission = Object.values<any>(out.resource.aws_lambda_permission).find((p) => p.principal === "s3.amazonaws.com");
    expect(permission).to.include({ source_account: "123456789012", action: "lambda:InvokeFunction" });
    expect(notification.depends_on).to.have.length(1);
  });

  it("has the rules the topology gives the data-arrival function", () => {
    const rules = Object.values<any>(out.resource.aws_cloudwatch_event_rule).map((r) => r.name).sort();
    expect(rules).to.deep.equal(resolveTriggers(config, { [STATE_MACHINE_ARN_REF]: "arn:aws:states:us-east-1:123456789012:stateMachine:sm" }, "dataArrival").map((t) => t.ruleName).sort());
  });

  it("grants its function only the wait activities, the workflow and the table's item calls it makes", () => {
    const poll = statements().find((s) => s.Sid === "PollWaitTasks");
    expect(poll.Action).to.deep.equal(["states:GetActivityTask"]);
    expect(poll.Resource).to.have.length(Object.keys(config.datasets).length);
    const answer = statements().find((s) => s.Sid === "AnswerWaitTasks");
    expect(answer.Action).to.deep.equal(["states:SendTaskSuccess", "states:SendTaskFailure"]);
    expect(answer.Resource).to.include("${aws_sfn_state_machine.sm.arn}");
    const items = statements().find((s) => s.Sid === "ArrivalItems");
    expect(items.Action).to.deep.equal(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]);
    expect(items.Resource).to.have.length(1).and.to.match(/^\$\{aws_dynamodb_table\./);
  });

  it("grantArrivalItems gives another grantee the same item calls on the table", () => {
    const granted: PolicyStatement[] = [];
    synthScope((scope) => {
      build(scope).grantArrivalItems({ addToRolePolicy: (_, s) => granted.push(...s) });
    });
    expect(granted).to.have.length(1);
    expect(granted[0].Resource[0]).to.match(/^\$\{TfToken\[TOKEN\.\d+\]\}$/);
  });

  it("rejects a dataset without a wait activity, naming it", () => {
    const [first, ...rest] = Object.keys(config.datasets);
    expect(() => synthScope((scope) => void build(scope, config, rest))).to.throw(new RegExp(`no wait activity for dataset ${first}`));
  });
});
