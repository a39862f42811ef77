import type { GlueJob } from "@cdktf/provider-aws/lib/glue-job";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import type { Construct } from "constructs";
import { runnerEnvironment, runnerJobs } from "../core/runner-environment";
import { resourceNames } from "../core/config";
import { EncryptedTable } from "./constructs/encrypted-table";
import { LambdaEventRule } from "./constructs/lambda-event-rule";
import { NodejsFunction } from "./constructs/nodejs-function";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { RUNNER_TABLE } from "../core/table-keys";
import { runnerEngineAccess, type RunnerEngineResources } from "./runner-engines";

export interface RunnerStackProps extends EtlStackProps {
  /** The runner activity (state-machine stack). */
  readonly runnerActivity: SfnActivity;
  /** The workflow (state-machine stack); its tasks are answered by the runner. */
  readonly stateMachine: SfnStateMachine;
  /** The Glue jobs the runner may start (glue stack), by job id; only those of jobs on engine "glue" are granted. */
  readonly jobs: Record<string, GlueJob>;
  /** The data-lake bucket (glue stack): outputs and staging areas of the jobs not on Glue. */
  readonly dataLake: S3Bucket;
  /** The artifact bucket (glue stack): the job specs of the jobs not on Glue. */
  readonly artifacts: S3Bucket;
  /**
   * The Athena workgroup (glue stack), when a job runs on Athena.
   * @default the name `<prefix>-etl`, its ARN in this account and region, results under `athena-results/` of the artifact bucket
   */
  readonly athena?: Omit<NonNullable<RunnerEngineResources["athena"]>, "catalogArns">;
  /** The EMR Serverless application and job role (glue stack); required when a job runs on EMR Serverless. */
  readonly emrServerless?: RunnerEngineResources["emrServerless"];
}

/**
 * The ETL runner: the etl-runner function, its table of active job runs and the rules that wake it, with IAM and
 * state-change rules for exactly the engines the configuration's jobs use.
 */
export class RunnerStack extends EtlStack {
  readonly runner: NodejsFunction;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { config, runnerActivity, stateMachine } = props;
    const names = resourceNames(config);
    const workGroupName = `${names.prefix}-etl`; // resourceNames().athenaWorkGroup once the engines' infrastructure lands
    const access = runnerEngineAccess(config, names.glueJob, {
      glueJobs: Object.fromEntries(Object.entries(props.jobs).map(([job, resource]) => [job, { arn: resource.arn, name: resource.name }])),
      athena: {
        workGroupName,
        workGroupArn: this.arn("athena", `workgroup/${workGroupName}`),
        resultsBucketArn: props.artifacts.arn,
        resultsPrefix: "athena-results/",
        ...props.athena,
        catalogArns: [this.arn("glue", "catalog"), this.arn("glue", `database/${config.glue.databaseName}`), this.arn("glue", `table/${config.glue.databaseName}/*`)],
      },
      emrServerless: props.emrServerless,
      dataLakeArn: props.dataLake.arn,
      artifactsArn: props.artifacts.arn,
    });

    const table = new EncryptedTable(this, "runs-table", { tableName: names.runnerTable, keys: RUNNER_TABLE }).table;
    this.runner = new NodejsFunction(this, "etl-runner", {
      entry: "etl-runner",
      functionName: names.runnerFunction,
      description: "Starts the runs of runner activity tasks on their engines and reports their outcome",
      memorySize: config.runner.memoryMb,
      // Outlives the 60 s activity long-poll (the configuration enforces at least 90 s).
      timeoutSeconds: config.runner.timeoutSeconds,
      logRetentionDays: config.logRetentionDays,
      environment: runnerEnvironment({
        activityArn: runnerActivity.arn,
        tableName: table.name,
        runTtlDays: config.runner.runTtlDays,
        maxTasksPerInvocation: config.runner.maxTasksPerInvocation,
        engineConcurrency: config.runner.engineConcurrency,
        ...runnerJobs(config, names.glueJob, props.artifacts.bucket),
        logLevel: "INFO",
      }),
    });
    this.runner.addToRolePolicy("runner-activity", [
      { Sid: "PollRunnerTasks", Action: ["states:GetActivityTask"], Resource: [runnerActivity.arn] },
      { Sid: "AnswerRunnerTasks", Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], Resource: [runnerActivity.arn, stateMachine.arn] },
    ]);
    for (const [policy, statements] of Object.entries(access.statements)) this.runner.addToRolePolicy(policy, statements);
    this.runner.addToRolePolicy("runs-table", [
      {
        Sid: "RunItems",
        // Only the calls functions/etl-runner makes (no GetItem: reads are Query and Scan).
        Action: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"],
        Resource: [table.arn],
      },
    ]);

    new LambdaEventRule(this, "runner-kick", {
      ruleName: `${names.runnerFunction}-kick`,
      description: "A runner task is about to be scheduled",
      target: this.runner,
      eventPattern: { source: [names.eventSource], "detail-type": ["RunnerTaskScheduled"] },
    });
    for (const rule of access.rules)
      new LambdaEventRule(this, rule.id, { ruleName: `${names.runnerFunction}-${rule.nameSuffix}`, description: rule.description, target: this.runner, eventPattern: rule.eventPattern });
    new LambdaEventRule(this, "runner-fallback", {
      ruleName: `${names.runnerFunction}-fallback`,
      description: "Fallback wake-up in case a kick or a state-change event is lost",
      target: this.runner,
      scheduleExpression: config.schedules.fallback,
    });
  }
}
