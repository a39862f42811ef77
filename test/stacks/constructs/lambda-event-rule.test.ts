import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthScope } from "../stack-traces";
import { removeBundleBuild } from "../../../stacks/bundle";
import { LambdaEventRule, type LambdaEventRuleProps } from "../../../stacks/constructs/lambda-event-rule";
import { NodejsFunction } from "../../../stacks/constructs/nodejs-function";

describe("LambdaEventRule", () => {
  let functionsDir: string;
  before(() => {
    functionsDir = mkdtempSync(join(tmpdir(), "etl-functions-"));
    mkdirSync(join(functionsDir, "echo"));
    writeFileSync(join(functionsDir, "echo", "handler.ts"), "export const handler = async () => 1;\n");
  });
  after(() => {
    removeBundleBuild(functionsDir);
    rmSync(functionsDir, { recursive: true, force: true });
  });

  const synth = (props: Omit<LambdaEventRuleProps, "target">) =>
    JSON.parse(
      synthScope((scope) => {
        const target = new NodejsFunction(scope, "fn", { entry: "echo", functionName: "echo", logRetentionDays: 1, functionsDir });
        new LambdaEventRule(scope, "rule", { ...props, target });
      }),
    );

  it("targets the function and scopes the invoke permission to the rule", () => {
    const out = synth({ ruleName: "kick", eventPattern: { source: ["a.b"], "detail-type": ["X"] } });
    const rule = Object.values<any>(out.resource.aws_cloudwatch_event_rule)[0];
    expect(JSON.parse(rule.event_pattern)).to.deep.equal({ source: ["a.b"], "detail-type": ["X"] });
    expect(rule.schedule_expression).to.equal(undefined);
    const ruleId = Object.keys(out.resource.aws_cloudwatch_event_rule)[0];
    const target = Object.values<any>(out.resource.aws_cloudwatch_event_target)[0];
    expect(target.arn).to.match(/^\$\{aws_lambda_function\..+\.arn\}$/);
    const permission = Object.values<any>(out.resource.aws_lambda_permission)[0];
    expect(permission).to.include({ principal: "events.amazonaws.com", action: "lambda:InvokeFunction", source_arn: `\${aws_cloudwatch_event_rule.${ruleId}.arn}` });
  });

  it("takes a schedule instead of a pattern", () => {
    const rule = Object.values<any>(synth({ ruleName: "tick", scheduleExpression: "rate(5 minutes)" }).resource.aws_cloudwatch_event_rule)[0];
    expect(rule.schedule_expression).to.equal("rate(5 minutes)");
  });

  it("needs exactly one of a pattern or a schedule", () => {
    expect(() => synth({ ruleName: "none" })).to.throw(/exactly one of eventPattern or scheduleExpression/);
    expect(() => synth({ ruleName: "both", eventPattern: {}, scheduleExpression: "rate(1 minute)" })).to.throw(/exactly one/);
  });
});
