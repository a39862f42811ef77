// The topology's own rules: every trigger is a rule AWS accepts, every function's environment is what its handler
// parses, and every integration has its IAM (and, type-checked, its local handler).
import { expect } from "chai";
import { COUNTS_OBJECT } from "../../core/quality";
import { loadConfig, resourceNames } from "../../core/config";
import { EMR_APPLICATION_ID_REF, FUNCTIONS, resolveTriggers, SFN_INTEGRATIONS, STATE_MACHINE_ARN_REF, TRIGGERS, UPLOADS, type Trigger } from "../../core/topology";
import { arrivalConfigFromEnv } from "../../functions/data-arrival/config";
import { runnerConfigFromEnv } from "../../functions/etl-runner/config";
import { LOCAL_INTEGRATIONS } from "../../local/sfn/integrations";
import { FIXTURE_CONFIG } from "../stacks/synth";
import { activeRawConfig, parseVariant } from "../support/workflow";

describe("core/topology", () => {
  for (const file of [undefined, FIXTURE_CONFIG]) {
    const config = loadConfig(file);
    const names = resourceNames(config);

    it(`${file ? "fixture" : "active configuration"}: each trigger is one rule with a unique id and an EventBridge-valid name, a pattern or a schedule`, () => {
      const rules = resolveTriggers(config, { [STATE_MACHINE_ARN_REF]: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", [EMR_APPLICATION_ID_REF]: "00fapp" });
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

    it(`${file ? "fixture" : "active configuration"}: each function's environment is what its handler parses back`, () => {
      const runnerEnv = FUNCTIONS.runner.environment(config, { activityArn: "arn:aws:states:us-east-1:123456789012:activity:a", tableName: names.runnerTable, artifactBucket: "artifacts", dataBucket: "lake" }, "INFO");
      const runner = runnerConfigFromEnv(runnerEnv);
      // Each job on Glue: its counts object, in its staging folder beside its output (read into the task output).
      const onGlue = Object.keys(config.jobs).filter((id) => config.jobs[id].engine === "glue");
      expect(runner.glueCountsUris ?? {}).to.deep.equal(
        Object.fromEntries(onGlue.map((id) => [names.glueJob(id), `s3://lake/${config.dataLake.stagingPrefix}${names.glueJob(id)}/${COUNTS_OBJECT}`])),
      );
      expect(runner).to.include({ tableName: names.runnerTable, runTtlDays: config.runner.runTtlDays, maxTasksPerInvocation: config.runner.maxTasksPerInvocation });
      expect(runner.jobEngines).to.deep.equal(Object.fromEntries(Object.keys(config.jobs).map((id) => [names.glueJob(id), config.jobs[id].engine])));
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

  it("the runner wakes on the state changes of exactly the engines its jobs use", () => {
    const raw = activeRawConfig();
    const jobs = Object.keys(raw.jobs);
    const rulesFor = (engines: Record<string, string>, refs = {}) => {
      const changed = structuredClone(raw);
      for (const [id, engine] of Object.entries(engines)) {
        changed.jobs[id].engine = engine;
        // Glue's worker settings apply on Glue only.
        if (engine !== "glue") for (const field of ["workerType", "numberOfWorkers"]) delete changed.jobs[id][field];
      }
      return resolveTriggers(parseVariant(changed), { [STATE_MACHINE_ARN_REF]: "arn", ...refs }, "runner").filter(
        (r) => r.eventPattern && r.eventPattern.source[0].startsWith("aws.") && r.eventPattern.source[0] !== "aws.states",
      );
    };
    const all = (engine: string) => Object.fromEntries(jobs.map((id) => [id, engine]));
    expect(rulesFor(all("glue")).map((r) => r.id)).to.deep.equal(["glue-job-state-change"]);
    // The first job on Glue, the second on Athena, the others on EMR Serverless.
    const [onGlue, onAthena, ...onEmr] = jobs;
    const names = resourceNames(parseVariant(raw));
    const mixed = rulesFor(
      { [onGlue]: "glue", ...(onAthena ? { [onAthena]: "athena" } : {}), ...Object.fromEntries(onEmr.map((id) => [id, "emr-serverless"])) },
      { [EMR_APPLICATION_ID_REF]: "00fapp" },
    );
    expect(mixed.map((r) => [r.id, r.eventPattern])).to.deep.equal([
      ["glue-job-state-change", { source: ["aws.glue"], "detail-type": ["Glue Job State Change"], detail: { jobName: [names.glueJob(onGlue)] } }],
      ...(onAthena ? [["athena-query-state-change", { source: ["aws.athena"], "detail-type": ["Athena Query State Change"], detail: { workgroupName: [names.athenaWorkGroup] } }]] : []),
      ...(onEmr.length
        ? [["emr-serverless-job-run-state-change", { source: ["aws.emr-serverless"], "detail-type": ["EMR Serverless Job Run State Change"], detail: { applicationId: ["00fapp"] } }]]
        : []),
    ]);
    expect(rulesFor(all("athena")).map((r) => r.id)).to.deep.equal(["athena-query-state-change"]);
    const last = jobs[jobs.length - 1];
    expect(() => rulesFor({ [last]: "emr-serverless" })).to.throw(new RegExp(`${last} run on emr-serverless: the runner's rule needs the EMR Serverless application's id`));
  });

  it("every SFN integration has its documented IAM page and a local handler", () => {
    for (const [api, integration] of Object.entries(SFN_INTEGRATIONS)) {
      expect(integration.iamDocs, api).to.match(/^https:\/\/docs\.aws\.amazon\.com\/step-functions\/latest\/dg\/[a-z-]+\.html$/);
      expect(LOCAL_INTEGRATIONS[api as keyof typeof LOCAL_INTEGRATIONS], api).to.be.a("function");
    }
  });

});
