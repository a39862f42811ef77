import { isAbsolute, join, relative, resolve } from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { LocalBackend, S3Backend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { PROJECT_ROOT, type EtlConfig } from "../core/config";

/** The folder cdktf runs terraform in for a stack (cdktf.json's default output, cdktf.out). */
export const stackWorkingDir = (id: string) => join(PROJECT_ROOT, "cdktf.out", "stacks", id);

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
    // cdktf writes the shorthand "aws"; the registry address says which provider it is.
    this.addOverride("terraform.required_providers.aws.source", "hashicorp/aws");
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
      // `path` is a folder for the three state files, relative to the configuration file; by default the state is
      // cdktf's terraform.<stack id>.tfstate at the project root. A relative `path` is written relative to the
      // folder terraform runs in, so the synthesized stacks hold no absolute path of the machine that synthesized them.
      const file = backend.path === undefined ? join(PROJECT_ROOT, `terraform.${id}.tfstate`) : join(resolve(config.rootDir, backend.path), `${id}.tfstate`);
      new LocalBackend(this, { path: backend.path !== undefined && isAbsolute(backend.path) ? file : relative(stackWorkingDir(id), file) });
    }
    this.accountId = new DataAwsCallerIdentity(this, "account").accountId;
    this.partition = new DataAwsPartition(this, "partition").partition;
  }

  /** An ARN in this stack's account and region, e.g. `arn("logs", "log-group:/aws-glue/*")`. */
  arn(service: string, resource: string): string {
    return `arn:${this.partition}:${service}:${this.config.region}:${this.accountId}:${resource}`;
  }
}
