import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration, type S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { policyDocument, type PolicyStatement } from "../iam-policy";
import { skipCheck } from "./checkov-skip";

export interface SecureBucketProps {
  /** Bucket name prefix; AWS appends a unique suffix. */
  readonly bucketPrefix: string;
  /** Keep object versions. @default false */
  readonly versioned?: boolean;
  /** Lifecycle rules. @default none */
  readonly lifecycleRules?: S3BucketLifecycleConfigurationRule[];
  /** The bucket S3 writes this bucket's server access logs to, under `<this bucket's name>/`. @default no access logs */
  readonly accessLogs?: SecureBucket;
  /** This bucket receives the server access logs of the buckets of this account (S3's log delivery may write). @default false */
  readonly accessLogTargetFor?: { readonly accountId: string };
}

/**
 * An S3 bucket that is encrypted (SSE-S3), private (all public access blocked, owner-enforced) and TLS-only,
 * optionally versioned, with lifecycle rules and with server access logs.
 */
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
    let last: S3BucketServerSideEncryptionConfigurationA | S3BucketVersioningA | S3BucketLifecycleConfiguration | S3BucketLoggingA = encryption;
    if (props.versioned) last = new S3BucketVersioningA(this, "versioning", { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" }, dependsOn: [last] });
    if (props.lifecycleRules?.length) last = new S3BucketLifecycleConfiguration(this, "lifecycle", { bucket: this.bucket.id, rule: props.lifecycleRules, dependsOn: [last] });
    if (props.accessLogs)
      last = new S3BucketLoggingA(this, "access-logs", { bucket: this.bucket.id, targetBucket: props.accessLogs.bucket.id, targetPrefix: `${this.bucket.bucket}/`, dependsOn: [last] });
    const statements: PolicyStatement[] = [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:*"],
        Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ];
    if (props.accessLogTargetFor)
      statements.push({
        Sid: "S3ServerAccessLogs",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: ["s3:PutObject"],
        Resource: [`${this.bucket.arn}/*`],
        Condition: { StringEquals: { "aws:SourceAccount": props.accessLogTargetFor.accountId } },
      });
    new S3BucketPolicy(this, "tls-only", { bucket: this.bucket.id, policy: policyDocument(statements), dependsOn: [last] });
    skipCheck(this.bucket, "CKV_AWS_144", "one region by design; the data is rebuilt from the raw uploads, replication would double the storage");
    skipCheck(this.bucket, "CKV_AWS_145", "SSE-S3 encrypts at rest (S3 access logs support no other); a customer-managed key adds key policies for no access gain");
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
