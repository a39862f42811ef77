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

  /** A statement allowing `access` to the objects at `keys` of this bucket (see objectsStatement). */
  grantObjects(sid: string, access: ObjectAccess, keys: readonly string[]): PolicyStatement {
    return objectsStatement(this.bucket.arn, sid, access, keys);
  }

  /** A statement allowing to list this bucket under `prefixes` only (see listStatement). */
  grantList(sid: string, prefixes: readonly string[]): PolicyStatement {
    return listStatement(this.bucket.arn, sid, prefixes);
  }

  /** s3:// URI of `key` in this bucket. */
  uri(key = ""): string {
    return `s3://${this.bucket.bucket}/${key}`;
  }
}

/**
 * What a grant on objects allows: `read` (GetObject); `write`: read, overwrite and delete (a job's output, which
 * Spark's committer also reads back); `stage`: write plus aborting multipart uploads (staging and publishing).
 */
export type ObjectAccess = "read" | "write" | "stage";
const OBJECT_ACTIONS: Record<ObjectAccess, string[]> = {
  read: ["s3:GetObject"],
  write: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
  stage: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
};

/**
 * A statement allowing `access` to objects of the bucket `bucketArn` (a SecureBucket's, or one another stack passes):
 * a key ending with '/' is a prefix (every object under it), any other key that one object.
 */
export function objectsStatement(bucketArn: string, sid: string, access: ObjectAccess, keys: readonly string[]): PolicyStatement {
  if (keys.length === 0) throw new Error(`statement ${sid}: needs at least one key or prefix`);
  return { Sid: sid, Action: [...OBJECT_ACTIONS[access]], Resource: keys.map((key) => (key.endsWith("/") ? `${bucketArn}/${key}*` : `${bucketArn}/${key}`)) };
}

/** A statement allowing to list the bucket `bucketArn` only where the request's prefix matches one of `prefixes` (patterns, e.g. "raw/*"). */
export function listStatement(bucketArn: string, sid: string, prefixes: readonly string[]): PolicyStatement {
  if (prefixes.length === 0) throw new Error(`statement ${sid}: needs at least one prefix`);
  return { Sid: sid, Action: ["s3:ListBucket"], Resource: [bucketArn], Condition: { StringLike: { "s3:prefix": [...prefixes] } } };
}

/** Patterns that match a prefix itself and everything under it ("raw/" → "raw/", "raw/*"), for listStatement. */
export const prefixAndBelow = (prefixes: Iterable<string>): string[] => [...prefixes].flatMap((p) => [p, `${p}*`]);
