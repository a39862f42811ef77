// The IAM the engines' construct modules build from resource attributes (what the runner stack grants for resources
// of the glue stack), and the Glue job role's runtime statements.
import { expect } from "chai";
import { athenaQueryStatements } from "../../../stacks/constructs/athena-workgroup";
import { emrJobRunStatements } from "../../../stacks/constructs/emr-serverless-application";
import { GlueJob } from "../../../stacks/constructs/glue-job";

const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:123456789012:${resource}`;
const workgroup = { workGroupArn: arn("athena", "workgroup/wg"), resultsBucketArn: "arn:aws:s3:::artifacts", resultsPrefix: "athena-results/" };

describe("engine grants from attributes", () => {
  it("athenaQueryStatements: queries in the workgroup only, the catalog and inputs read, the results folder written and listed under its prefix", () => {
    const statements = athenaQueryStatements(workgroup, {
      catalogArns: [arn("glue", "catalog"), arn("glue", "database/db")],
      objectArns: ["arn:aws:s3:::lake/raw/*"],
      bucketArns: ["arn:aws:s3:::lake"],
    });
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid)).to.deep.equal(["RunAthenaQueries", "ReadCatalogForAthena", "ReadAthenaInputs", "AthenaBucketLocations", "WriteAthenaResults", "ListAthenaResults"]);
    expect(bySid.RunAthenaQueries.Resource).to.deep.equal([workgroup.workGroupArn]);
    expect(bySid.RunAthenaQueries.Action.every((a: string) => a.startsWith("athena:"))).to.equal(true);
    expect(bySid.ReadCatalogForAthena.Action.every((a: string) => /^glue:Get/.test(a))).to.equal(true);
    expect(bySid.ReadAthenaInputs).to.deep.include({ Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::lake/raw/*"] });
    expect(bySid.AthenaBucketLocations.Resource).to.deep.equal(["arn:aws:s3:::lake", "arn:aws:s3:::artifacts"]);
    expect(bySid.WriteAthenaResults.Resource).to.deep.equal(["arn:aws:s3:::artifacts/athena-results/*"]);
    expect(bySid.ListAthenaResults.Condition).to.deep.equal({ StringLike: { "s3:prefix": ["athena-results/*"] } });
    for (const s of statements) expect(s.Resource, s.Sid).to.not.include("*");
  });

  it("athenaQueryStatements leaves out what reads nothing (no empty statement, which IAM rejects)", () => {
    const sids = athenaQueryStatements(workgroup, { catalogArns: [], objectArns: [], bucketArns: [] }).map((s) => s.Sid);
    expect(sids).to.deep.equal(["RunAthenaQueries", "AthenaBucketLocations", "WriteAthenaResults", "ListAthenaResults"]);
  });

  it("emrJobRunStatements: runs of the application only, and passing its job role to EMR Serverless only", () => {
    const app = { applicationArn: arn("emr-serverless", "/applications/app1"), jobRoleArn: "arn:aws:iam::123456789012:role/job" };
    const [runs, pass] = emrJobRunStatements(app);
    expect(runs.Resource).to.deep.equal([app.applicationArn, `${app.applicationArn}/jobruns/*`]);
    expect(pass).to.deep.include({ Action: ["iam:PassRole"], Resource: [app.jobRoleArn] });
    expect(pass.Condition).to.deep.equal({ StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } });
  });

  it("GlueJob.roleRuntimeStatements: Glue's own log groups, and metrics only in Glue's namespace", () => {
    const [logs, metrics] = GlueJob.roleRuntimeStatements(arn);
    expect(logs.Resource).to.deep.equal([arn("logs", "log-group:/aws-glue/*"), arn("logs", "log-group:/aws-glue/*:log-stream:*")]);
    expect(metrics).to.deep.include({ Action: ["cloudwatch:PutMetricData"], Resource: ["*"] });
    expect(metrics.Condition).to.deep.equal({ StringEquals: { "cloudwatch:namespace": "Glue" } });
  });
});
