import { expect } from "chai";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { synthScope } from "../stack-traces";
import { policyDocument } from "../../../stacks/iam-policy";
import { listStatement, objectsStatement, prefixAndBelow, SecureBucket } from "../../../stacks/constructs/secure-bucket";

const BUCKET = "arn:aws:s3:::lake";

describe("SecureBucket grants", () => {
  it("objectsStatement: a key ending with '/' grants every object under it, any other key that one object", () => {
    expect(objectsStatement(BUCKET, "Read", "read", ["raw/", "specs/job.json"])).to.deep.equal({
      Sid: "Read",
      Action: ["s3:GetObject"],
      Resource: ["arn:aws:s3:::lake/raw/*", "arn:aws:s3:::lake/specs/job.json"],
    });
  });

  it("objectsStatement: write may overwrite and delete; stage may also abort multipart uploads; nothing grants listing or bucket actions", () => {
    expect(objectsStatement(BUCKET, "W", "write", ["out/"]).Action).to.deep.equal(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
    expect(objectsStatement(BUCKET, "S", "stage", ["staging/"]).Action).to.deep.equal(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]);
    // Each call gets its own action list: a caller's change cannot leak into the next grant.
    objectsStatement(BUCKET, "R", "read", ["a/"]).Action.push("s3:PutObject");
    expect(objectsStatement(BUCKET, "R", "read", ["a/"]).Action).to.deep.equal(["s3:GetObject"]);
  });

  it("listStatement lists the bucket only under the given prefixes; prefixAndBelow matches a prefix and what is under it", () => {
    expect(listStatement(BUCKET, "List", prefixAndBelow(["raw/", "tmp/"]))).to.deep.equal({
      Sid: "List",
      Action: ["s3:ListBucket"],
      Resource: [BUCKET],
      Condition: { StringLike: { "s3:prefix": ["raw/", "raw/*", "tmp/", "tmp/*"] } },
    });
  });

  it("refuses a grant on no key and a listing under no prefix (it would grant nothing, or the whole bucket)", () => {
    expect(() => objectsStatement(BUCKET, "Read", "read", [])).to.throw(/statement Read: needs at least one key or prefix/);
    expect(() => listStatement(BUCKET, "List", [])).to.throw(/statement List: needs at least one prefix/);
  });

  it("the construct's grantObjects and grantList name its own bucket", () => {
    const out = JSON.parse(
      synthScope((scope) => {
        const bucket = new SecureBucket(scope, "lake", { bucketPrefix: "lake-" });
        const policy = policyDocument([bucket.grantObjects("Read", "read", ["raw/"]), bucket.grantList("List", ["raw/*"])]);
        new IamRolePolicy(scope, "grants", { role: "r", policy });
      }),
    );
    const bucketArn = `\${aws_s3_bucket.${Object.keys(out.resource.aws_s3_bucket)[0]}.arn}`;
    const expected = [objectsStatement(bucketArn, "Read", "read", ["raw/"]), listStatement(bucketArn, "List", ["raw/*"])].map((st) => ({ Effect: "Allow", ...st }));
    expect(JSON.parse(out.resource.aws_iam_role_policy.grants.policy).Statement).to.deep.equal(expected);
  });
});
