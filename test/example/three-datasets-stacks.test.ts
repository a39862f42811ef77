import { expect } from "chai";
import { resources, resourceWith, FIXTURE_CONFIG, synthFile, type SynthesizedApp } from "../stacks/synth";

// A third dataset branch is data only: a config entry, an ASL branch and a script/SQL/schema trio.
describe("extensibility: the three-datasets fixture", () => {
  let app: SynthesizedApp;
  before(() => {
    app = synthFile(FIXTURE_CONFIG);
  });

  it("adds the web wait activity", () => {
    expect(Object.values(resources(app.stateMachine, "aws_sfn_activity")).map((a) => a.name).sort()).to.deep.equal([
      "fx-dev-etl-runner",
      "fx-dev-wait-for-marketing",
      "fx-dev-wait-for-sales",
      "fx-dev-wait-for-web",
    ]);
  });

  it("adds the PWD Glue job with its own script, SQL, schema and worker override", () => {
    const job = resourceWith(app.glue, "aws_glue_job", "name", "fx-dev-PWD");
    expect(job).to.include({ worker_type: "G.2X", number_of_workers: 3, max_retries: 0 });
    expect(job.command.script_location).to.match(/\/glue-scripts\/process_web_data\.py$/);
    expect(job.default_arguments["--extra-files"]).to.match(/\/glue-scripts\/process_web_data\.sql,s3:\/\/.*\/glue-scripts\/schemas\/web\.json$/);
    expect(JSON.parse(job.default_arguments["--etl_inputs"])).to.deep.equal([
      { name: "web", path: `s3://${job.default_arguments["--etl_output"].split("/")[2]}/raw/web/`, format: "csv", schema: "web.json" },
    ]);
    const keys = Object.values(resources(app.glue, "aws_s3_object")).map((o) => o.key);
    expect(keys).to.include.members(["glue-scripts/process_web_data.py", "glue-scripts/process_web_data.sql", "glue-scripts/schemas/web.json", "glue-scripts/etl_common.py"]);
  });

  it("adds the web bucket-notification filter and the web entry of DATASETS", () => {
    const notification = Object.values(resources(app.stateMachine, "aws_s3_bucket_notification"))[0];
    expect(notification.lambda_function.map((l: any) => l.filter_prefix)).to.deep.equal(["raw/sales/", "raw/marketing/", "raw/web/"]);
    const fn = resourceWith(app.stateMachine, "aws_lambda_function", "function_name", "fx-dev-data-arrival");
    expect(JSON.parse(fn.environment.variables.DATASETS).web).to.deep.equal({ prefix: "raw/web/", activityArn: "${aws_sfn_activity.wait-activity-web.arn}" });
  });

  it("adds the raw web table and the PWD output table to the catalog", () => {
    const tables = Object.values(resources(app.glue, "aws_glue_catalog_table")).map((t) => t.name).sort();
    expect(tables).to.deep.equal(["marketing_and_sales", "raw_marketing", "raw_sales", "raw_web", "web_daily"]);
    const web = resourceWith(app.glue, "aws_glue_catalog_table", "name", "raw_web");
    expect(web.storage_descriptor.columns.map((c: any) => c.name)).to.deep.equal(["date", "page", "page_views", "visits"]);
    expect(resourceWith(app.glue, "aws_glue_catalog_table", "name", "web_daily").storage_descriptor.location).to.match(/\/processed\/web\/$/);
  });

  it("runs the third branch in the state machine and lets the runner start PWD", () => {
    const definition = JSON.parse(Object.values(resources(app.stateMachine, "aws_sfn_state_machine"))[0].definition);
    const web = definition.States.ProcessDatasets.Branches[2].States;
    expect(web.WaitForWebData.Resource).to.equal("${aws_sfn_activity.wait-activity-web.arn}");
    expect(web.PWD.Parameters.JobName).to.equal("fx-dev-PWD");
    const pattern = JSON.parse(resourceWith(app.runner, "aws_cloudwatch_event_rule", "name", "fx-dev-etl-runner-job-state").event_pattern);
    expect(pattern.detail.jobName).to.include("fx-dev-PWD");
    const glueArns = Object.values(resources(app.runner, "aws_iam_role_policy"))
      .flatMap((p) => JSON.parse(p.policy).Statement)
      .find((s: any) => s.Sid === "RunProjectJobs").Resource;
    expect(glueArns).to.have.length(4);
  });
});
