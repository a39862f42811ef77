// One topology: the local runtime wires exactly what the synthesized stacks wire. The stacks' side is read from
// the synthesized JSON (EventBridge rules with Lambda targets, the bucket notification); the local side is the
// wiring the runtime's event bus delivers from (local/event-bus.ts).
import { expect } from "chai";
import { localWiring, LocalEventBus, matchesPattern, transformInput } from "../../local/event-bus";
import { loadConfig, resourceNames } from "../../core/config";
import { EMR_APPLICATION_ID_REF, FAILURE_NOTIFICATION, FUNCTIONS, STATE_MACHINE_ARN_REF, type FunctionId } from "../../core/topology";
import { FIXTURE_CONFIG, resources, synthFile, type TfJson } from "../stacks/synth";

interface Wire {
  ruleName: string;
  functionName: string;
  eventPattern?: unknown;
  scheduleExpression?: string;
}

/** `${aws_x.id.attr}` → [aws_x, id]. */
const referenced = (value: string) => /^\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}$/.exec(value)?.slice(1) as [string, string] | undefined;

/** The rules whose targets are the project's functions, and the bucket notification, across the stacks. */
function deployedWiring(stacks: TfJson[]) {
  const all = (type: string) => stacks.flatMap((s) => Object.entries(resources(s, type)));
  const functionName = (ref: string) => {
    const [type, id] = referenced(ref) ?? [];
    return type === "aws_lambda_function" ? all(type).find(([i]) => i === id)?.[1].function_name : undefined;
  };
  const rules: Wire[] = [];
  for (const [, target] of all("aws_cloudwatch_event_target")) {
    const fn = functionName(target.arn);
    if (!fn) continue; // the workflow's own schedule starts the state machine
    const [, ruleId] = referenced(target.rule)!;
    const rule = all("aws_cloudwatch_event_rule").find(([id]) => id === ruleId)![1];
    rules.push({
      ruleName: rule.name,
      functionName: fn,
      ...(rule.event_pattern && { eventPattern: JSON.parse(rule.event_pattern) }),
      ...(rule.schedule_expression && { scheduleExpression: rule.schedule_expression }),
    });
  }
  // Each rule may invoke its function: a permission scoped to that rule.
  for (const [, permission] of all("aws_lambda_permission").filter(([, p]) => p.principal === "events.amazonaws.com")) {
    expect(referenced(permission.source_arn)![0]).to.equal("aws_cloudwatch_event_rule");
  }
  const notifications = all("aws_s3_bucket_notification").flatMap(([, n]) => n.lambda_function as any[]);
  const uploads = notifications.map((n) => ({ functionName: functionName(n.lambda_function_arn), events: n.events, prefix: n.filter_prefix }));
  return { rules: rules.sort((a, b) => a.ruleName.localeCompare(b.ruleName)), uploads };
}

/** A job on EMR Serverless: the runner's rule names the application, whose id only the stack knows (a reference). */
function emrRefs(deployed: ReturnType<typeof deployedWiring>): Record<string, string> {
  const application: string | undefined = deployed.rules.map((r) => (r.eventPattern as any)?.detail?.applicationId?.[0]).find((id) => id !== undefined);
  return application ? { [EMR_APPLICATION_ID_REF]: application } : {};
}

for (const [label, file] of [["etl.config.json", undefined], ["three-datasets fixture", FIXTURE_CONFIG]] as const) {
  describe(`one topology: local wiring = synthesized wiring (${label})`, () => {
    it("the same rules: names, target functions, event patterns and schedules", () => {
      const synth = synthFile(file);
      const deployed = deployedWiring([synth.glue, synth.stateMachine, synth.runner]);
      // The workflow's RUNNING rules name the state machine by a Terraform reference (in the runner stack, a remote
      // state lookup): the same pattern, with the ARN each stack has for it.
      const runningRules = deployed.rules.filter((r) => (r.eventPattern as any)?.source?.[0] === "aws.states");
      expect(runningRules.map((r) => r.functionName).sort()).to.deep.equal(Object.values(FUNCTIONS).map((f) => f.functionName(resourceNames(synth.config))).sort());
      for (const r of runningRules) (r.eventPattern as any).detail.stateMachineArn = ["STATE-MACHINE-ARN"];
      const local = localWiring(synth.config, { [STATE_MACHINE_ARN_REF]: "STATE-MACHINE-ARN", ...emrRefs(deployed) });
      const localRules = local.rules
        .map(({ ruleName, functionName, eventPattern, scheduleExpression }) => ({ ruleName, functionName, ...(eventPattern && { eventPattern }), ...(scheduleExpression && { scheduleExpression }) }))
        .sort((a, b) => a.ruleName.localeCompare(b.ruleName));
      expect(deployed.rules.length).to.be.greaterThan(0);
      expect(JSON.parse(JSON.stringify(localRules))).to.deep.equal(deployed.rules);
    });

    it("the same failure notification: rule name, pattern, topic and input transformer", () => {
      const synth = synthFile(file);
      const names = resourceNames(synth.config);
      const rule = Object.entries(resources(synth.stateMachine, "aws_cloudwatch_event_rule")).find(([, r]) => r.name === FAILURE_NOTIFICATION.ruleName(names))!;
      const target = Object.values(resources(synth.stateMachine, "aws_cloudwatch_event_target")).find((t) => referenced(t.rule)![1] === rule[0]);
      const deployedArn = JSON.parse(rule[1].event_pattern).detail.stateMachineArn[0] as string;
      const local = localWiring(synth.config, { [STATE_MACHINE_ARN_REF]: "LOCAL-ARN", ...emrRefs(deployedWiring([synth.glue, synth.stateMachine, synth.runner])) }, { stateMachineArn: "LOCAL-ARN", failureTopicArn: "LOCAL-TOPIC" }).topicRules;
      expect(local).to.have.length(1);
      expect(local[0].ruleName).to.equal(rule[1].name);
      // The same pattern, the state machine's ARN aside (the stack builds it from the name the local service uses).
      expect(deployedArn.endsWith(`:stateMachine:${names.stateMachine}`)).to.equal(true);
      expect(JSON.parse(rule[1].event_pattern.replace(deployedArn, "LOCAL-ARN"))).to.deep.equal(JSON.parse(JSON.stringify(local[0].eventPattern)));
      expect(referenced(target.arn)).to.deep.equal(["aws_sns_topic", "failure-topic"]);
      expect(target.input_transformer).to.deep.equal({ input_paths: local[0].inputPaths, input_template: local[0].inputTemplate });
    });

    it("the same bucket notification: function, events and one prefix per dataset", () => {
      const synth = synthFile(file);
      const deployed = deployedWiring([synth.glue, synth.stateMachine, synth.runner]);
      const { uploads } = deployed;
      const local = localWiring(synth.config, { [STATE_MACHINE_ARN_REF]: "arn", ...emrRefs(deployed) }).uploads;
      expect(uploads.map((u) => u.functionName)).to.satisfy((names: string[]) => names.every((n) => n === local.functionName));
      expect(uploads.map((u) => u.prefix).sort()).to.deep.equal([...local.prefixes].sort());
      for (const u of uploads) expect(u.events).to.deep.equal(local.events);
    });
  });
}

describe("local event bus", () => {
  const config = loadConfig();
  const names = resourceNames(config);
  const delivered: Array<[FunctionId, string]> = [];
  const stateMachineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:workflow";
  // The EMR Serverless application's id, which the runner's rule names when a job of the configuration runs there.
  const refs = { [STATE_MACHINE_ARN_REF]: stateMachineArn, [EMR_APPLICATION_ID_REF]: "00fakeapplication" };
  const bus = new LocalEventBus(localWiring(config, refs), (target, trigger) => delivered.push([target, trigger]));
  beforeEach(() => (delivered.length = 0));
  const event = (source: string, detailType: string, detail: unknown = {}) => ({ version: "0", source, "detail-type": detailType, detail });

  it("delivers the workflow's kicks to their functions only", () => {
    expect(bus.put(event(names.eventSource, "RunnerTaskScheduled"))).to.deep.equal([`${names.runnerFunction}-kick`]);
    expect(bus.put(event(names.eventSource, "WaitTaskScheduled"))).to.deep.equal([`${names.dataArrivalFunction}-kick`]);
    expect(delivered).to.deep.equal([
      ["runner", "RunnerTaskScheduled"],
      ["dataArrival", "WaitTaskScheduled"],
    ]);
    expect(bus.put(event("other.source", "RunnerTaskScheduled"))).to.deep.equal([]);
  });

  it("wakes both functions on the workflow's RUNNING status change (a start or a redrive), and no other", () => {
    const status = (status: string, arn = stateMachineArn) => event("aws.states", "Step Functions Execution Status Change", { status, stateMachineArn: arn, executionArn: `${arn}:x` });
    expect(bus.put(status("RUNNING")).sort()).to.deep.equal([`${names.dataArrivalFunction}-running`, `${names.runnerFunction}-running`].sort());
    expect(delivered.map(([target]) => target).sort()).to.deep.equal(["dataArrival", "runner"]);
    expect(bus.put(status("SUCCEEDED"))).to.deep.equal([]);
    expect(bus.put(status("RUNNING", "arn:aws:states:us-east-1:000000000000:stateMachine:other"))).to.deep.equal([]);
    // Schedule-only: the event reaches topic rules only.
    expect(bus.put(status("RUNNING"), false)).to.deep.equal([]);
    expect(delivered).to.have.length(2);
  });

  it("delivers Glue state changes of the project's jobs only", () => {
    const [job] = Object.keys(config.jobs);
    expect(bus.put(event("aws.glue", "Glue Job State Change", { jobName: names.glueJob(job), state: "SUCCEEDED" }))).to.have.length(1);
    expect(bus.put(event("aws.glue", "Glue Job State Change", { jobName: "someone-elses-job", state: "SUCCEEDED" }))).to.deep.equal([]);
    expect(delivered).to.deep.equal([["runner", "Glue Job State Change"]]);
  });

  it("delivers created objects under a dataset's prefix (keys decoded as S3 filters them), nothing else", () => {
    const [prefix] = Object.values(config.datasets).map((d) => d.prefix);
    const record = (key: string, eventName = "ObjectCreated:Put") => ({ eventName, s3: { object: { key } } });
    expect(bus.objectCreated({ Records: [record(`${prefix}a+b.csv`)] })).to.equal(true);
    expect(bus.objectCreated({ Records: [record("elsewhere/a.csv")] })).to.equal(false);
    expect(bus.objectCreated({ Records: [record(`${prefix}a.csv`, "ObjectRemoved:Delete")] })).to.equal(false);
    expect(delivered).to.deep.equal([["dataArrival", "S3 notification"]]);
  });

  it("fires every schedule rule on the stand-in timer", async () => {
    const stop = bus.startSchedules(10, () => ({}));
    await new Promise((r) => setTimeout(r, 35));
    stop();
    const targets = new Set(delivered.map(([t]) => t));
    expect([...targets].sort()).to.deep.equal(localWiring(config, refs).rules.filter((r) => r.scheduleExpression).map((r) => r.target).sort());
  });

  it("matches EventBridge's way and refuses a pattern form it does not emulate", () => {
    expect(matchesPattern({ detail: { state: ["FAILED", "SUCCEEDED"] } }, { detail: { state: "FAILED" } })).to.equal(true);
    expect(matchesPattern({ detail: { state: ["FAILED"] } }, { detail: {} })).to.equal(false);
    expect(matchesPattern({ resources: ["arn:x"] }, { resources: ["arn:y", "arn:x"] })).to.equal(true);
    expect(() => matchesPattern({ source: [{ prefix: "aws." }] }, { source: "aws.glue" })).to.throw("only lists of exact values");
  });
});

describe("local event bus: the failure notification's input transformer", () => {
  it("puts the event's values into the template as EventBridge does (strings unquoted, missing values empty)", () => {
    const paths = { execution: "$.detail.executionArn", error: "$.detail.error", cause: "$.detail.cause" };
    const event = { detail: { executionArn: "arn:x", error: "E", cause: 'say "hi"' } };
    expect(transformInput(paths, '"Execution <execution> failed with <error>: <cause>"', event)).to.equal('Execution arn:x failed with E: say "hi"');
    expect(transformInput(paths, '"<error>: <cause>"', { detail: { error: "States.Timeout", cause: null } })).to.equal("States.Timeout: ");
    expect(() => transformInput({ x: "detail.error" }, '"<x>"', event)).to.throw(/input path 'detail.error'/);
  });
});
