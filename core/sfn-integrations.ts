// The Step Functions service integrations the hand-written ASL may use besides the project's activities: which
// service APIs and integration patterns are accepted, and the IAM each Task state needs, derived from what the
// state names (its job, workgroup, application, function, event bus or topic). Read by the state-machine stack
// (the role's policy), the local Step Functions service (local/sfn/integrations.ts has a handler per API, typed by
// IntegrationApi) and the diagram. Every IAM builder cites the AWS page it follows; where AWS's template uses "*"
// for a resource the state names, the statement is scoped to that resource instead.
import type { PolicyStatement } from "./iam-statement";

export type IntegrationPattern = "requestResponse" | "sync" | "waitForTaskToken";

const SUFFIX: Record<IntegrationPattern, string> = { requestResponse: "", sync: ".sync", waitForTaskToken: ".waitForTaskToken" };

/** What the IAM builders need besides the state: ARNs in the stack's partition, account and region. */
export interface IntegrationIamContext {
  /** `arn(service, resource)`: an ARN in this account and region. */
  readonly arn: (service: string, resource: string) => string;
  /** `arn:<partition>:<service>:::<resource>`, for services without region or account in their ARNs (S3). */
  readonly globalArn: (service: string, resource: string) => string;
  /** The IAM role ARN of a role name in this account. */
  readonly roleArn: (name: string) => string;
  /** The Glue Data Catalog database of the project (Athena queries read its tables). */
  readonly databaseName: string;
  /** Buckets (ARNs) Athena queries read and write: the data lake and the query results. */
  readonly athenaBucketArns: readonly string[];
}

/** A Task state's request: its Parameters (JSONPath) or Arguments (JSONata), with the state's name for messages. */
export interface StateRequest {
  readonly state: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** "Parameters" or "Arguments", for messages. */
  readonly field: string;
}

export class IntegrationError extends Error {
  override name = "IntegrationError";
}

export interface SfnIntegration {
  readonly patterns: readonly IntegrationPattern[];
  /** The AWS page with the IAM policies Step Functions generates for this integration. */
  readonly iamDocs: string;
  /** The statements one state needs (Sids are set by the caller). */
  readonly iam: (request: StateRequest, pattern: IntegrationPattern, ctx: IntegrationIamContext) => PolicyStatement[];
  /** What the state runs, for diagrams: a job, query workgroup, function, bus or topic. */
  readonly target: (request: StateRequest) => string;
}

/** A literal string field of the request; a path or JSONata expression cannot be scoped in IAM, so it is refused. */
export function literalField(request: StateRequest, name: string, fallback?: string): string {
  const { fields, state, field } = request;
  if (Object.hasOwn(fields, `${name}.$`)) {
    throw new IntegrationError(`state '${state}': ${field}.${name}.$ is a path; give ${name} as a literal (a \${Placeholder} such as \${JobName.X}) so that the state machine's IAM can be scoped to it`);
  }
  const value = fields[name];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || value === "" || /^\{%.*%\}$/s.test(value)) {
    throw new IntegrationError(`state '${state}': ${field}.${name} is required as a literal string (a \${Placeholder} such as \${JobName.X}) so that the state machine's IAM can be scoped to it`);
  }
  return value;
}

function objectField(request: StateRequest, name: string): StateRequest | undefined {
  const value = request.fields[name];
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new IntegrationError(`state '${request.state}': ${request.field}.${name} must be an object`);
  return { state: request.state, fields: value as Record<string, unknown>, field: `${request.field}.${name}` };
}

/** The function's unqualified ARN, from a name or an ARN (a version or alias qualifier is covered by `:*`). */
const lambdaFunctionArn = (nameOrArn: string, ctx: IntegrationIamContext) =>
  nameOrArn.startsWith("arn:") ? nameOrArn.split(":").slice(0, 7).join(":") : ctx.arn("lambda", `function:${nameOrArn.split(":")[0]}`);

/** Entries of an events:putEvents request: literal bus names and sources (the role may put only those). */
function eventEntries(request: StateRequest): Array<{ bus: string; source: string }> {
  const entries = request.fields.Entries;
  if (Object.hasOwn(request.fields, "Entries.$") || !Array.isArray(entries) || entries.length === 0) {
    throw new IntegrationError(`state '${request.state}': ${request.field}.Entries must be a literal array of entries (each with a literal Source) so that the state machine's IAM can be scoped to them`);
  }
  return entries.map((entry, i) => {
    const e: StateRequest = { state: request.state, fields: (entry ?? {}) as Record<string, unknown>, field: `${request.field}.Entries[${i}]` };
    return { bus: literalField(e, "EventBusName", "default"), source: literalField(e, "Source") };
  });
}

const eventBusArn = (bus: string, ctx: IntegrationIamContext) => (bus.startsWith("arn:") ? bus : ctx.arn("events", `event-bus/${bus}`));

export const SFN_INTEGRATIONS = {
  "glue:startJobRun": {
    patterns: ["requestResponse", "sync"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/connect-glue.html",
    // AWS's template has "*": Glue jobs have ARNs, so the job the state names is the resource.
    iam: (r, pattern, ctx) => [
      {
        Action: pattern === "sync" ? ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"] : ["glue:StartJobRun"],
        Resource: [ctx.arn("glue", `job/${literalField(r, "JobName")}`)],
      },
    ],
    target: (r) => literalField(r, "JobName"),
  },
  "athena:startQueryExecution": {
    patterns: ["requestResponse", "sync"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html",
    // AWS's template grants S3 on every bucket and Glue on every database; here the project's buckets and database.
    iam: (r, pattern, ctx) => {
      const workGroup = literalField(r, "WorkGroup", "primary");
      const context = objectField(r, "QueryExecutionContext");
      const catalog = context ? literalField(context, "Catalog", "AwsDataCatalog") : "AwsDataCatalog";
      const database = context ? literalField(context, "Database", ctx.databaseName) : ctx.databaseName;
      const output = objectField(r, "ResultConfiguration");
      const outputBucket = output && output.fields.OutputLocation !== undefined ? /^s3:\/\/([^/]+)/.exec(literalField(output, "OutputLocation"))?.[1] : undefined;
      const buckets = [...ctx.athenaBucketArns, ...(outputBucket ? [ctx.globalArn("s3", outputBucket)] : [])];
      return [
        {
          Action: pattern === "sync" ? ["athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution", "athena:GetDataCatalog"] : ["athena:StartQueryExecution", "athena:GetDataCatalog"],
          Resource: [ctx.arn("athena", `workgroup/${workGroup}`), ctx.arn("athena", `datacatalog/${catalog}`)],
        },
        {
          Action: ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload", "s3:PutObject"],
          Resource: [...new Set(buckets.flatMap((b) => [b, `${b}/*`]))],
        },
        {
          Action: ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"],
          Resource: [ctx.arn("glue", "catalog"), ctx.arn("glue", `database/${database}`), ctx.arn("glue", `table/${database}/*`)],
        },
        // Lake Formation's GetDataAccess has no resource-level permissions.
        { Action: ["lakeformation:GetDataAccess"], Resource: ["*"] },
      ];
    },
    target: (r) => `workgroup ${literalField(r, "WorkGroup", "primary")}`,
  },
  "emr-serverless:startJobRun": {
    patterns: ["requestResponse", "sync"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html",
    iam: (r, pattern, ctx) => {
      const application = ctx.arn("emr-serverless", `/applications/${literalField(r, "ApplicationId")}`);
      const role = literalField(r, "ExecutionRoleArn");
      return [
        { Action: ["emr-serverless:StartJobRun"], Resource: [application] },
        ...(pattern === "sync"
          ? [
              { Action: ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"], Resource: [`${application}/jobruns/*`] },
              // The rule Step Functions manages to learn of the run's end.
              { Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"], Resource: [ctx.arn("events", "rule/StepFunctionsGetEventsForEMRServerlessJobRule")] },
            ]
          : []),
        { Action: ["iam:PassRole"], Resource: [role.startsWith("arn:") ? role : ctx.roleArn(role)], Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } } },
      ];
    },
    target: (r) => `application ${literalField(r, "ApplicationId")}`,
  },
  "lambda:invoke": {
    patterns: ["requestResponse", "waitForTaskToken"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html",
    iam: (r, _, ctx) => {
      const fn = lambdaFunctionArn(literalField(r, "FunctionName"), ctx);
      // The function and its versions and aliases (a Qualifier).
      return [{ Action: ["lambda:InvokeFunction"], Resource: [fn, `${fn}:*`] }];
    },
    target: (r) => literalField(r, "FunctionName"),
  },
  "events:putEvents": {
    patterns: ["requestResponse", "waitForTaskToken"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-iam.html",
    // Scoped to the buses the entries name, and to their sources (events:source), so the role cannot pose as
    // another service.
    iam: (r, _, ctx) => {
      const entries = eventEntries(r);
      return [
        {
          Action: ["events:PutEvents"],
          Resource: [...new Set(entries.map((e) => eventBusArn(e.bus, ctx)))],
          Condition: { StringEquals: { "events:source": [...new Set(entries.map((e) => e.source))] } },
        },
      ];
    },
    target: (r) => [...new Set(eventEntries(r).map((e) => e.bus))].join(", "),
  },
  "sns:publish": {
    patterns: ["requestResponse"],
    iamDocs: "https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html",
    iam: (r) => [{ Action: ["sns:Publish"], Resource: [literalField(r, "TopicArn")] }],
    target: (r) => literalField(r, "TopicArn"),
  },
} as const satisfies Record<string, SfnIntegration>;

export type IntegrationApi = keyof typeof SFN_INTEGRATIONS;

/** A Task resource that names a supported integration: its API and pattern. */
export interface ParsedResource {
  readonly api: IntegrationApi;
  readonly pattern: IntegrationPattern;
}

/** Every Task resource accepted (besides the project's activities), as the ASL writes them. */
export const SUPPORTED_RESOURCES: readonly string[] = Object.entries(SFN_INTEGRATIONS).flatMap(([api, i]) =>
  (i.patterns as readonly IntegrationPattern[]).map((p) => `arn:aws:states:::${api}${SUFFIX[p]}`),
);

const RESOURCE = /^arn:aws:states:::([a-z-]+:[A-Za-z]+)(\.sync|\.waitForTaskToken)?$/;

/** The integration a Task resource names, or undefined when it names none that is supported. */
export function parseResource(resource: unknown): ParsedResource | undefined {
  const match = typeof resource === "string" ? RESOURCE.exec(resource) : null;
  if (!match || !Object.hasOwn(SFN_INTEGRATIONS, match[1])) return undefined;
  const api = match[1] as IntegrationApi;
  const pattern: IntegrationPattern = match[2] === ".sync" ? "sync" : match[2] === ".waitForTaskToken" ? "waitForTaskToken" : "requestResponse";
  return (SFN_INTEGRATIONS[api].patterns as readonly IntegrationPattern[]).includes(pattern) ? { api, pattern } : undefined;
}

/** The request of a Task state (Parameters or Arguments). */
export function stateRequest(name: string, state: Record<string, unknown>): StateRequest {
  const field = state.Arguments !== undefined ? "Arguments" : "Parameters";
  const fields = state[field];
  if (fields !== undefined && (fields === null || typeof fields !== "object" || Array.isArray(fields))) throw new IntegrationError(`state '${name}': ${field} must be an object`);
  return { state: name, fields: (fields ?? {}) as Record<string, unknown>, field };
}

/** True when the state hands `$$.Task.Token` (JSONPath) or `$states.context.Task.Token` (JSONata) to its target. */
export function passesTaskToken(state: Record<string, unknown>): boolean {
  const text = JSON.stringify(state.Parameters ?? state.Arguments ?? {});
  return text.includes("$$.Task.Token") || text.includes("$states.context.Task.Token");
}

/** A state's integration, checked: a supported resource, a token for callbacks, fields IAM can be scoped to. */
export function checkIntegrationState(name: string, state: Record<string, unknown>): ParsedResource {
  const parsed = parseResource(state.Resource);
  if (!parsed) {
    throw new IntegrationError(
      `state '${name}': Resource '${String(state.Resource)}' is neither one of the project's activities nor a supported integration. Supported: ${SUPPORTED_RESOURCES.join(", ")}`,
    );
  }
  if (parsed.pattern === "waitForTaskToken" && !passesTaskToken(state)) {
    throw new IntegrationError(`state '${name}': a .waitForTaskToken task must pass the task token to its target ("TaskToken.$": "$$.Task.Token" in its Parameters), or nothing can ever answer it`);
  }
  return parsed;
}

/** "RunPSD" from "Run PSD!": the state's name as an IAM Sid prefix (letters and digits only). */
export const sidOf = (state: string) => state.replace(/[^A-Za-z0-9]/g, "") || "State";

/**
 * The IAM statements of every integration Task state of a definition, state by state: each statement's Sid starts
 * with its state's name (sidOf), so removing a state removes exactly its statements and a diff shows them next to
 * the state. `states` are [name, state] pairs (asl/loader.ts allStates); `isActivity` tells the project's activities.
 */
export function integrationStatements(states: ReadonlyArray<[string, Record<string, any>]>, isActivity: (resource: string) => boolean, ctx: IntegrationIamContext): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const sids = new Set<string>();
  for (const [name, state] of states) {
    if (state.Type !== "Task" || isActivity(state.Resource)) continue;
    const { api, pattern } = checkIntegrationState(name, state);
    const built = SFN_INTEGRATIONS[api].iam(stateRequest(name, state), pattern, ctx);
    built.forEach((s, i) => {
      const sid = built.length > 1 ? `${sidOf(name)}${i + 1}` : sidOf(name);
      if (sids.has(sid)) throw new IntegrationError(`state '${name}': its IAM statement id ${sid} is already another state's (state names differing only in punctuation); rename one of them`);
      sids.add(sid);
      statements.push({ Sid: sid, ...s });
    });
  }
  return statements;
}
