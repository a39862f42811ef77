import { expect } from "chai";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { allStates } from "../../asl/loader";
import { definitionPath, type EtlConfig, resourceNames } from "../../core/config";
import { ARRIVAL_TABLE } from "../../core/table-keys";
import { stackIds } from "../../stacks/app";
import { workflowTasks } from "../support/workflow";
import { buildAppCheaply, resources, resourceWith, synthConfig, synthFile, type TfJson, variant } from "./synth";

const statementsOf = (stack: TfJson, policyId: string) => JSON.parse(resources(stack, "aws_iam_role_policy")[policyId].policy).Statement;

const waitArn = (dataset: string) => `\${aws_sfn_activity.wait-activity-${dataset}.arn}`;

describe("state-machine stack (active configuration)", () => {
  let sm: TfJson;
  let config: EtlConfig;
  let names: ReturnType<typeof resourceNames>;
  let datasets: string[];
  before(() => {
    ({ stateMachine: sm, config } = synthFile());
    names = resourceNames(config);
    datasets = Object.keys(config.datasets);
  });

  it("has the runner activity and one wait activity per dataset", () => {
    expect(Object.values(resources(sm, "aws_sfn_activity")).map((a) => a.name).sort()).to.deep.equal([names.runnerActivity, ...datasets.map(names.waitActivity)].sort());
  });

  it("encrypts the failure topic with a rotated customer-managed key and subscribes no email when none is configured", () => {
    const topic = resources(sm, "aws_sns_topic")["failure-topic"];
    const [[keyId, key]] = Object.entries(resources(sm, "aws_kms_key"));
    expect(topic).to.include({ name: names.failureTopic, kms_master_key_id: `\${aws_kms_key.${keyId}.arn}` });
    expect(key.enable_key_rotation).to.equal(true);
    const keyStatements = JSON.parse(key.policy).Statement;
    const forEvents = keyStatements.find((s: any) => s.Principal.Service === "events.amazonaws.com");
    expect(forEvents).to.deep.include({ Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Condition: { StringEquals: { "aws:SourceAccount": "${data.aws_caller_identity.account.account_id}" } } });
    expect(resources(sm, "aws_sns_topic_subscription")).to.deep.equal({});
  });

  // Redrive resumes at the failed state, so the notification cannot be a state of the workflow (see docs/architecture.md).
  it("notifies every FAILED or TIMED_OUT execution of this state machine through an EventBridge rule with an input transformer", () => {
    const [ruleId, rule] = Object.entries(resources(sm, "aws_cloudwatch_event_rule")).find(([, r]) => r.name === `${names.stateMachine}-failed`)!;
    expect(JSON.parse(rule.event_pattern)).to.deep.equal({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT"], stateMachineArn: [`arn:\${data.aws_partition.partition.partition}:states:${config.region}:\${data.aws_caller_identity.account.account_id}:stateMachine:${names.stateMachine}`] },
    });
    const target = Object.values(resources(sm, "aws_cloudwatch_event_target")).find((t) => t.arn === "${aws_sns_topic.failure-topic.arn}");
    expect(target.rule).to.equal(`\${aws_cloudwatch_event_rule.${ruleId}.name}`);
    expect(target.input_transformer.input_template).to.equal('"Execution <execution> ended <status> with <error>: <cause>"');
    expect(target.input_transformer.input_paths).to.deep.equal({ execution: "$.detail.executionArn", status: "$.detail.status", error: "$.detail.error", cause: "$.detail.cause" });
    const [policy] = Object.values(resources(sm, "aws_sns_topic_policy"));
    const publish = JSON.parse(policy.policy).Statement.find((s: any) => s.Effect === "Allow");
    expect(publish).to.deep.include({ Principal: { Service: "events.amazonaws.com" }, Action: "sns:Publish", Condition: { ArnEquals: { "aws:SourceArn": `\${aws_cloudwatch_event_rule.${ruleId}.arn}` } } });
    // The state machine the pattern names is this stack's.
    const machine = resourceWith(sm, "aws_sfn_state_machine", "name", names.stateMachine);
    expect(machine.name).to.equal(JSON.parse(rule.event_pattern).detail.stateMachineArn[0].split(":").pop());
  });

  it("loads the ASL with references to the activities and the topic, Terraform-escaped", () => {
    const machine = resourceWith(sm, "aws_sfn_state_machine", "name", names.stateMachine);
    const text: string = machine.definition;
    const definition = JSON.parse(text);
    const synthesized = new Map(allStates(definition));
    const { runners, waits } = workflowTasks(config);
    expect(waits.map((w) => w.dataset).sort()).to.deep.equal([...datasets].sort());
    for (const { state, dataset } of waits) expect(synthesized.get(state)?.Resource, state).to.equal(waitArn(dataset));
    expect(runners).to.not.be.empty;
    for (const { state, job } of runners) {
      expect(synthesized.get(state)?.Resource, state).to.equal("${aws_sfn_activity.runner-activity.arn}");
      expect(synthesized.get(state)?.Parameters.JobName, state).to.equal(names.glueJob(job));
    }
    expect(Object.keys(definition.States)).to.not.include.members(["NotifyFailure", "WorkflowFailed"]);
    expect(text).to.not.include("cdktf-reference");
    expect(machine.logging_configuration).to.deep.equal({
      include_execution_data: true,
      level: config.stateMachine.logLevel,
      log_destination: "${aws_cloudwatch_log_group.state-machine-logs.arn}:*",
    });
    expect(machine.tracing_configuration).to.deep.equal({ enabled: config.stateMachine.tracing });
    expect(resourceWith(sm, "aws_cloudwatch_log_group", "name", `/aws/vendedlogs/states/${names.stateMachine}`).retention_in_days).to.equal(config.logRetentionDays);
  });

  it("gives the state machine role only what the definition uses", () => {
    const statements = statementsOf(sm, "state-machine-policy");
    const sid = (s: string) => statements.find((x: any) => x.Sid === s);
    // One statement per integration Task state, named after it (the shipped definition has none: no kicks; no
    // sns:Publish: the failure rule publishes, not the workflow).
    const asl = JSON.parse(readFileSync(definitionPath(config), "utf8"));
    const integrationStates = allStates(asl).filter(([, s]) => s.Type === "Task" && String(s.Resource).startsWith("arn:aws:states:::")).map(([n]) => n);
    expect(statements.map((s: any) => s.Sid).sort()).to.deep.equal([...integrationStates, "LogDelivery", "Tracing"].sort());
    for (const state of integrationStates) {
      expect(sid(state).Action, state).to.deep.equal(["events:PutEvents"]);
      expect(sid(state).Resource, state).to.have.length(1);
      expect(sid(state).Resource[0], state).to.match(new RegExp(`:events:${config.region}:\\$\\{data\\.aws_caller_identity\\.account\\.account_id\\}:event-bus/default$`));
      expect(sid(state).Condition, state).to.deep.equal({ StringEquals: { "events:source": [names.eventSource] } });
    }
    const trust = JSON.parse(resourceWith(sm, "aws_iam_role", "name", `${names.stateMachine}-role`).assume_role_policy).Statement[0];
    expect(trust.Principal).to.deep.equal({ Service: "states.amazonaws.com" });
    expect(trust.Condition.StringEquals["aws:SourceAccount"]).to.equal("${data.aws_caller_identity.account.account_id}");
  });

  it("starts the workflow on the configured cron with input {} through a role scoped to the state machine", () => {
    const rule = resourceWith(sm, "aws_cloudwatch_event_rule", "name", `${names.stateMachine}-schedule`);
    expect(rule).to.include({ schedule_expression: config.schedules.workflow, state: config.schedules.workflowEnabled ? "ENABLED" : "DISABLED" });
    const target = Object.values(resources(sm, "aws_cloudwatch_event_target")).find((t) => t.arn === "${aws_sfn_state_machine.state-machine.arn}");
    expect(target.input).to.equal("{}");
    expect(statementsOf(sm, "workflow-schedule-policy")).to.deep.equal([
      { Effect: "Allow", Sid: "StartWorkflow", Action: ["states:StartExecution"], Resource: ["${aws_sfn_state_machine.state-machine.arn}"] },
    ]);
  });

  it("deploys the data-arrival function with its table, environment and scoped IAM", () => {
    const fn = resourceWith(sm, "aws_lambda_function", "function_name", names.dataArrivalFunction);
    const env = fn.environment.variables;
    expect(env.TABLE_NAME).to.match(/^\$\{aws_dynamodb_table\..+\.name\}$/);
    expect(env.DATA_BUCKET).to.match(new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stackIds(config).glue}\\.outputs\\..+\\}$`));
    expect(env.ARRIVAL_TTL_DAYS).to.equal(String(config.dataArrival.arrivalTtlDays));
    expect(JSON.parse(env.DATASETS)).to.deep.equal(Object.fromEntries(datasets.map((d) => [d, { prefix: config.datasets[d].prefix, activityArn: waitArn(d) }])));
    expect(fn).to.include({ timeout: config.dataArrival.timeoutSeconds, memory_size: config.dataArrival.memoryMb });

    const table = resourceWith(sm, "aws_dynamodb_table", "name", names.arrivalTable);
    expect(table).to.include({ hash_key: ARRIVAL_TABLE.partitionKey, range_key: ARRIVAL_TABLE.sortKey });

    const policies = Object.entries(resources(sm, "aws_iam_role_policy")).filter(([id]) => id.startsWith("data-arrival"));
    const statements = policies.flatMap(([, p]) => JSON.parse(p.policy).Statement);
    const sid = (s: string) => statements.find((x: any) => x.Sid === s);
    const waits = datasets.map(waitArn);
    expect(sid("PollWaitTasks")).to.deep.include({ Action: ["states:GetActivityTask"], Resource: waits });
    expect(sid("AnswerWaitTasks").Resource).to.deep.equal([...waits, "${aws_sfn_state_machine.state-machine.arn}"]);
    // Least privilege: what functions/data-arrival calls, and nothing else (no heartbeat, no GetItem).
    expect(sid("AnswerWaitTasks").Action).to.deep.equal(["states:SendTaskSuccess", "states:SendTaskFailure"]);
    expect(sid("ArrivalItems").Action).to.have.members(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]);
    expect(sid("ArrivalItems").Resource).to.deep.equal([`\${aws_dynamodb_table.${Object.keys(resources(sm, "aws_dynamodb_table"))[0]}.arn}`]);
  });

  it("notifies the function of uploads under each dataset prefix, with a permission scoped to the bucket and account", () => {
    const notification = Object.values(resources(sm, "aws_s3_bucket_notification"))[0];
    expect(notification.lambda_function.map((l: any) => [l.filter_prefix, l.events])).to.deep.equal(datasets.map((d) => [config.datasets[d].prefix, ["s3:ObjectCreated:*"]]));
    const permission = Object.values(resources(sm, "aws_lambda_permission")).find((p) => p.principal === "s3.amazonaws.com");
    expect(permission.source_arn).to.match(new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stackIds(config).glue}\\.outputs\\..+\\}$`));
    expect(permission.source_account).to.equal("${data.aws_caller_identity.account.account_id}");
    expect(notification.depends_on).to.have.length(1);
  });

  it("wakes the data-arrival function on WaitTaskScheduled and on the fallback schedule", () => {
    const kick = resourceWith(sm, "aws_cloudwatch_event_rule", "name", `${names.dataArrivalFunction}-kick`);
    expect(JSON.parse(kick.event_pattern)).to.deep.equal({ source: [names.eventSource], "detail-type": ["WaitTaskScheduled"] });
    expect(resourceWith(sm, "aws_cloudwatch_event_rule", "name", `${names.dataArrivalFunction}-fallback`).schedule_expression).to.equal(config.schedules.fallback);
  });
});

describe("state-machine stack (many datasets)", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "etl-many-datasets-"));
    mkdirSync(join(root, "asl"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  // Twelve datasets: the synth-time markers of the activities run past 10, where `...-1` was a prefix of `...-10`.
  it("references each wait activity and the topic exactly, with 10+ datasets", () => {
    const extra = Array.from({ length: 10 }, (_, i) => `extra${i}`);
    const active = synthFile().config;
    const asl = JSON.parse(readFileSync(definitionPath(active), "utf8"));
    for (const dataset of extra) {
      // A kick and a wait task naming the dataset, as the consistency check requires.
      asl.States.ProcessDatasets.Branches.push({
        StartAt: `Kick_${dataset}`,
        States: {
          [`Kick_${dataset}`]: {
            Type: "Task",
            Resource: "arn:aws:states:::events:putEvents",
            Parameters: { Entries: [{ Source: "${EventSource}", DetailType: "WaitTaskScheduled", Detail: { dataset } }] },
            TimeoutSeconds: 30,
            Next: `WaitFor_${dataset}`,
          },
          [`WaitFor_${dataset}`]: { Type: "Task", Resource: `\${WaitActivityArn.${dataset}}`, Parameters: { dataset }, TimeoutSeconds: 60, End: true },
        },
      });
    }
    writeFileSync(join(root, active.stateMachine.definition), JSON.stringify(asl, null, 2));
    const [first] = Object.values(active.datasets);
    const config = variant((raw) => {
      for (const dataset of extra) raw.datasets[dataset] = { prefix: `${raw.dataLake.rawPrefix}${dataset}/`, schema: first.schema };
    }, root);
    expect(Object.keys(config.datasets)).to.have.length(Object.keys(active.datasets).length + extra.length);

    const sm = synthConfig(config).stateMachine;
    const definition = JSON.parse(Object.values(resources(sm, "aws_sfn_state_machine"))[0].definition);
    const waits = Object.fromEntries(
      definition.States.ProcessDatasets.Branches.flatMap((b: any) => Object.entries<any>(b.States)).filter(([name]: [string]) => name.startsWith("WaitFor")),
    );
    const synthesized = new Map(allStates(definition));
    const { runners, waits: configured } = workflowTasks(active);
    for (const { state, dataset } of configured) expect(synthesized.get(state)?.Resource, state).to.equal(waitArn(dataset));
    for (const dataset of extra) expect(waits[`WaitFor_${dataset}`].Resource, dataset).to.equal(waitArn(dataset));
    for (const { state } of runners) expect(synthesized.get(state)?.Resource, state).to.equal("${aws_sfn_activity.runner-activity.arn}");
    expect(JSON.stringify(definition)).to.not.include("cdktf-reference");
  });
});

describe("state-machine stack (configuration variants)", () => {
  it("subscribes the notification email, disables the schedule and drops X-Ray when so configured", () => {
    const sm = synthConfig(
      variant((raw) => {
        raw.notifications.email = "data-team@example.com";
        raw.schedules.workflowEnabled = false;
        raw.stateMachine.tracing = false;
        raw.stateMachine.logLevel = "ERROR";
      }),
    ).stateMachine;
    expect(Object.values(resources(sm, "aws_sns_topic_subscription"))[0]).to.include({ protocol: "email", endpoint: "data-team@example.com" });
    expect(resourceWith(sm, "aws_cloudwatch_event_rule", "name", `${resourceNames(synthFile().config).stateMachine}-schedule`).state).to.equal("DISABLED");
    const machine = Object.values(resources(sm, "aws_sfn_state_machine"))[0];
    expect(machine.tracing_configuration).to.deep.equal({ enabled: false });
    expect(machine.logging_configuration.level).to.equal("ERROR");
    expect(statementsOf(sm, "state-machine-policy").map((s: any) => s.Sid)).to.not.include("Tracing");
  });

  it("fails the synth naming each runner state whose heartbeat is not above twice the fallback period", () => {
    const { runners } = workflowTasks(synthFile().config);
    // A fallback period at least half the longest heartbeat (and 10 minutes at least) fails every runner state.
    const minutes = Math.max(10, Math.ceil(Math.max(...runners.map((r) => r.task.HeartbeatSeconds)) / 120));
    const config = variant((raw) => {
      raw.schedules.fallback = `rate(${minutes} minutes)`;
    });
    const expected = runners.map(
      ({ state, task }) =>
        `  - state '${state}': HeartbeatSeconds ${task.HeartbeatSeconds} must be greater than twice the fallback period (schedules.fallback 'rate(${minutes} minutes)' = ${minutes * 60} s, so more than ${minutes * 120})`,
    );
    expect(() => buildAppCheaply(config, join(tmpdir(), "etl-never-written"))).to.throw(`${relative(process.cwd(), definitionPath(config))}: runner task heartbeats\n${expected.join("\n")}`);
  });

  it("fails the synth naming each runner state whose TimeoutSeconds is shorter than its Glue job's timeout", () => {
    const { runners } = workflowTasks(synthFile().config);
    expect(runners.length, "runner states").to.be.greaterThan(1);
    // Every job on the shared Glue timeout, longer than any runner state's; one job's own short timeout exempts its state.
    const minutes = Math.ceil(Math.max(...runners.map((r) => r.task.TimeoutSeconds)) / 60) + 60;
    const exempt = runners[1];
    const config = variant((raw) => {
      raw.glue.timeoutMinutes = minutes;
      for (const job of Object.values<any>(raw.jobs)) delete job.timeoutMinutes;
      raw.jobs[exempt.job].timeoutMinutes = 1;
    });
    const names = resourceNames(config);
    const expected = runners
      .filter((r) => r !== exempt)
      .map(
        ({ state, task, job }) =>
          `  - state '${state}' (Glue job '${names.glueJob(job)}'): TimeoutSeconds ${task.TimeoutSeconds} is shorter than the job's timeout (glue.timeoutMinutes = ${minutes} min = ${minutes * 60} s); the workflow would give up while Glue still runs`,
      );
    expect(() => buildAppCheaply(config, join(tmpdir(), "etl-never-written"))).to.throw(`${relative(process.cwd(), definitionPath(config))}: runner task timeouts\n${expected.join("\n")}`);
  });

  describe("with an edited ASL file", () => {
    let root: string;
    before(() => {
      root = mkdtempSync(join(tmpdir(), "etl-asl-root-"));
      mkdirSync(join(root, "asl"));
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it("fails the synth on a service integration the stack grants no IAM for, naming the state", () => {
      const active = synthFile().config;
      const asl = JSON.parse(readFileSync(definitionPath(active), "utf8"));
      asl.States.Report = { Type: "Task", Resource: "arn:aws:states:::dynamodb:putItem", Parameters: { TableName: "t", Item: {} }, Next: asl.StartAt };
      asl.StartAt = "Report";
      writeFileSync(join(root, active.stateMachine.definition), JSON.stringify(asl));
      const config = variant(() => undefined, root);
      expect(() => buildAppCheaply(config, join(root, "out"))).to.throw(/state 'Report': Resource 'arn:aws:states:::dynamodb:putItem' is neither .*Supported: .*arn:aws:states:::glue:startJobRun\.sync/);
    });

    it("fails the synth on an ASL error through the loader, naming the file", () => {
      const active = synthFile().config;
      const file = join(root, active.stateMachine.definition);
      cpSync(definitionPath(active), file);
      writeFileSync(file, readFileSync(file, "utf8").replace("${RunnerActivityArn}", "${RunnerActivity}"));
      const config = variant(() => undefined, root);
      expect(() => buildAppCheaply(config, join(root, "out"))).to.throw(
        // The loader names the file relative to the working directory (absolute when that is no shorter).
        new RegExp(`(?:${[file, relative(process.cwd(), file)].map((f) => f.replace(/[.\\]/g, "\\$&")).join("|")}): unknown placeholder \\$\\{RunnerActivity\\} at line \\d+.*Known placeholders: .*\\$\\{RunnerActivityArn\\}`),
      );
    });
  });
});
