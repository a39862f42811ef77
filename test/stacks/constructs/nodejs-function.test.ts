import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthScope } from "../stack-traces";
import { bundleOf, removeBundleBuild } from "../../../stacks/bundle";
import { NodejsFunction, type NodejsFunctionProps } from "../../../stacks/constructs/nodejs-function";

describe("NodejsFunction", () => {
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

  const props = (overrides: Partial<NodejsFunctionProps> = {}): NodejsFunctionProps => ({
    entry: "echo",
    functionName: "etl-test-echo",
    logRetentionDays: 14,
    functionsDir,
    ...overrides,
  });
  const synth = (overrides: Partial<NodejsFunctionProps> = {}, extra?: (fn: NodejsFunction) => void) =>
    JSON.parse(
      synthScope((scope) => {
        const fn = new NodejsFunction(scope, "fn", props(overrides));
        extra?.(fn);
      }),
    );

  it("deploys the bundle on Node.js 22, arm64, with X-Ray, source maps and its own log group", () => {
    const out = synth({ environment: { TABLE_NAME: "t" }, timeoutSeconds: 120, memorySize: 512 });
    const fn = Object.values<any>(out.resource.aws_lambda_function)[0];
    expect(fn).to.include({ function_name: "etl-test-echo", runtime: "nodejs22.x", handler: "index.handler", timeout: 120, memory_size: 512 });
    expect(fn.architectures).to.deep.equal(["arm64"]);
    expect(fn.tracing_config).to.deep.equal({ mode: "Active" });
    expect(fn.environment.variables).to.deep.equal({ NODE_OPTIONS: "--enable-source-maps", TABLE_NAME: "t" });
    // The package is the bundle's deterministic zip, and source_code_hash its base64 SHA-256 (Lambda's CodeSha256).
    const bundle = bundleOf(join(functionsDir, "echo", "handler.ts"));
    expect(fn.filename).to.match(/^assets\/.+\/[0-9A-F]{32}\/echo\.zip$/);
    expect(fn.source_code_hash).to.equal(createHash("sha256").update(readFileSync(bundle.zipFile)).digest("base64"));
    const logGroup = Object.values<any>(out.resource.aws_cloudwatch_log_group)[0];
    expect(logGroup).to.include({ name: "/aws/lambda/etl-test-echo", retention_in_days: 14 });
    expect(fn.logging_config.log_group).to.match(/^\$\{aws_cloudwatch_log_group\..+\.name\}$/);
  });

  it("keeps the same source_code_hash when nothing changed", () => {
    const hash = (o: any) => Object.values<any>(o.resource.aws_lambda_function)[0].source_code_hash;
    expect(hash(synth())).to.equal(hash(synth()));
  });

  it("lets the role write only to its own log group until statements are added", () => {
    const out = synth({}, (fn) => fn.addToRolePolicy("table", [{ Sid: "Items", Action: ["dynamodb:GetItem"], Resource: ["arn:aws:dynamodb:us-east-1:1:table/t"] }]));
    const docs = Object.values<any>(out.resource.aws_iam_role_policy).map((p) => JSON.parse(p.policy));
    const logs = docs.flatMap((d) => d.Statement).find((s: any) => s.Sid === "OwnLogGroup");
    expect(logs.Action).to.deep.equal(["logs:CreateLogStream", "logs:PutLogEvents"]);
    expect(logs.Resource).to.have.length(1);
    expect(logs.Resource).to.have.length(1);
    // The documented form: the log group ARN followed by ":*" (covers its log streams).
    expect(logs.Resource[0]).to.match(/^\$\{aws_cloudwatch_log_group\.[^}]+\.arn\}:\*$/);
    expect(docs.flatMap((d) => d.Statement).find((s: any) => s.Sid === "Items").Action).to.deep.equal(["dynamodb:GetItem"]);
    const role = Object.values<any>(out.resource.aws_iam_role)[0];
    expect(JSON.parse(role.assume_role_policy).Statement[0].Principal).to.deep.equal({ Service: "lambda.amazonaws.com" });
  });

  it("keeps the asynchronous events that failed every retry in its own encrypted dead-letter queue", () => {
    const out = synth();
    const [queueId, queue] = Object.entries<any>(out.resource.aws_sqs_queue)[0];
    expect(queue).to.include({ message_retention_seconds: 1_209_600, sqs_managed_sse_enabled: true });
    expect(queue.name).to.match(/-dlq$/);
    const fn = Object.values<any>(out.resource.aws_lambda_function)[0];
    expect(fn.dead_letter_config).to.deep.equal({ target_arn: `\${aws_sqs_queue.${queueId}.arn}` });
    const send = Object.values<any>(out.resource.aws_iam_role_policy).flatMap((p) => JSON.parse(p.policy).Statement).find((s: any) => s.Sid === "OwnDeadLetterQueue");
    expect(send).to.deep.include({ Action: ["sqs:SendMessage"], Resource: [`\${aws_sqs_queue.${queueId}.arn}`] });
    // Lambda checks at creation that the role may send to the queue.
    const policies = Object.entries<any>(out.resource.aws_iam_role_policy).filter(([, p]) => p.name === "dead-letters").map(([id]) => `aws_iam_role_policy.${id}`);
    expect(fn.depends_on).to.include.members(policies);
  });

  for (const [overrides, message] of [
    [{ functionName: "bad name!" }, /functionName 'bad name!'/],
    [{ timeoutSeconds: 901 }, /timeoutSeconds 901/],
    [{ memorySize: 64 }, /memorySize 64/],
    [{ entry: "missing" }, /entry file not found: .*missing\/handler\.ts/],
    [{ environment: { AWS_REGION: "x" } }, /AWS_REGION are reserved/],
  ] as const) {
    it(`rejects ${JSON.stringify(overrides)}`, () => {
      expect(() => synth(overrides as Partial<NodejsFunctionProps>)).to.throw(message);
    });
  }
});
