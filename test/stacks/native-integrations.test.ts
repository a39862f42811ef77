// The state-machine stack with native Athena and EMR Serverless tasks: placeholders for the workgroup, the EMR
// Serverless application and job role (Terraform references from the stack's props), and the role's IAM scoped to them.
import { EmrserverlessApplication } from "@cdktf/provider-aws/lib/emrserverless-application";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { App } from "cdktf";
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { definitionPath, loadConfig, resourceNames } from "../../core/config";
import { stackIds } from "../../stacks/app";
import { GlueStack } from "../../stacks/glue-stack";
import { serviceTrustPolicy } from "../../stacks/iam-policy";
import { StateMachineStack } from "../../stacks/state-machine-stack";
import { withCheapStackTraces } from "./stack-traces";
import { resourceWith, variant, type TfJson } from "./synth";

describe("state-machine stack with native Athena and EMR Serverless tasks", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "etl-native-stack-"));
    const active = loadConfig();
    mkdirSync(dirname(join(root, active.stateMachine.definition)), { recursive: true });
    const asl = JSON.parse(readFileSync(definitionPath(active), "utf8"));
    // Two checks before the workflow: an Athena query and a Spark job run, both run to completion.
    asl.States.CountRows = {
      Type: "Task",
      Resource: "arn:aws:states:::athena:startQueryExecution.sync",
      Parameters: { QueryString: "SELECT COUNT(*) FROM some_table", WorkGroup: "${AthenaWorkGroup}" },
      ResultPath: null,
      Next: "Profile",
    };
    asl.States.Profile = {
      Type: "Task",
      Resource: "arn:aws:states:::emr-serverless:startJobRun.sync",
      Parameters: { ApplicationId: "${EmrApplicationId}", ExecutionRoleArn: "${EmrJobRoleArn}", JobDriver: { SparkSubmit: { EntryPoint: "s3://artifacts/profile.py" } } },
      ResultPath: null,
      Next: asl.StartAt,
    };
    asl.StartAt = "CountRows";
    writeFileSync(join(root, active.stateMachine.definition), JSON.stringify(asl));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function synth(withEmr: boolean): TfJson {
    const config = variant(() => undefined, root);
    const names = resourceNames(config);
    const outdir = join(root, `out-${withEmr}`);
    const ids = stackIds(config);
    withCheapStackTraces(() => {
      const app = new App({ outdir });
      const glue = new GlueStack(app, ids.glue, { config });
      const application = new EmrserverlessApplication(glue, "test-emr-application", { name: names.emrApplication, releaseLabel: config.emrServerless.releaseLabel, type: "spark" });
      const role = new IamRole(glue, "test-emr-job-role", { name: names.emrJobRole, assumeRolePolicy: serviceTrustPolicy("emr-serverless.amazonaws.com") });
      new StateMachineStack(app, ids.stateMachine, { config, dataLake: glue.dataLake, ...(withEmr ? { emrServerless: { applicationId: application.id, jobRoleArn: role.arn } } : {}) });
      app.synth();
    });
    return JSON.parse(readFileSync(join(outdir, "stacks", ids.stateMachine, "cdk.tf.json"), "utf8")) as TfJson;
  }

  it("fills the placeholders with the workgroup's name and the application's and role's references, and scopes IAM to them", () => {
    const sm = synth(true);
    const config = loadConfig();
    const names = resourceNames(config);
    const definition = JSON.parse(resourceWith(sm, "aws_sfn_state_machine", "name", names.stateMachine).definition);
    expect(definition.States.CountRows.Parameters.WorkGroup).to.equal(names.athenaWorkGroup);
    expect(definition.States.Profile.Parameters.ApplicationId).to.match(/^\$\{data\.terraform_remote_state\..+\}$/);
    expect(definition.States.Profile.Parameters.ExecutionRoleArn).to.match(/^\$\{data\.terraform_remote_state\..+\}$/);
    const statements = JSON.parse(resourceWith(sm, "aws_iam_role_policy", "name", "workflow").policy).Statement as any[];
    const sid = (s: string) => statements.find((x) => x.Sid === s);
    expect(sid("CountRows1").Resource[0]).to.match(new RegExp(`:athena:${config.region}:.+:workgroup/${names.athenaWorkGroup}$`));
    expect(sid("CountRows2").Resource[0]).to.match(/^\$\{data\.terraform_remote_state\..+\}$/); // the data-lake bucket's ARN
    expect(sid("CountRows3").Resource[1]).to.match(new RegExp(`:glue:${config.region}:.+:database/${config.glue.databaseName}$`));
    expect(sid("Profile1").Resource[0]).to.equal(`${sid("Profile1").Resource[0].split(":/applications/")[0]}:/applications/${definition.States.Profile.Parameters.ApplicationId}`);
    expect(sid("Profile4")).to.deep.include({ Action: ["iam:PassRole"], Resource: [definition.States.Profile.Parameters.ExecutionRoleArn] });
    const wildcards = statements.filter((s) => s.Resource.includes("*")).map((s) => s.Sid);
    expect(wildcards.sort()).to.deep.equal(["CountRows4", "LogDelivery", "Tracing"]); // Lake Formation, logs and X-Ray have no resource-level permissions
    expect(JSON.stringify(sm)).to.not.include("cdktf-reference");
  });

  it("without an EMR Serverless application, the placeholder is unknown and the synth names it", () => {
    expect(() => synth(false)).to.throw(/unknown placeholders? \$\{EmrApplicationId\}.*Known placeholders: .*\$\{AthenaWorkGroup\}/s);
  });
});
