import { isAbsolute, join, resolve } from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { LocalBackend, S3Backend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { EtlConfig } from "../core/config";

export interface EtlStackProps {
  readonly config: EtlConfig;
}

/**
 * Base of the three stacks: the AWS provider (region, default tags), the state backend from
 * `config.backend`, and the account and partition for ARNs.
 */
export class EtlStack extends TerraformStack {
  readonly config: EtlConfig;
  readonly accountId: string;
  readonly partition: string;

  constructor(scope: Construct, id: string, props: EtlStackProps) {
    super(scope, id);
    const { config } = props;
    this.config = config;
    new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags: [{ tags: { ...config.tags, Environment: config.environment } }],
    });
    const backend = config.backend;
    if (backend.type === "s3") {
      const s3 = new S3Backend(this, {
        bucket: backend.bucket,
        key: `${backend.keyPrefix}${id}.tfstate`,
        region: backend.region ?? config.region,
        encrypt: true,
      });
      // cdktf 0.21 predates S3 native locking, so its config type lacks use_lockfile.
      s3.addOverride("use_lockfile", backend.useLockfile);
    } else {
      // `path` is a folder for the three state files, relative to the configuration file.
      const folder = backend.path === undefined ? undefined : isAbsolute(backend.path) ? backend.path : resolve(config.rootDir, backend.path);
      new LocalBackend(this, folder === undefined ? {} : { path: join(folder, `${id}.tfstate`) });
    }
    this.accountId = new DataAwsCallerIdentity(this, "account").accountId;
    this.partition = new DataAwsPartition(this, "partition").partition;
  }

  /** An ARN in this stack's account and region, e.g. `arn("logs", "log-group:/aws-glue/*")`. */
  arn(service: string, resource: string): string {
    return `arn:${this.partition}:${service}:${this.config.region}:${this.accountId}:${resource}`;
  }
}
