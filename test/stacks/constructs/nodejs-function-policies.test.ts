import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthScope } from "../stack-traces";
import { removeBundleBuild } from "../../../stacks/bundle";
import { NodejsFunction } from "../../../stacks/constructs/nodejs-function";

// Grants of several resources into one inline policy of a function's role (e.g. one per Glue job into "glue-jobs").
describe("NodejsFunction.addToRolePolicy: grants into one policy", () => {
  let functionsDir: string;
  before(() => {
    functionsDir = mkdtempSync(join(tmpdir(), "etl-functions-"));
    mkdirSync(join(functionsDir, "echo"));
    writeFileSync(join(functionsDir, "echo", "handler.ts"), "export const handler = async (event: unknown) => event;\n");
  });
  after(() => {
    removeBundleBuild(functionsDir);
    rmSync(functionsDir, { recursive: true, force: true });
  });

  const synth = (grants: (fn: NodejsFunction) => void) =>
    JSON.parse(
      synthScope((scope) => grants(new NodejsFunction(scope, "fn", { entry: "echo", functionName: "etl-test-echo", logRetentionDays: 14, functionsDir }))),
    );
  const policiesNamed = (out: any, name: string) => Object.values<any>(out.resource.aws_iam_role_policy).filter((p) => p.name === name);

  it("merges a statement with the Sid, actions and condition of an earlier one into it, and appends other statements", () => {
    const out = synth((fn) => {
      fn.addToRolePolicy("jobs", [{ Sid: "Run", Action: ["glue:StartJobRun"], Resource: ["arn:job/a"] }]);
      fn.addToRolePolicy("jobs", [{ Sid: "Run", Action: ["glue:StartJobRun"], Resource: ["arn:job/b", "arn:job/a"] }]);
      fn.addToRolePolicy("jobs", [{ Sid: "Read", Action: ["s3:GetObject"], Resource: ["arn:bucket/x/*"] }]);
    });
    const [policy, ...more] = policiesNamed(out, "jobs");
    expect(more).to.deep.equal([]);
    expect(JSON.parse(policy.policy).Statement).to.deep.equal([
      { Effect: "Allow", Sid: "Run", Action: ["glue:StartJobRun"], Resource: ["arn:job/a", "arn:job/b"] },
      { Effect: "Allow", Sid: "Read", Action: ["s3:GetObject"], Resource: ["arn:bucket/x/*"] },
    ]);
  });

  it("refuses a statement whose Sid is already granted with other actions, and an empty first grant", () => {
    expect(() =>
      synth((fn) => {
        fn.addToRolePolicy("jobs", [{ Sid: "Run", Action: ["glue:StartJobRun"], Resource: ["arn:job/a"] }]);
        fn.addToRolePolicy("jobs", [{ Sid: "Run", Action: ["glue:GetJobRun"], Resource: ["arn:job/b"] }]);
      }),
    ).to.throw(/policy jobs: statement Run is already granted with other actions or conditions/);
    expect(() => synth((fn) => fn.addToRolePolicy("empty", []))).to.throw(/at least one statement/);
  });
});
