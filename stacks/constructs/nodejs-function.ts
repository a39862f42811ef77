import { existsSync } from "node:fs";
import { join } from "node:path";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { AssetType, Lazy, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { resourceNames, type EtlConfig } from "../../core/config";
import type { FunctionSpec } from "../../core/topology";
import { bundleOf, DEFAULT_FUNCTIONS_DIR } from "../bundle";
import { policyDocument, serviceTrustPolicy, type PolicyStatement } from "../iam-policy";
import { skipCheck, skipLogGroupChecks } from "./checkov-skip";

/** How long a dead letter stays in the queue: SQS's maximum, 14 days. */
const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;

export interface NodejsFunctionProps {
  /** Folder under `functionsDir` whose `handler.ts` (exporting `handler`) is bundled, e.g. "etl-runner". */
  readonly entry: string;
  /** Function name; also names the role and the log group `/aws/lambda/<functionName>`. */
  readonly functionName: string;
  /** @default "" */
  readonly description?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** Seconds, 1 to 900. @default 30 */
  readonly timeoutSeconds?: number;
  /** Environment variables (NODE_OPTIONS is set to enable source maps). @default {} */
  readonly environment?: Record<string, string>;
  /** Log group retention in days. */
  readonly logRetentionDays: number;
  /** @default "<project root>/functions" */
  readonly functionsDir?: string;
}

const RESERVED_VARIABLES = /^(AWS_|_HANDLER$|_X_AMZN_TRACE_ID$|LAMBDA_|NODE_OPTIONS$)/;

/**
 * A TypeScript Lambda function bundled by esbuild at synth time (Node.js 22, arm64, X-Ray active),
 * with its own log group, a dead-letter queue `<functionName>-dlq` (SQS, encrypted, 14 days) that keeps the
 * asynchronous events (S3, EventBridge) that failed every retry, and an execution role that may only write to
 * that log group and that queue.
 * Callers add the rest of the role's permissions with `addToRolePolicy`, next to the resource they concern.
 */
export class NodejsFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly deadLetterQueue: SqsQueue;
  private readonly policies = new Map<string, { policy: IamRolePolicy; statements: PolicyStatement[] }>();

  constructor(scope: Construct, id: string, props: NodejsFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 256;
    const timeout = props.timeoutSeconds ?? 30;
    const environment = props.environment ?? {};
    const entryFile = join(props.functionsDir ?? DEFAULT_FUNCTIONS_DIR, props.entry, "handler.ts");
    const where = `${this.node.path} (${props.functionName})`;
    if (!/^[A-Za-z0-9_-]{1,56}$/.test(props.functionName))
      throw new Error(`${where}: functionName '${props.functionName}' must be 1-56 letters, digits, '-' or '_' (the role name adds a suffix)`);
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) throw new Error(`${where}: memorySize ${memorySize} must be an integer from 128 to 10240`);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 900) throw new Error(`${where}: timeoutSeconds ${timeout} must be an integer from 1 to 900`);
    if (!existsSync(entryFile)) throw new Error(`${where}: entry file not found: ${entryFile}`);
    const reserved = Object.keys(environment).filter((k) => RESERVED_VARIABLES.test(k));
    if (reserved.length) throw new Error(`${where}: environment variables ${reserved.join(", ")} are reserved`);

    const bundle = bundleOf(entryFile);
    const asset = new TerraformAsset(this, "code", { path: bundle.zipFile, type: AssetType.FILE });

    this.logGroup = new CloudwatchLogGroup(this, "log-group", { name: `/aws/lambda/${props.functionName}`, retentionInDays: props.logRetentionDays });
    skipLogGroupChecks(this.logGroup, props.logRetentionDays);
    this.deadLetterQueue = new SqsQueue(this, "dead-letters", {
      name: `${props.functionName}-dlq`,
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    });
    skipCheck(this.deadLetterQueue, "CKV2_AWS_73", "SSE-SQS encrypts at rest; a customer-managed key adds key-policy wiring for no access gain");
    this.role = new IamRole(this, "role", {
      name: `${props.functionName}-role`,
      description: `Execution role of ${props.functionName}`,
      assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
    });
    const logsPolicy = this.addToRolePolicy("logs", [
      { Sid: "OwnLogGroup", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${this.logGroup.arn}:*`] },
      // X-Ray trace segments have no resource ARN.
      { Sid: "Tracing", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: ["*"] },
    ]);
    const deadLetterPolicy = this.addToRolePolicy("dead-letters", [{ Sid: "OwnDeadLetterQueue", Action: ["sqs:SendMessage"], Resource: [this.deadLetterQueue.arn] }]);

    this.function = new LambdaFunction(this, "function", {
      functionName: props.functionName,
      description: props.description ?? "",
      role: this.role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: asset.path,
      // The zip is deterministic, so this is exactly the CodeSha256 AWS reports: no spurious diffs.
      sourceCodeHash: bundle.zipSha256,
      memorySize,
      timeout,
      environment: { variables: { NODE_OPTIONS: "--enable-source-maps", ...environment } },
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
      deadLetterConfig: { targetArn: this.deadLetterQueue.arn },
      // Lambda checks at creation that the role may write to the log group and the queue.
      dependsOn: [logsPolicy, deadLetterPolicy],
    });
    skipCheck(this.function, "CKV_AWS_115", "no reserved concurrency: it would throttle event deliveries; each invocation's work is bounded by its own settings");
    skipCheck(this.function, "CKV_AWS_117", "calls only AWS APIs, no resources in a VPC; a VPC would add NAT cost and cold-start time");
    skipCheck(this.function, "CKV_AWS_272", "the bundle is built by the same synth that deploys it; no third-party code artifact to verify");
    skipCheck(this.function, "CKV_AWS_173", "the environment holds names and ARNs, no secrets; Lambda encrypts it at rest with its service key");
  }

  /** The function the topology describes (core/topology.ts FUNCTIONS): its entry, name, settings and environment. */
  static fromSpec<Refs>(scope: Construct, id: string, spec: FunctionSpec<Refs>, config: EtlConfig, refs: Refs): NodejsFunction {
    return new NodejsFunction(scope, id, {
      entry: spec.entry,
      functionName: spec.functionName(resourceNames(config)),
      description: spec.description,
      memorySize: spec.memoryMb(config),
      timeoutSeconds: spec.timeoutSeconds(config),
      logRetentionDays: config.logRetentionDays,
      environment: spec.environment(config, refs, "INFO"),
    });
  }

  /**
   * Adds statements to the execution role's inline policy `<id>`, created on first use. Grants of several resources
   * into one policy merge: a statement with the Sid, actions and condition of an earlier one adds its resources to it.
   */
  addToRolePolicy(id: string, statements: PolicyStatement[]): IamRolePolicy {
    const existing = this.policies.get(id);
    if (!existing) {
      const own = statements.map((s) => ({ ...s, Resource: [...s.Resource] }));
      // Rendered at synthesis, after every grant.
      const policy = new IamRolePolicy(this, `policy-${id}`, { role: this.role.id, name: id, policy: Lazy.stringValue({ produce: () => policyDocument(own) }) });
      policyDocument(own);
      this.policies.set(id, { policy, statements: own });
      return policy;
    }
    for (const s of statements) {
      const same = s.Sid === undefined ? undefined : existing.statements.find((e) => e.Sid === s.Sid);
      if (!same) existing.statements.push({ ...s, Resource: [...s.Resource] });
      else if (JSON.stringify([same.Action, same.Effect, same.Condition]) !== JSON.stringify([s.Action, s.Effect, s.Condition]))
        throw new Error(`${this.node.path}: policy ${id}: statement ${s.Sid} is already granted with other actions or conditions`);
      else same.Resource.push(...s.Resource.filter((r) => !same.Resource.includes(r)));
    }
    return existing.policy;
  }

  get arn(): string {
    return this.function.arn;
  }
}
