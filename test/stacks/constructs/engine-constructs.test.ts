import { App, TerraformStack, Testing } from "cdktf";
import { expect } from "chai";
import { AthenaWorkgroup } from "../../../stacks/constructs/athena-workgroup";
import { EmrServerlessApplication } from "../../../stacks/constructs/emr-serverless-application";
import { SecureBucket } from "../../../stacks/constructs/secure-bucket";

const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:123456789012:${resource}`;
const stack = () => new TerraformStack(Testing.app() as App, "test");

describe("stacks/constructs: engines", () => {
  describe("AthenaWorkgroup", () => {
    it("defaults the results prefix and grants queries on the workgroup and the results folder only", () => {
      const scope = stack();
      const workgroup = new AthenaWorkgroup(scope, "wg", { name: "wg", resultsBucket: new SecureBucket(scope, "b", { bucketPrefix: "b-" }), bytesScannedCutoffPerQuery: 10_000_000 });
      expect(workgroup.resultsPrefix).to.equal("athena-results/");
      const statements = workgroup.grantQueries();
      expect(statements.find((s) => s.Sid === "RunAthenaQueries")!.Resource).to.deep.equal([workgroup.workGroupArn]);
      expect(statements.flatMap((s) => s.Resource)).to.not.include("*");
      const synth = JSON.parse(Testing.synth(scope));
      expect(Object.values(synth.resource.aws_athena_workgroup as Record<string, any>)[0].configuration.enforce_workgroup_configuration).to.equal(true);
    });

    it("refuses a scan limit under Athena's minimum and a results prefix that is not a folder", () => {
      const scope = stack();
      const resultsBucket = new SecureBucket(scope, "b", { bucketPrefix: "b-" });
      expect(() => new AthenaWorkgroup(scope, "wg1", { name: "wg", resultsBucket, bytesScannedCutoffPerQuery: 9_999_999 })).to.throw(/bytesScannedCutoffPerQuery 9999999 must be an integer of at least 10000000/);
      expect(() => new AthenaWorkgroup(scope, "wg2", { name: "wg", resultsBucket, resultsPrefix: "results", bytesScannedCutoffPerQuery: 10_000_000 })).to.throw(/resultsPrefix 'results'/);
    });
  });

  describe("EmrServerlessApplication", () => {
    const props = { name: "app", releaseLabel: "emr-7.9.0", maximumCapacity: { cpu: "4 vCPU", memory: "16 GB" }, jobRoleName: "app-job", logRetentionDays: 30, arn };

    it("defaults auto-stop to 15 minutes, and renders grants added after construction into the job role's policy", () => {
      const scope = stack();
      const emr = new EmrServerlessApplication(scope, "emr", props);
      emr.grantJobAccess({ Sid: "ReadInputs", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::bucket/raw/*"] });
      const synth = JSON.parse(Testing.synth(scope));
      const app = Object.values(synth.resource.aws_emrserverless_application as Record<string, any>)[0];
      expect(app.auto_stop_configuration).to.deep.equal({ enabled: true, idle_timeout_minutes: 15 });
      const policy = JSON.parse(Object.values(synth.resource.aws_iam_role_policy as Record<string, any>)[0].policy);
      expect(policy.Statement.map((s: any) => s.Sid)).to.deep.equal(["WriteJobLogs", "FindJobLogGroup", "ReadInputs"]);
      const runs = emr.grantJobRuns();
      expect(runs.find((s) => s.Sid === "PassEmrJobRole")!.Resource).to.deep.equal([emr.jobRoleArn]);
    });

    it("refuses a bad release label, a bad idle timeout and a grant on '*'", () => {
      const scope = stack();
      expect(() => new EmrServerlessApplication(scope, "e1", { ...props, releaseLabel: "7.9" })).to.throw(/releaseLabel '7.9'/);
      expect(() => new EmrServerlessApplication(scope, "e2", { ...props, idleTimeoutMinutes: 0 })).to.throw(/idleTimeoutMinutes 0/);
      const emr = new EmrServerlessApplication(scope, "e3", props);
      expect(() => emr.grantJobAccess({ Sid: "All", Action: ["s3:GetObject"], Resource: ["*"] })).to.throw(/grants on "\*"/);
    });
  });
});
