import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { policyDocument } from "../iam-policy";

export interface SecureBucketProps {
  /** Bucket name prefix; AWS appends a unique suffix. */
  readonly bucketPrefix: string;
  /** Keep object versions. @default false */
  readonly versioned?: boolean;
}

/** An S3 bucket that is encrypted (SSE-S3), private (all public access blocked, owner-enforced) and TLS-only. */
export class SecureBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    if (!/^[a-z0-9][a-z0-9-]{0,36}$/.test(props.bucketPrefix))
      throw new Error(`${this.node.path}: bucketPrefix '${props.bucketPrefix}' must be lower-case letters, digits and '-' (at most 37 characters)`);

    this.bucket = new S3Bucket(this, "bucket", { bucketPrefix: props.bucketPrefix });
    // One bucket-level write at a time: S3 answers concurrent configuration writes to one bucket with
    // OperationAborted, so each waits for the one before it.
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const ownership = new S3BucketOwnershipControls(this, "ownership", {
      bucket: this.bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
      dependsOn: [publicAccessBlock],
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      dependsOn: [ownership],
    });
    const versioning = props.versioned
      ? new S3BucketVersioningA(this, "versioning", { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" }, dependsOn: [encryption] })
      : undefined;
    new S3BucketPolicy(this, "tls-only", {
      bucket: this.bucket.id,
      policy: policyDocument([
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: ["s3:*"],
          Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ]),
      dependsOn: [versioning ?? encryption],
    });
  }

  /** ARN pattern of the objects under `prefix` (e.g. "raw/"). */
  objectsArn(prefix: string): string {
    return `${this.bucket.arn}/${prefix}*`;
  }

  /** s3:// URI of `key` in this bucket. */
  uri(key = ""): string {
    return `s3://${this.bucket.bucket}/${key}`;
  }
}
