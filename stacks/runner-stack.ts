import type { GlueJob } from "@cdktf/provider-aws/lib/glue-job";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import type { Construct } from "constructs";
import { resourceNames } from "../core/config";
import { EncryptedTable } from "./constructs/encrypted-table";
import { LambdaEventRule } from "./constructs/lambda-event-rule";
import { NodejsFunction } from "./constructs/nodejs-function";
import { EtlStack, type EtlStackProps } from "./etl-stack";
import { RUNNER_TABLE } from "../core/table-keys";
import { FUNCTIONS } from "../core/topology";

export interface RunnerStackProps extends EtlStackProps {
  /** The runner activity (state-machine stack). */
  readonly runnerActivity: SfnActivity;
  /** The workflow (state-machine stack); its tasks are answered by the runner. */
  readonly stateMachine: SfnStateMachine;
  /** The Glue jobs the runner may start (glue stack), by job id. */
  readonly jobs: Record<string, GlueJob>;
}

/** The ETL runner: the glue-runner function, its table of active job runs and the rules that wake it. */
export class RunnerStack extends EtlStack {
  readonly runner: NodejsFunction;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { config, runnerActivity, stateMachine } = props;
    const names = resourceNames(config);
    const jobs = Object.values(props.jobs);
    if (jobs.length === 0) throw new Error(`${id}: the runner needs at least one Glue job`);

    const table = new EncryptedTable(this, "runs-table", { tableName: names.runnerTable, keys: RUNNER_TABLE }).table;
    this.runner = NodejsFunction.fromSpec(this, "glue-runner", FUNCTIONS.runner, config, { activityArn: runnerActivity.arn, tableName: table.name });
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
        // Only the calls functions/glue-runner makes (no GetItem: reads are Query and Scan).
        Action: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"],
        Resource: [table.arn],
      },
    ]);

    // Kicks, Glue state changes and the fallback schedule: the rules the topology gives the runner.
    LambdaEventRule.forTriggers(this, "runner", this.runner, config);
  }
}
