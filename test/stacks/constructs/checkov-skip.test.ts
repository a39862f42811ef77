import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { expect } from "chai";
import { TerraformStack, Testing } from "cdktf";
import type { Construct } from "constructs";
import { skipCheck, skipLogGroupChecks, skipsOf } from "../../../stacks/constructs/checkov-skip";
import { withCheckovSkips } from "../../../tools/synth-hcl/canonical";

describe("skipCheck (checkov suppressions next to the resource)", () => {
  /** A stack's JSON with its "//" metadata (Testing.synth removes it). */
  const toTerraform = (build: (scope: Construct) => void): any => {
    const stack = new TerraformStack(Testing.app(), "s");
    build(stack);
    return stack.toTerraform();
  };
  const synthBucket = (apply: (bucket: S3Bucket) => void) => toTerraform((scope) => apply(new S3Bucket(scope, "b", { bucket: "x" }))).resource.aws_s3_bucket.b;

  it("records each skip with its reason in the resource's metadata", () => {
    const json = synthBucket((b) => {
      skipCheck(b, "CKV_AWS_18", "  no access logs here ");
      skipCheck(b, "CKV2_AWS_62", "nothing reacts to uploads");
    });
    expect(skipsOf(json)).to.deep.equal([
      { id: "CKV_AWS_18", reason: "no access logs here" },
      { id: "CKV2_AWS_62", reason: "nothing reacts to uploads" },
    ]);
    expect(skipsOf({ bucket: "x" })).to.deep.equal([]);
  });

  it("rejects an unknown id, a missing or multi-line reason and a second skip of one check, naming the resource", () => {
    for (const [id, reason, message] of [
      ["CKV_GCP_1", "r", /not a checkov AWS check id/],
      ["CKV_AWS_18", " ", /one line of 1-200 characters/],
      ["CKV_AWS_18", "a\nb", /one line/],
      ["CKV_AWS_18", "x".repeat(201), /1-200 characters/],
    ] as const)
      expect(() => synthBucket((b) => skipCheck(b, id, reason)), `${id} ${JSON.stringify(reason)}`).to.throw(message);
    expect(() => synthBucket((b) => (skipCheck(b, "CKV_AWS_18", "a"), skipCheck(b, "CKV_AWS_18", "b")))).to.throw(/\/b: checkov skip "CKV_AWS_18": already skipped/);
  });

  it("skips the one-year retention check only while the configured retention is shorter", () => {
    const skipped = (days: number) =>
      skipsOf(toTerraform((scope) => skipLogGroupChecks(new CloudwatchLogGroup(scope, "g", { name: "g", retentionInDays: days }), days)).resource.aws_cloudwatch_log_group.g).map((s) => s.id);
    expect(skipped(30)).to.deep.equal(["CKV_AWS_158", "CKV_AWS_338"]);
    expect(skipped(365)).to.deep.equal(["CKV_AWS_158"]);
  });

  it("becomes a # checkov:skip comment at the top of the resource's HCL block, where checkov reads it", () => {
    const json = { resource: { aws_s3_bucket: { b: synthBucket((b) => skipCheck(b, "CKV_AWS_18", "no logs")), c: { bucket: "y" } } } };
    const hcl = ['resource "aws_s3_bucket" "b" {', '  bucket = "x"', "}", 'resource "aws_s3_bucket" "c" {', '  bucket = "y"', "}"].join("\n");
    expect(withCheckovSkips(hcl, json).split("\n")).to.deep.equal([
      'resource "aws_s3_bucket" "b" {',
      "  # checkov:skip=CKV_AWS_18:no logs",
      '  bucket = "x"',
      "}",
      'resource "aws_s3_bucket" "c" {',
      '  bucket = "y"',
      "}",
    ]);
  });
});
