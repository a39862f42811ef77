// The topology's own rules: every trigger is a rule AWS accepts, every function's environment is what its handler
// parses, and every integration has its IAM (and, type-checked, its local handler).
import { expect } from "chai";
import { loadConfig, resourceNames } from "../../core/config";
import { FUNCTIONS, resolveTriggers, SFN_INTEGRATIONS, TRIGGERS, UPLOADS, type Trigger } from "../../core/topology";
import { arrivalConfigFromEnv } from "../../functions/data-arrival/config";
import { runnerConfigFromEnv } from "../../functions/glue-runner/config";
import { LOCAL_INTEGRATIONS } from "../../local/sfn/integrations";
import { FIXTURE_CONFIG } from "../stacks/synth";

describe("core/topology", () => {
  for (const file of [undefined, FIXTURE_CONFIG]) {
    const config = loadConfig(file);
    const names = resourceNames(config);

    it(`${file ? "fixture" : "etl.config.json"}: each trigger is one rule with a unique id and an EventBridge-valid name, a pattern or a schedule`, () => {
      const rules = resolveTriggers(config);
      expect(new Set(rules.map((r) => r.id)).size).to.equal(rules.length);
      expect(new Set(rules.map((r) => r.ruleName)).size).to.equal(rules.length);
      for (const r of rules) {
        expect(r.ruleName).to.match(/^[A-Za-z0-9._-]{1,64}$/);
        expect([r.eventPattern, r.scheduleExpression].filter(Boolean), r.id).to.have.length(1);
      }
      // Every function is woken by at least a schedule, so a lost event is never the end of a task.
      for (const target of Object.keys(FUNCTIONS)) expect(rules.some((r) => r.target === target && r.scheduleExpression), target).to.equal(true);
      expect(UPLOADS.filters(config).map((f) => f.prefix)).to.deep.equal(Object.values(config.datasets).map((d) => d.prefix));
    });

    it(`${file ? "fixture" : "etl.config.json"}: each function's environment is what its handler parses back`, () => {
      const runnerEnv = FUNCTIONS.runner.environment(config, { activityArn: "arn:aws:states:us-east-1:123456789012:activity:a", tableName: names.runnerTable }, "INFO");
      expect(runnerConfigFromEnv(runnerEnv)).to.include({ tableName: names.runnerTable, runTtlDays: config.runner.runTtlDays, maxTasksPerInvocation: config.runner.maxTasksPerInvocation });
      const waitActivityArns = Object.fromEntries(Object.keys(config.datasets).map((d) => [d, `arn:aws:states:us-east-1:123456789012:activity:${names.waitActivity(d)}`]));
      const arrivalEnv = FUNCTIONS.dataArrival.environment(config, { tableName: names.arrivalTable, waitActivityArns, dataBucket: "lake" }, "INFO");
      const parsed = arrivalConfigFromEnv(arrivalEnv);
      expect(parsed).to.include({ tableName: names.arrivalTable, dataBucket: "lake", arrivalTtlDays: config.dataArrival.arrivalTtlDays });
      expect(Object.keys(parsed.datasets)).to.deep.equal(Object.keys(config.datasets));
    });
  }

  it("a trigger whose pattern the configuration does not need (undefined) makes no rule; refs reach the pattern", () => {
    const config = loadConfig();
    const triggers: Trigger[] = [
      { id: "unused", target: "runner", ruleName: () => "unused", description: "", eventPattern: () => undefined },
      { id: "engine", target: "runner", ruleName: () => "engine", description: "", eventPattern: (_, __, refs) => ({ source: ["aws.x"], detail: { applicationId: [refs.appId] } }) },
    ];
    expect(resolveTriggers(config, { appId: "app-1" }, undefined, triggers)).to.deep.equal([
      { id: "engine", target: "runner", ruleName: "engine", description: "", eventPattern: { source: ["aws.x"], detail: { applicationId: ["app-1"] } } },
    ]);
    expect(resolveTriggers(config, {}, "dataArrival", triggers)).to.deep.equal([]);
    expect(TRIGGERS.length).to.be.greaterThan(0);
  });

  it("every SFN integration has its IAM, scoped by the references given, and a local handler", () => {
    const config = loadConfig();
    for (const [resource, integration] of Object.entries(SFN_INTEGRATIONS)) {
      const statement = integration.iam(config, { failureTopicArn: "arn:topic", eventBusArn: "arn:bus" });
      expect(statement.Resource, resource).to.satisfy((r: string[]) => r.every((x) => x === "arn:topic" || x === "arn:bus"));
      expect(LOCAL_INTEGRATIONS[resource as keyof typeof LOCAL_INTEGRATIONS], resource).to.be.a("function");
    }
  });
});
