import { expect } from "chai";
import { RUNNER_TABLE } from "../../core/table-keys";
import { type EtlConfig, resourceNames } from "../../core/config";
import { stackIds } from "../../stacks/app";
import { EMR_APPLICATION_ID_REF, jobsOn, resolveTriggers, STATE_MACHINE_ARN_REF } from "../../core/topology";
import { resources, resourceWith, synthFile, type TfJson } from "./synth";

describe("runner stack (active configuration)", () => {
  let runner: TfJson;
  let statements: any[];
  let config: EtlConfig;
  let names: ReturnType<typeof resourceNames>;
  let ids: ReturnType<typeof stackIds>;
  before(() => {
    ({ runner, config } = synthFile());
    names = resourceNames(config);
    ids = stackIds(config);
    statements = Object.values(resources(runner, "aws_iam_role_policy")).flatMap((p) => JSON.parse(p.policy).Statement);
  });
  const sid = (s: string) => statements.find((x) => x.Sid === s);
  const remote = (stack: string) => new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stack}\\.outputs\\..+\\}$`);

  it("has the active-job-runs table keyed by job name and task id", () => {
    const table = resourceWith(runner, "aws_dynamodb_table", "name", names.runnerTable);
    expect(table).to.include({ hash_key: RUNNER_TABLE.partitionKey, range_key: RUNNER_TABLE.sortKey, billing_mode: "PAY_PER_REQUEST" });
    expect(table.attribute).to.deep.equal([
      { name: "jobName", type: "S" },
      { name: "taskId", type: "S" },
    ]);
  });

  it("deploys the etl-runner function with the contract's environment and a timeout above the 60 s long-poll", () => {
    const fn = resourceWith(runner, "aws_lambda_function", "function_name", names.runnerFunction);
    expect(fn.timeout).to.equal(config.runner.timeoutSeconds).and.be.greaterThan(60);
    expect(fn.memory_size).to.equal(config.runner.memoryMb);
    const env = fn.environment.variables;
    // JOB_SPECS_URI only when a job runs elsewhere than on Glue.
    const staged = Object.values(config.jobs).some((j) => j.engine !== "glue");
    // GLUE_COUNTS_URIS only when a job runs on Glue.
    const onGlue = Object.values(config.jobs).some((j) => j.engine === "glue");
    expect(Object.keys(env).sort()).to.deep.equal(
      [
        "ACTIVITY_ARN",
        "ENGINE_CONCURRENCY",
        "EVENT_SOURCE",
        ...(onGlue ? ["GLUE_COUNTS_URIS"] : []),
        "JOB_ENGINES",
        ...(staged ? ["JOB_SPECS_URI"] : []),
        "MAX_TASKS_PER_INVOCATION",
        "NODE_OPTIONS",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_SERVICE_NAME",
        "RUN_TTL_DAYS",
        "TABLE_NAME",
      ].sort(),
    );
    if (staged) expect(env.JOB_SPECS_URI).to.match(new RegExp(`^s3://.*/${config.artifacts.scriptsPrefix}jobs/$`));
    expect(env.ACTIVITY_ARN).to.match(remote(ids.stateMachine));
    expect(env).to.include({
      RUN_TTL_DAYS: String(config.runner.runTtlDays),
      MAX_TASKS_PER_INVOCATION: String(config.runner.maxTasksPerInvocation),
      ENGINE_CONCURRENCY: String(config.runner.engineConcurrency),
      POWERTOOLS_SERVICE_NAME: "etl-runner",
    });
    // Every job's engine by job name.
    expect(JSON.parse(env.JOB_ENGINES)).to.deep.equal(Object.fromEntries(Object.entries(config.jobs).map(([id, job]) => [names.glueJob(id), job.engine])));
  });

  it("scopes the runner's IAM to its activity, the project's jobs and its table", () => {
    expect(sid("PollRunnerTasks").Action).to.deep.equal(["states:GetActivityTask"]);
    expect(sid("PollRunnerTasks").Resource).to.have.length(1);
    expect(sid("PollRunnerTasks").Resource[0]).to.match(remote(ids.stateMachine));
    expect(sid("AnswerRunnerTasks").Action).to.deep.equal(["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]);
    expect(sid("RunProjectJobs").Action).to.deep.equal(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]);
    expect(sid("RunProjectJobs").Resource).to.have.length(jobsOn(synthFile().config, "glue").length);
    for (const arn of sid("RunProjectJobs").Resource) expect(arn).to.match(remote(ids.glue));
    expect(sid("RunItems").Action).to.have.members(["dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]);
    expect(sid("RunItems").Resource).to.deep.equal([`\${aws_dynamodb_table.${Object.keys(resources(runner, "aws_dynamodb_table"))[0]}.arn}`]);
  });

  it("wakes the runner on RunnerTaskScheduled, on the state changes of its jobs' engines and on the fallback schedule", () => {
    const pattern = (name: string) => JSON.parse(resourceWith(runner, "aws_cloudwatch_event_rule", "name", name).event_pattern);
    expect(pattern(`${names.runnerFunction}-kick`)).to.deep.equal({ source: [names.eventSource], "detail-type": ["RunnerTaskScheduled"] });
    expect(pattern(`${names.runnerFunction}-job-state`)).to.deep.equal({
      source: ["aws.glue"],
      "detail-type": ["Glue Job State Change"],
      detail: { jobName: jobsOn(config, "glue").map(resourceNames(config).glueJob) },
    });
    expect(resourceWith(runner, "aws_cloudwatch_event_rule", "name", `${names.runnerFunction}-fallback`).schedule_expression).to.equal(config.schedules.fallback);
    const permissions = Object.values(resources(runner, "aws_lambda_permission"));
    expect(permissions).to.have.length(resolveTriggers(config, { [STATE_MACHINE_ARN_REF]: "arn", [EMR_APPLICATION_ID_REF]: "application-id" }, "runner").length);
    const ruleArns = Object.keys(resources(runner, "aws_cloudwatch_event_rule")).map((id) => `\${aws_cloudwatch_event_rule.${id}.arn}`);
    expect(permissions.map((p) => p.source_arn).sort()).to.deep.equal(ruleArns.sort());
  });
});
