import { expect } from "chai";
import { FIXTURE_CONFIG, policies, resources, synthFile, type TfJson } from "./synth";

// Actions that accept no resource ARN (Service Authorization Reference: empty "Resource types" column),
// so "*" is the narrowest scope; anything else granted on "*" fails the test.
const STAR_RESOURCE_ALLOWED: Record<string, string> = {
  "xray:PutTraceSegments": "X-Ray has no resource type for trace data",
  "xray:PutTelemetryRecords": "X-Ray has no resource type for telemetry",
  "xray:GetSamplingRules": "X-Ray sampling rules are read account-wide by the SFN tracing integration",
  "xray:GetSamplingTargets": "X-Ray sampling targets are account-wide",
  "cloudwatch:PutMetricData": "no resource type; scoped by the cloudwatch:namespace condition instead",
  "logs:CreateLogDelivery": "vended log delivery (SFN logging) has no resource type",
  "logs:GetLogDelivery": "vended log delivery has no resource type",
  "logs:UpdateLogDelivery": "vended log delivery has no resource type",
  "logs:DeleteLogDelivery": "vended log delivery has no resource type",
  "logs:ListLogDeliveries": "vended log delivery has no resource type",
  "logs:PutResourcePolicy": "SFN logging sets the log group resource policy; account-level",
  "logs:DescribeResourcePolicies": "account-level list",
  "logs:DescribeLogGroups": "SFN logging lists log groups; account-level",
};

const STACKS = ["glue", "stateMachine", "runner"] as const;
const stacks = (file?: string): TfJson[] => STACKS.map((key) => synthFile(file)[key]);

for (const [label, file] of [
  ["example configuration", undefined],
  ["three-datasets fixture", FIXTURE_CONFIG],
] as const) {
  describe(`security properties (${label})`, () => {
    for (const name of STACKS) {
      describe(`${name} stack`, () => {
        let stack: TfJson;
        before(() => {
          stack = synthFile(file)[name];
        });

        it("grants no wildcard action (Allow statements)", () => {
          for (const { where, document } of policies(stack)) {
            for (const s of document.Statement.filter((s: any) => s.Effect === "Allow")) {
              for (const action of [s.Action].flat()) {
                expect(action, `${where} ${s.Sid ?? ""}`).to.not.equal("*");
                expect(action, `${where} ${s.Sid ?? ""}`).to.not.match(/^[a-z0-9-]+:\*$/);
              }
            }
          }
        });

        it("grants resource '*' only to actions that have no resource type, with a condition where one exists", () => {
          for (const { where, document } of policies(stack)) {
            for (const s of document.Statement.filter((s: any) => s.Effect === "Allow" && s.Resource !== undefined)) {
              if (![s.Resource].flat().includes("*")) continue;
              for (const action of [s.Action].flat()) expect(STAR_RESOURCE_ALLOWED, `${where} ${s.Sid}: ${action} on *`).to.have.property(action);
              if ([s.Action].flat().includes("cloudwatch:PutMetricData")) expect(s.Condition?.StringEquals?.["cloudwatch:namespace"], where).to.equal("Glue");
            }
          }
        });

        it("encrypts, blocks public access to and denies plain HTTP on every bucket", () => {
          const buckets = Object.keys(resources(stack, "aws_s3_bucket"));
          const ref = (id: string) => `\${aws_s3_bucket.${id}.id}`;
          for (const id of buckets) {
            const sse = Object.values(resources(stack, "aws_s3_bucket_server_side_encryption_configuration")).find((r) => r.bucket === ref(id));
            expect(sse?.rule[0].apply_server_side_encryption_by_default.sse_algorithm, id).to.be.oneOf(["AES256", "aws:kms"]);
            const block = Object.values(resources(stack, "aws_s3_bucket_public_access_block")).find((r) => r.bucket === ref(id));
            expect(block, id).to.include({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
            const ownership = Object.values(resources(stack, "aws_s3_bucket_ownership_controls")).find((r) => r.bucket === ref(id));
            expect(ownership?.rule.object_ownership, id).to.equal("BucketOwnerEnforced");
            const policy = Object.values(resources(stack, "aws_s3_bucket_policy")).find((r) => r.bucket === ref(id));
            const deny = JSON.parse(policy.policy).Statement.find((s: any) => s.Effect === "Deny");
            expect(deny.Condition, id).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
            expect(deny.Resource, id).to.deep.equal([`\${aws_s3_bucket.${id}.arn}`, `\${aws_s3_bucket.${id}.arn}/*`]);
          }
        });

        it("gives every table TTL, point-in-time recovery, encryption and on-demand billing", () => {
          for (const [id, table] of Object.entries(resources(stack, "aws_dynamodb_table"))) {
            expect(table.ttl, id).to.deep.equal({ attribute_name: "expiresAt", enabled: true });
            expect(table.point_in_time_recovery, id).to.deep.equal({ enabled: true });
            expect(table.server_side_encryption, id).to.deep.equal({ enabled: true });
            expect(table.billing_mode, id).to.equal("PAY_PER_REQUEST");
          }
        });

        it("scopes every Lambda permission to a source ARN", () => {
          for (const [id, p] of Object.entries(resources(stack, "aws_lambda_permission"))) expect(p.source_arn, id).to.be.a("string").and.not.equal("");
        });
      });
    }

    it("has three buckets (data lake, artifacts, access logs) and two tables across the stacks", () => {
      const all = stacks(file);
      expect(all.flatMap((s) => Object.keys(resources(s, "aws_s3_bucket")))).to.have.length(3);
      expect(all.flatMap((s) => Object.keys(resources(s, "aws_dynamodb_table")))).to.have.length(2);
    });
  });
}
