// The shipped configuration variant that moves JMSD to EMR Serverless: one configuration line, no other change,
// and it synthesizes (its local run is in test/e2e/cli.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT, resourceNames } from "../../core/config";
import { resources, synthFile } from "../stacks/synth";

const FIXTURE = join(PROJECT_ROOT, "test/fixtures/jmsd-emr-serverless");

describe("configuration variant: JMSD on EMR Serverless", () => {
  it("differs from etl.config.json only by JMSD's engine (and the scripts folder it points back to), with the same workflow file", () => {
    const shipped = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
    const variant = JSON.parse(readFileSync(join(FIXTURE, "etl.config.json"), "utf8"));
    expect(variant.jobs.JMSD.engine).to.equal("emr-serverless");
    expect(shipped.jobs.JMSD.engine ?? "glue").to.not.equal("emr-serverless");
    delete variant.jobs.JMSD.engine;
    delete shipped.jobs.JMSD.engine;
    expect(variant.scriptsDir).to.equal("../../../glue-scripts");
    delete variant.scriptsDir;
    expect(variant).to.deep.equal(shipped);
    expect(readFileSync(join(FIXTURE, "asl/etl-workflow.asl.json"), "utf8")).to.equal(readFileSync(join(PROJECT_ROOT, "asl/etl-workflow.asl.json"), "utf8"));
  });

  it("synthesizes the application, its job role and JMSD's spec, no Glue job for JMSD, and the runner's EMR Serverless rule and grants", () => {
    const app = synthFile(join(FIXTURE, "etl.config.json"));
    const names = resourceNames(app.config);
    expect(Object.values(resources(app.glue, "aws_emrserverless_application")).map((a) => a.name)).to.deep.equal([names.emrApplication]);
    expect(Object.values(resources(app.glue, "aws_iam_role")).map((r) => r.name)).to.include(names.emrJobRole);
    expect(Object.values(resources(app.glue, "aws_s3_object")).map((o) => o.key)).to.include(`${app.config.artifacts.scriptsPrefix}jobs/${names.glueJob("JMSD")}.json`);
    expect(Object.values(resources(app.glue, "aws_glue_job")).map((j) => j.name)).to.not.include(names.glueJob("JMSD"));
    const patterns = Object.values(resources(app.runner, "aws_cloudwatch_event_rule")).flatMap((r) => (r.event_pattern ? [JSON.parse(r.event_pattern)] : []));
    const emrRule = patterns.find((p) => p.source?.includes("aws.emr-serverless"));
    expect(emrRule?.detail.applicationId).to.have.length(1);
    expect(emrRule?.detail.applicationId[0]).to.match(/emrserverless_application|remote_state/);
    const statements = Object.values(resources(app.runner, "aws_iam_role_policy")).flatMap((p) => JSON.parse(p.policy).Statement as Array<{ Action: string[]; Resource: string[] }>);
    const emrActions = statements.filter((s) => s.Action.some((a) => a.startsWith("emr-serverless:") || a === "iam:PassRole"));
    expect(emrActions.length).to.be.greaterThan(0);
    for (const s of emrActions) expect(s.Resource).to.not.include("*");
  });
});
