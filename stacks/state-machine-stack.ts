import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { allStates, loadStateMachine } from "../asl/loader";
import { workflowPlaceholders } from "../asl/placeholders";
import { arrivalEnvironment } from "../functions/data-arrival/environment";
import { definitionPath, resourceNames } from "./config";
import { skipLogGroupChecks } from "./constructs/checkov-skip";
import { EncryptedTable } from "./constructs/encrypted-table";
import { LambdaEventRule } from "./constructs/lambda-event-rule";
import { NodejsFunction } from "./constructs/nodejs-function";
import type { SecureBucket } from "./constructs/secure-bucket";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { checkRunnerHeartbeats, checkRunnerTimeouts } from "./heartbeat-check";
import { policyDocument, serviceTrustPolicy, type PolicyStatement } from "./iam-policy";
import { ARRIVAL_TABLE } from "./table-keys";

export interface StateMachineStackProps extends EtlStackProps {
  /** The data-lake bucket (glue stack): its uploads release the "wait for data" tasks. */
  readonly dataLake: SecureBucket;
}

/** Service integrations the workflow may call, with the IAM each needs (the runner and wait activities need none). */
type Integration = (stack: StateMachineStack) => PolicyStatement;
const INTEGRATIONS: Record<string, Integration> = {
  "arn:aws:states:::sns:publish": (s) => ({ Sid: "PublishFailures", Action: ["sns:Publish"], Resource: [s.failureTopic.arn] }),
  "arn:aws:states:::events:putEvents": (s) => ({
    Sid: "PutWorkflowEvents",
    Action: ["events:PutEvents"],
    Resource: [s.arn("events", "event-bus/default")],
    Condition: { StringEquals: { "events:source": [resourceNames(s.config).eventSource] } },
  }),
};

/**
 * The workflow: activities, the state machine (from the ASL file) with its role, logs and tracing,
 * its weekly schedule, the failure topic, and the data-arrival function that releases the
 * "wait for data" tasks (with its table, bucket notification and wake-up rules).
 */
export class StateMachineStack extends EtlStack {
  readonly runnerActivity: SfnActivity;
  readonly waitActivities: Record<string, SfnActivity> = {};
  readonly failureTopic: SnsTopic;
  readonly stateMachine: SfnStateMachine;
  readonly dataArrival: NodejsFunction;

  constructor(scope: Construct, id: string, props: StateMachineStackProps) {
    super(scope, id, props);
    const { config, dataLake } = props;
    const names = resourceNames(config);

    this.runnerActivity = new SfnActivity(this, "runner-activity", { name: names.runnerActivity });
    for (const dataset of Object.keys(config.datasets)) {
      this.waitActivities[dataset] = new SfnActivity(this, `wait-activity-${dataset}`, { name: names.waitActivity(dataset) });
    }

    // AWS-managed key: publishers in this account need no KMS permission.
    this.failureTopic = new SnsTopic(this, "failure-topic", { name: names.failureTopic, kmsMasterKeyId: "alias/aws/sns" });
    if (config.notifications.email) {
      new SnsTopicSubscription(this, "failure-email", { topicArn: this.failureTopic.arn, protocol: "email", endpoint: config.notifications.email });
    }

    this.stateMachine = this.createStateMachine();
    this.createWorkflowSchedule();
    this.dataArrival = this.createDataArrival(dataLake);

    new TerraformOutput(this, "state-machine-arn", { value: this.stateMachine.arn });
    new TerraformOutput(this, "failure-topic-arn", { value: this.failureTopic.arn });
  }

  private createStateMachine(): SfnStateMachine {
    const config = this.config;
    const names = resourceNames(config);
    const file = definitionPath(config);
    // The ASL is loaded with markers in place of the ARNs so that it can be checked by value, then the
    // markers become Terraform references once the rest of the text is escaped for Terraform.
    // Each marker ends with a closing delimiter, so no marker is a prefix of another (`-1-ref` vs `-10-ref`),
    // and all of them are replaced in one pass over the text.
    const references = new Map<string, string>();
    const marker = (kind: "activity" | "sns-topic", reference: string) => {
      const m = `arn:aws:states:${config.region}:000000000000:${kind}:cdktf-reference-${references.size}-ref`;
      references.set(m, reference);
      return m;
    };
    const runnerMarker = marker("activity", this.runnerActivity.arn);
    const waitMarkers = Object.fromEntries(Object.entries(this.waitActivities).map(([d, a]) => [d, marker("activity", a.arn)]));
    const topicMarker = marker("sns-topic", this.failureTopic.arn);
    const loaded = loadStateMachine(
      file,
      workflowPlaceholders(config, { runnerActivityArn: runnerMarker, waitActivityArn: (d) => waitMarkers[d], failureTopicArn: topicMarker }),
    );
    checkRunnerHeartbeats(loaded.definition, runnerMarker, config.schedules.fallback, loaded.file);
    const jobTimeouts = Object.fromEntries(
      Object.entries(config.jobs).map(([id, job]) => [
        names.glueJob(id),
        job.timeoutMinutes === undefined ? { minutes: config.glue.timeoutMinutes, field: "glue.timeoutMinutes" } : { minutes: job.timeoutMinutes, field: `jobs.${id}.timeoutMinutes` },
      ]),
    );
    checkRunnerTimeouts(loaded.definition, runnerMarker, jobTimeouts, loaded.file);

    // Least privilege: a statement per service integration the definition uses; an unknown one fails the synth.
    const activityMarkers = new Set([runnerMarker, ...Object.values(waitMarkers)]);
    const statements = new Map<string, PolicyStatement>();
    for (const [name, state] of allStates(loaded.definition)) {
      if (state.Type !== "Task" || activityMarkers.has(state.Resource)) continue;
      const integration = INTEGRATIONS[state.Resource];
      if (!integration)
        throw new Error(`${loaded.file}: state '${name}': Resource '${state.Resource}' is neither one of the project's activities nor a supported integration (${Object.keys(INTEGRATIONS).join(", ")}); add its IAM to stacks/state-machine-stack.ts`);
      statements.set(state.Resource, integration(this));
    }

    // "${" and "%{" start Terraform templates: escape them so they stay literal.
    let definition = loaded.json.replace(/([$%])\{/g, (_, c: string) => `${c}${c}{`);
    const markerPattern = /arn:aws:states:[a-z0-9-]+:000000000000:(?:activity|sns-topic):cdktf-reference-\d+-ref/g;
    definition = definition.replace(markerPattern, (m) => {
      const reference = references.get(m);
      if (reference === undefined) throw new Error(`${loaded.file}: '${m}' looks like a synth-time reference marker but is not one of this stack's`);
      return reference;
    });

    const logGroup = new CloudwatchLogGroup(this, "state-machine-logs", {
      name: `/aws/vendedlogs/states/${names.stateMachine}`,
      retentionInDays: config.logRetentionDays,
    });
    skipLogGroupChecks(logGroup, config.logRetentionDays);
    const role = new IamRole(this, "state-machine-role", {
      name: `${names.stateMachine}-role`,
      description: `Role of the ${names.stateMachine} state machine`,
      assumeRolePolicy: serviceTrustPolicy("states.amazonaws.com", this.accountId),
    });
    const policy = new IamRolePolicy(this, "state-machine-policy", {
      role: role.id,
      name: "workflow",
      policy: policyDocument([
        ...statements.values(),
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
    return new SfnStateMachine(this, "state-machine", {
      name: names.stateMachine,
      type: "STANDARD",
      roleArn: role.arn,
      definition,
      loggingConfiguration: { logDestination: `${logGroup.arn}:*`, includeExecutionData: true, level: config.stateMachine.logLevel },
      tracingConfiguration: { enabled: config.stateMachine.tracing },
      dependsOn: [policy],
    });
  }

  /** The weekly start; kept but disabled when schedules.workflowEnabled is false, so switching is a one-line diff. */
  private createWorkflowSchedule(): void {
    const names = resourceNames(this.config);
    const rule = new CloudwatchEventRule(this, "workflow-schedule", {
      name: `${names.stateMachine}-schedule`,
      description: `Starts ${names.stateMachine}`,
      scheduleExpression: this.config.schedules.workflow,
      state: this.config.schedules.workflowEnabled ? "ENABLED" : "DISABLED",
    });
    const role = new IamRole(this, "workflow-schedule-role", {
      name: `${names.stateMachine}-schedule`,
      description: `Lets EventBridge start ${names.stateMachine}`,
      assumeRolePolicy: serviceTrustPolicy("events.amazonaws.com", this.accountId),
    });
    new IamRolePolicy(this, "workflow-schedule-policy", {
      role: role.id,
      name: "start-execution",
      policy: policyDocument([{ Sid: "StartWorkflow", Action: ["states:StartExecution"], Resource: [this.stateMachine.arn] }]),
    });
    new CloudwatchEventTarget(this, "workflow-schedule-target", { rule: rule.name, arn: this.stateMachine.arn, roleArn: role.arn, input: "{}" });
  }

  private createDataArrival(dataLake: SecureBucket): NodejsFunction {
    const config = this.config;
    const names = resourceNames(config);
    const table = new EncryptedTable(this, "arrival-table", { tableName: names.arrivalTable, keys: ARRIVAL_TABLE }).table;
    const datasets = Object.fromEntries(Object.entries(config.datasets).map(([d, c]) => [d, { prefix: c.prefix, activityArn: this.waitActivities[d].arn }]));
    const fn = new NodejsFunction(this, "data-arrival", {
      entry: "data-arrival",
      functionName: names.dataArrivalFunction,
      description: "Records dataset uploads and releases the matching 'wait for data' tasks",
      memorySize: config.dataArrival.memoryMb,
      timeoutSeconds: config.dataArrival.timeoutSeconds,
      logRetentionDays: config.logRetentionDays,
      environment: arrivalEnvironment({
        tableName: table.name,
        datasets,
        dataBucket: dataLake.bucket.bucket,
        arrivalTtlDays: config.dataArrival.arrivalTtlDays,
        logLevel: "INFO",
      }),
    });
    const waitArns = Object.values(this.waitActivities).map((a) => a.arn);
    // Only the calls functions/data-arrival makes: it never heartbeats (a wait task has no HeartbeatSeconds) and reads by Query.
    fn.addToRolePolicy("wait-activities", [
      { Sid: "PollWaitTasks", Action: ["states:GetActivityTask"], Resource: waitArns },
      { Sid: "AnswerWaitTasks", Action: ["states:SendTaskSuccess", "states:SendTaskFailure"], Resource: [...waitArns, this.stateMachine.arn] },
    ]);
    fn.addToRolePolicy("arrival-table", [
      { Sid: "ArrivalItems", Action: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"], Resource: [table.arn] },
    ]);

    const permission = new LambdaPermission(this, "data-arrival-s3-permission", {
      action: "lambda:InvokeFunction",
      functionName: fn.function.functionName,
      principal: "s3.amazonaws.com",
      sourceArn: dataLake.bucket.arn,
      sourceAccount: this.accountId,
    });
    // The bucket's only notification configuration (S3 allows one per bucket): it lives here, next to its target.
    new S3BucketNotification(this, "data-lake-uploads", {
      bucket: dataLake.bucket.id,
      lambdaFunction: Object.entries(config.datasets).map(([dataset, d]) => ({
        id: `upload-${dataset}`,
        lambdaFunctionArn: fn.arn,
        events: ["s3:ObjectCreated:*"],
        filterPrefix: d.prefix,
      })),
      dependsOn: [permission],
    });

    new LambdaEventRule(this, "data-arrival-kick", {
      ruleName: `${names.dataArrivalFunction}-kick`,
      description: "A wait task is about to be scheduled",
      target: fn,
      eventPattern: { source: [names.eventSource], "detail-type": ["WaitTaskScheduled"] },
    });
    new LambdaEventRule(this, "data-arrival-fallback", {
      ruleName: `${names.dataArrivalFunction}-fallback`,
      description: "Fallback wake-up in case a kick is lost",
      target: fn,
      scheduleExpression: config.schedules.fallback,
    });
    return fn;
  }
}
