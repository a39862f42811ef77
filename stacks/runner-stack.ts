import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { Construct } from "constructs";
import { resourceNames } from "../core/config";
import { ATHENA_RESULTS_PREFIX } from "../core/job-specs";
import { grantAnnounceRunnerTasks } from "./constructs/default-event-bus";
import { EncryptedTable } from "./constructs/encrypted-table";
import type { EtlStateMachine } from "./constructs/etl-state-machine";
import type { GlueJob } from "./constructs/glue-job";
import { LambdaEventRule } from "./constructs/lambda-event-rule";
import { NodejsFunction } from "./constructs/nodejs-function";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { RUNNER_TABLE } from "../core/table-keys";
import { EMR_APPLICATION_ID_REF, FUNCTIONS, jobsOn, STATE_MACHINE_ARN_REF } from "../core/topology";
import { runnerEngineAccess, type RunnerEngineResources } from "./runner-engines";

export interface RunnerStackProps extends EtlStackProps {
  /** The runner activity (state-machine stack). */
  readonly runnerActivity: SfnActivity;
  /** The workflow (state-machine stack); its tasks are answered by the runner. */
  readonly stateMachine: EtlStateMachine;
  /** The Glue jobs the runner may start (glue stack), by job id; only those of jobs on engine "glue" are granted. */
  readonly jobs: Record<string, GlueJob>;
  /** The data-lake bucket (glue stack): outputs and staging areas of the jobs not on Glue. */
  readonly dataLake: S3Bucket;
  /** The artifact bucket (glue stack): the job specs of the jobs not on Glue. */
  readonly artifacts: S3Bucket;
  /**
   * The Athena workgroup (glue stack), when a job runs on Athena.
   * @default resourceNames().athenaWorkGroup, its ARN in this account and region, results under ATHENA_RESULTS_PREFIX (core/job-specs.ts) of the artifact bucket
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
    const workGroupName = names.athenaWorkGroup;
    const access = runnerEngineAccess(config, names.glueJob, {
      athena: {
        workGroupName,
        workGroupArn: this.arn("athena", `workgroup/${workGroupName}`),
        resultsBucketArn: props.artifacts.arn,
        resultsPrefix: ATHENA_RESULTS_PREFIX,
        ...props.athena,
        catalogArns: [this.arn("glue", "catalog"), this.arn("glue", `database/${config.glue.databaseName}`), this.arn("glue", `table/${config.glue.databaseName}/*`)],
      },
      emrServerless: props.emrServerless,
      dataLakeArn: props.dataLake.arn,
      artifactsArn: props.artifacts.arn,
    });

    const table = new EncryptedTable(this, "runs-table", { tableName: names.runnerTable, keys: RUNNER_TABLE });
    this.runner = NodejsFunction.fromSpec(this, "etl-runner", FUNCTIONS.runner, config, { activityArn: runnerActivity.arn, tableName: table.table.name, artifactBucket: props.artifacts.bucket, dataBucket: props.dataLake.bucket });
    stateMachine.grantTaskResponse(this.runner, [runnerActivity], { policyId: "runner-activity", label: "Runner", heartbeat: true });
    for (const jobId of jobsOn(config, "glue")) {
      const job = props.jobs[jobId];
      if (!job) throw new Error(`runner stack: job ${jobId} runs on glue but the glue stack has no Glue job for it`);
      job.grantStartAndMonitor(this.runner);
    }
    for (const [policy, statements] of Object.entries(access.statements)) this.runner.addToRolePolicy(policy, statements);
    // Only the calls functions/etl-runner makes (no GetItem: reads are Query and Scan).
    table.grantItems(this.runner, "runs-table", "RunItems", ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"]);

    // The next runner task is scheduled right after one succeeds: the runner wakes the next runner itself.
    grantAnnounceRunnerTasks(this.runner, this.arn("events", "event-bus/default"), names);

    // RunnerTaskScheduled, the workflow's RUNNING events, the state changes of each engine in use and the fallback
    // schedule: the rules the topology gives the runner.
    const refs: Record<string, string> = {
      [STATE_MACHINE_ARN_REF]: stateMachine.arn,
      ...(props.emrServerless && { [EMR_APPLICATION_ID_REF]: props.emrServerless.applicationId }),
    };
    LambdaEventRule.forTriggers(this, "runner", this.runner, config, refs);
  }
}
