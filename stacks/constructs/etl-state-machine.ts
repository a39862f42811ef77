import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import type { TerraformResource } from "cdktf";
import { Construct } from "constructs";
import { loadWorkflow } from "../../asl/consistency";
import { checkRunnerHeartbeats, checkRunnerTimeouts } from "../../asl/heartbeat-check";
import { allStates, AslError } from "../../asl/loader";
import { resourceNames, type EtlConfig } from "../../core/config";
import { IntegrationError, integrationStatements } from "../../core/sfn-integrations";
import { policyDocument, serviceTrustPolicy, type PolicyStatement } from "../iam-policy";
import { skipLogGroupChecks } from "./checkov-skip";
import type { Grantee } from "./grantee";
import type { SecureBucket } from "./secure-bucket";

export interface EtlStateMachineProps {
  /** The configuration: the ASL file, names, log level and retention, tracing, schedules, job timeouts. */
  readonly config: EtlConfig;
  /** The runner activity (`${RunnerActivityArn}` in the ASL). */
  readonly runnerActivity: SfnActivity;
  /** The "wait for data" activity of each dataset (`${WaitActivityArn.<dataset>}`); every configured dataset needs one. */
  readonly waitActivities: Readonly<Record<string, SfnActivity>>;
  /** The failure topic (`${FailureTopicArn}`). */
  readonly failureTopicArn: string;
  /** The data-lake bucket: the buckets Athena Task states may read and write. */
  readonly dataLake: SecureBucket;
  /**
   * The EMR Serverless application and job role, for Task states that start job runs on it
   * (`${EmrApplicationId}`, `${EmrJobRoleArn}`).
   * @default none: those placeholders are unknown
   */
  readonly emrServerless?: { readonly applicationId: string; readonly jobRoleArn: string };
  /**
   * Give the resources the Terraform addresses the state-machine stack gave them before this construct existed
   * (`aws_sfn_state_machine.state-machine`, `aws_iam_role.state-machine-role`, ...), so that a deployment made
   * before updates them in place. At most one such construct per stack.
   * @default false: addresses derived from the construct's path
   */
  readonly stackAddresses?: boolean;
  /** The account and partition of the stack, for the ARNs the integrations' IAM names. */
  readonly accountId: string;
  readonly partition: string;
}

/** What an activity-task grant covers: the tasks of `activities`, answered for `stateMachineArn`. */
export interface ActivityTaskGrant {
  readonly stateMachineArn: string;
  readonly activityArns: readonly string[];
  /** Inline policy name, e.g. "runner-activity". */
  readonly policyId: string;
  /** Names the statements: Poll<label>Tasks, Answer<label>Tasks. */
  readonly label: string;
  /** The worker sends heartbeats (SendTaskHeartbeat). @default false */
  readonly heartbeat?: boolean;
}

/**
 * Lets `grantee` poll activities and answer their tasks (success, failure, and heartbeats when asked). For callers
 * that hold the state machine's ARN rather than the construct (DataArrival); EtlStateMachine.grantTaskResponse wraps it.
 */
export function grantActivityTasks(grantee: Grantee, grant: ActivityTaskGrant): void {
  if (grant.activityArns.length === 0) throw new Error(`grant ${grant.policyId}: needs at least one activity`);
  if (!/^[A-Za-z0-9]+$/.test(grant.label)) throw new Error(`grant ${grant.policyId}: label '${grant.label}' must be letters and digits (it names the statements)`);
  const arns = [...grant.activityArns];
  grantee.addToRolePolicy(grant.policyId, [
    { Sid: `Poll${grant.label}Tasks`, Action: ["states:GetActivityTask"], Resource: arns },
    {
      Sid: `Answer${grant.label}Tasks`,
      Action: ["states:SendTaskSuccess", "states:SendTaskFailure", ...(grant.heartbeat ? ["states:SendTaskHeartbeat"] : [])],
      Resource: [...arns, grant.stateMachineArn],
    },
  ]);
}

/**
 * The workflow's state machine (STANDARD): its definition is the ASL file of the configuration, loaded and checked
 * by asl/ (placeholders filled with the activities', topic's and EMR application's references, runner heartbeats
 * and timeouts checked against the schedules and job timeouts); its role gets, state by state, the IAM each
 * service integration needs (core/sfn-integrations.ts), plus log delivery and tracing; its execution logs go to a
 * log group of their own.
 *
 */
export class EtlStateMachine extends Construct {
  readonly stateMachine: SfnStateMachine;
  readonly role: IamRole;
  /** The role's inline policy "workflow". */
  readonly policy: IamRolePolicy;
  readonly logGroup: CloudwatchLogGroup;
  /** The ASL file the definition comes from. */
  readonly file: string;

  constructor(scope: Construct, id: string, props: EtlStateMachineProps) {
    super(scope, id);
    const { config, accountId, partition } = props;
    const names = resourceNames(config);
    const missing = Object.keys(config.datasets).filter((d) => !props.waitActivities[d]);
    if (missing.length) throw new Error(`${this.node.path}: no wait activity for dataset ${missing.join(", ")}`);
    if (!props.failureTopicArn) throw new Error(`${this.node.path}: failureTopicArn is required`);
    const arn = (service: string, resource: string) => `arn:${partition}:${service}:${config.region}:${accountId}:${resource}`;

    // The ASL is loaded with markers in place of the ARNs so that it can be checked by value, then the
    // markers become Terraform references once the rest of the text is escaped for Terraform.
    // Each marker ends with a closing delimiter, so no marker is a prefix of another (`-1-ref` vs `-10-ref`),
    // and all of them are replaced in one pass over the text.
    const references = new Map<string, string>();
    const marker = (kind: "activity" | "sns-topic" | "reference", reference: string) => {
      const m = `arn:aws:states:${config.region}:000000000000:${kind}:cdktf-reference-${references.size}-ref`;
      references.set(m, reference);
      return m;
    };
    const runnerMarker = marker("activity", props.runnerActivity.arn);
    const waitMarkers = Object.fromEntries(Object.entries(props.waitActivities).map(([d, a]) => [d, marker("activity", a.arn)]));
    const topicMarker = marker("sns-topic", props.failureTopicArn);
    const emr = props.emrServerless;
    const loaded = loadWorkflow(config, {
      runnerActivityArn: runnerMarker,
      waitActivityArn: (d) => waitMarkers[d],
      failureTopicArn: topicMarker,
      ...(emr && { emrApplicationId: marker("reference", emr.applicationId), emrJobRoleArn: marker("reference", emr.jobRoleArn) }),
    });
    this.file = loaded.file;
    checkRunnerHeartbeats(loaded.definition, runnerMarker, config.schedules.fallback, loaded.file);
    const jobTimeouts = Object.fromEntries(
      Object.entries(config.jobs).map(([jobId, job]) => [
        names.glueJob(jobId),
        job.timeoutMinutes === undefined ? { minutes: config.glue.timeoutMinutes, field: "glue.timeoutMinutes" } : { minutes: job.timeoutMinutes, field: `jobs.${jobId}.timeoutMinutes` },
      ]),
    );
    checkRunnerTimeouts(loaded.definition, runnerMarker, jobTimeouts, loaded.file);

    // Least privilege, state by state: each integration Task state gets the actions AWS documents for its API and
    // pattern, on the resources it names (core/sfn-integrations.ts); an unsupported resource fails the synth.
    const activityMarkers = new Set([runnerMarker, ...Object.values(waitMarkers)]);
    const markerPattern = /arn:aws:states:[a-z0-9-]+:000000000000:(?:activity|sns-topic|reference):cdktf-reference-\d+-ref/g;
    const toReferences = (text: string) =>
      text.replace(markerPattern, (m) => {
        const reference = references.get(m);
        if (reference === undefined) throw new Error(`${loaded.file}: '${m}' looks like a synth-time reference marker but is not one of this stack's`);
        return reference;
      });
    let statements: PolicyStatement[];
    try {
      statements = integrationStatements(allStates(loaded.definition), (resource) => activityMarkers.has(resource), {
        arn,
        globalArn: (service, resource) => `arn:${partition}:${service}:::${resource}`,
        roleArn: (role) => `arn:${partition}:iam::${accountId}:role/${role}`,
        databaseName: config.glue.databaseName,
        athenaBucketArns: [props.dataLake.bucket.arn],
      });
    } catch (e) {
      if (e instanceof IntegrationError) throw new AslError(`${loaded.file}: ${e.message}`);
      throw e;
    }
    statements = JSON.parse(toReferences(JSON.stringify(statements))) as PolicyStatement[];

    // "${" and "%{" start Terraform templates: escape them so they stay literal.
    const definition = toReferences(loaded.json.replace(/([$%])\{/g, (_, c: string) => `${c}${c}{`));

    this.logGroup = new CloudwatchLogGroup(this, "state-machine-logs", {
      name: `/aws/vendedlogs/states/${names.stateMachine}`,
      retentionInDays: config.logRetentionDays,
    });
    // The address is fixed before anything references the resource (a reference reads it).
    const keepAddress = (resource: TerraformResource) => props.stackAddresses && resource.overrideLogicalId(resource.node.id);
    keepAddress(this.logGroup);
    skipLogGroupChecks(this.logGroup, config.logRetentionDays);
    this.role = new IamRole(this, "state-machine-role", {
      name: `${names.stateMachine}-role`,
      description: `Role of the ${names.stateMachine} state machine`,
      assumeRolePolicy: serviceTrustPolicy("states.amazonaws.com", accountId),
    });
    keepAddress(this.role);
    this.policy = new IamRolePolicy(this, "state-machine-policy", {
      role: this.role.id,
      name: "workflow",
      policy: policyDocument([
        ...statements,
        // Log delivery and X-Ray actions accept no resource ARN.
        {
          Sid: "LogDelivery",
          Action: [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
          ],
          Resource: ["*"],
        },
        ...(config.stateMachine.tracing
          ? [{ Sid: "Tracing", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], Resource: ["*"] }]
          : []),
      ]),
    });
    keepAddress(this.policy);
    this.stateMachine = new SfnStateMachine(this, "state-machine", {
      name: names.stateMachine,
      type: "STANDARD",
      roleArn: this.role.arn,
      definition,
      loggingConfiguration: { logDestination: `${this.logGroup.arn}:*`, includeExecutionData: true, level: config.stateMachine.logLevel },
      tracingConfiguration: { enabled: config.stateMachine.tracing },
      dependsOn: [this.policy],
    });
    keepAddress(this.stateMachine);
  }

  get arn(): string {
    return this.stateMachine.arn;
  }

  /** Lets `grantee` start executions of this state machine (inline policy "start-execution"). */
  grantStartExecution(grantee: Grantee): void {
    grantee.addToRolePolicy("start-execution", [{ Sid: "StartWorkflow", Action: ["states:StartExecution"], Resource: [this.arn] }]);
  }

  /**
   * Lets `grantee` work the tasks of `activities` in this state machine's executions: poll them and answer them
   * (and send heartbeats with `heartbeat`), in inline policy `policyId` with statements Poll<label>Tasks and
   * Answer<label>Tasks.
   */
  grantTaskResponse(grantee: Grantee, activities: readonly SfnActivity[], options: Omit<ActivityTaskGrant, "stateMachineArn" | "activityArns">): void {
    grantActivityTasks(grantee, { ...options, stateMachineArn: this.arn, activityArns: activities.map((a) => a.arn) });
  }
}
