import type { GlueJob } from "@cdktf/provider-aws/lib/glue-job";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import type { Construct } from "constructs";
import { runnerEnvironment } from "../core/runner-environment";
import { resourceNames } from "../core/config";
import { EncryptedTable } from "./constructs/encrypted-table";
import { LambdaEventRule } from "./constructs/lambda-event-rule";
import { NodejsFunction } from "./constructs/nodejs-function";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { RUNNER_TABLE } from "../core/table-keys";

export interface RunnerStackProps extends EtlStackProps {
  /** The runner activity (state-machine stack). */
  readonly runnerActivity: SfnActivity;
  /** The workflow (state-machine stack); its tasks are answered by the runner. */
  readonly stateMachine: SfnStateMachine;
  /** The Glue jobs the runner may start (glue stack), by job id. */
  readonly jobs: Record<string, GlueJob>;
}

/** The ETL runner: the etl-runner function, its table of active job runs and the rules that wake it. */
export class RunnerStack extends EtlStack {
  readonly runner: NodejsFunction;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { config, runnerActivity, stateMachine } = props;
    const names = resourceNames(config);
    const jobs = Object.values(props.jobs);
    if (jobs.length === 0) throw new Error(`${id}: the runner needs at least one Glue job`);

    const table = new EncryptedTable(this, "runs-table", { tableName: names.runnerTable, keys: RUNNER_TABLE }).table;
    this.runner = new NodejsFunction(this, "etl-runner", {
      entry: "etl-runner",
      functionName: names.runnerFunction,
      description: "Starts the Glue jobs of runner activity tasks and reports their outcome",
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
        logLevel: "INFO",
      }),
    });
    this.runner.addToRolePolicy("runner-activity", [
      { Sid: "PollRunnerTasks", Action: ["states:GetActivityTask"], Resource: [runnerActivity.arn] },
      { Sid: "AnswerRunnerTasks", Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], Resource: [runnerActivity.arn, stateMachine.arn] },
    ]);
    this.runner.addToRolePolicy("glue-jobs", [
      { Sid: "RunProjectJobs", Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], Resource: jobs.map((j) => j.arn) },
    ]);
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
    new LambdaEventRule(this, "glue-job-state-change", {
      ruleName: `${names.runnerFunction}-job-state`,
      description: "A project Glue job changed state",
      target: this.runner,
      eventPattern: { source: ["aws.glue"], "detail-type": ["Glue Job State Change"], detail: { jobName: Object.keys(props.jobs).map(names.glueJob) } },
    });
    new LambdaEventRule(this, "runner-fallback", {
      ruleName: `${names.runnerFunction}-fallback`,
      description: "Fallback wake-up in case a kick or a Glue event is lost",
      target: this.runner,
      scheduleExpression: config.schedules.fallback,
    });
  }
}
