import { expect } from "chai";
import { synthScope } from "../stack-traces";
import { SecureBucket } from "../../../stacks/constructs/secure-bucket";

describe("SecureBucket", () => {
  const synth = (versioned: boolean) => JSON.parse(synthScope((scope) => void new SecureBucket(scope, "b", { bucketPrefix: "data-", versioned })));
  const dependsOn = (out: any, type: string) => Object.values<any>(out.resource[type])[0].depends_on;

  it("writes the bucket's configuration one resource at a time (S3 aborts concurrent writes to a bucket)", () => {
    const out = synth(true);
    expect(dependsOn(out, "aws_s3_bucket_ownership_controls")).to.deep.equal([`aws_s3_bucket_public_access_block.${Object.keys(out.resource.aws_s3_bucket_public_access_block)[0]}`]);
    expect(dependsOn(out, "aws_s3_bucket_server_side_encryption_configuration")[0]).to.match(/^aws_s3_bucket_ownership_controls\./);
    expect(dependsOn(out, "aws_s3_bucket_versioning")[0]).to.match(/^aws_s3_bucket_server_side_encryption_configuration\./);
    expect(dependsOn(out, "aws_s3_bucket_policy")[0]).to.match(/^aws_s3_bucket_versioning\./);
    expect(dependsOn(synth(false), "aws_s3_bucket_policy")[0]).to.match(/^aws_s3_bucket_server_side_encryption_configuration\./);
  });

  it("rejects a prefix S3 cannot use, naming it", () => {
    expect(() => synthScope((scope) => void new SecureBucket(scope, "b", { bucketPrefix: "Data_" }))).to.throw(/bucketPrefix 'Data_'/);
  });
});
