import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { loadWorkflow } from "../asl/consistency";
import { allStates, AslError } from "../asl/loader";
import { resourceNames } from "../core/config";
import { DataArrival } from "./constructs/data-arrival";
import { skipLogGroupChecks } from "./constructs/checkov-skip";
import { FailureNotification } from "./constructs/failure-notification";
import type { SecureBucket } from "./constructs/secure-bucket";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { checkRunnerHeartbeats, checkRunnerTimeouts } from "./heartbeat-check";
import { policyDocument, serviceTrustPolicy, type PolicyStatement } from "./iam-policy";
import { FAILURE_NOTIFICATION } from "../core/topology";
import { IntegrationError, integrationStatements } from "../core/sfn-integrations";

export interface StateMachineStackProps extends EtlStackProps {
  /** The data-lake bucket (glue stack): its uploads release the "wait for data" tasks. */
  readonly dataLake: SecureBucket;
  /**
   * The EMR Serverless application and job role, for Task states that start job runs on it
   * (`${EmrApplicationId}`, `${EmrJobRoleArn}`).
   * @default none: those placeholders are unknown
   */
  readonly emrServerless?: { readonly applicationId: string; readonly jobRoleArn: string };
}

/**
 * The workflow: activities, the state machine (from the ASL file) with its role, logs and tracing,
 * its weekly schedule, the failure topic with its notification rule, and the data-arrival function that releases the
 * "wait for data" tasks (with its table, bucket notification and wake-up rules).
 */
export class StateMachineStack extends EtlStack {
  readonly runnerActivity: SfnActivity;
  readonly waitActivities: Record<string, SfnActivity> = {};
  readonly failureTopic: SnsTopic;
  readonly stateMachine: SfnStateMachine;
  readonly dataArrival: DataArrival;

  constructor(scope: Construct, id: string, props: StateMachineStackProps) {
    super(scope, id, props);
    const { config, dataLake } = props;
    const names = resourceNames(config);

    this.runnerActivity = new SfnActivity(this, "runner-activity", { name: names.runnerActivity });
    for (const dataset of Object.keys(config.datasets)) {
      this.waitActivities[dataset] = new SfnActivity(this, `wait-activity-${dataset}`, { name: names.waitActivity(dataset) });
    }

    // Every failed or timed-out execution notifies, from Step Functions' own status-change event (not from the ASL:
    // a failed execution must stop at the failed job, where RedriveExecution resumes).
    this.failureTopic = new FailureNotification(this, FAILURE_NOTIFICATION.id, {
      config,
      stateMachineArn: this.arn("states", `stateMachine:${names.stateMachine}`),
      accountId: this.accountId,
      partition: this.partition,
    }).topic;

    this.stateMachine = this.createStateMachine(props);
    this.createWorkflowSchedule();
    // Id "Default" is left out of Terraform addresses: the pieces keep the addresses they had in the stack itself.
    this.dataArrival = new DataArrival(this, "Default", {
      config,
      dataLake,
      waitActivities: this.waitActivities,
      stateMachine: this.stateMachine,
      accountId: this.accountId,
      eventBusArn: this.arn("events", "event-bus/default"),
    });

    new TerraformOutput(this, "state-machine-arn", { value: this.stateMachine.arn });
    new TerraformOutput(this, "failure-topic-arn", { value: this.failureTopic.arn });
  }

  private createStateMachine(props: StateMachineStackProps): SfnStateMachine {
    const config = this.config;
    const names = resourceNames(config);
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
    const runnerMarker = marker("activity", this.runnerActivity.arn);
    const waitMarkers = Object.fromEntries(Object.entries(this.waitActivities).map(([d, a]) => [d, marker("activity", a.arn)]));
    const topicMarker = marker("sns-topic", this.failureTopic.arn);
    const emr = props.emrServerless;
    const loaded = loadWorkflow(config, {
      runnerActivityArn: runnerMarker,
      waitActivityArn: (d) => waitMarkers[d],
      failureTopicArn: topicMarker,
      ...(emr && { emrApplicationId: marker("reference", emr.applicationId), emrJobRoleArn: marker("reference", emr.jobRoleArn) }),
    });
    checkRunnerHeartbeats(loaded.definition, runnerMarker, config.schedules.fallback, loaded.file);
    const jobTimeouts = Object.fromEntries(
      Object.entries(config.jobs).map(([id, job]) => [
        names.glueJob(id),
        job.timeoutMinutes === undefined ? { minutes: config.glue.timeoutMinutes, field: "glue.timeoutMinutes" } : { minutes: job.timeoutMinutes, field: `jobs.${id}.timeoutMinutes` },
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
        arn: (service, resource) => this.arn(service, resource),
        globalArn: (service, resource) => `arn:${this.partition}:${service}:::${resource}`,
        roleArn: (role) => `arn:${this.partition}:iam::${this.accountId}:role/${role}`,
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
}
