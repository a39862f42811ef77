import { GlueJob as GlueJobResource } from "@cdktf/provider-aws/lib/glue-job";
import { Token } from "cdktf";
import { Construct } from "constructs";
import type { PolicyStatement } from "../iam-policy";
import type { Grantee } from "./grantee";

/** Glue's worker types for Spark jobs. */
export const GLUE_WORKER_TYPES = ["G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X"] as const;

/** Arguments the construct sets from its props; `arguments` may not set them. */
const OWN_ARGUMENTS = ["--extra-py-files", "--extra-files", "--job-language", "--enable-metrics", "--enable-continuous-cloudwatch-log", "--TempDir"];

export interface GlueJobProps {
  /** Job name: 1-255 letters, digits, '-', '_' or '.'. */
  readonly jobName: string;
  /** @default none */
  readonly description?: string;
  /** ARN of the role the job runs as. */
  readonly roleArn: string;
  /** s3:// URI of the PySpark script. */
  readonly scriptLocation: string;
  /** Glue version, e.g. "5.0". */
  readonly glueVersion: string;
  /** @default "G.1X" */
  readonly workerType?: (typeof GLUE_WORKER_TYPES)[number];
  /** At least 2 (one driver, one executor). @default 2 */
  readonly numberOfWorkers?: number;
  /** Glue stops a run after this long; 1 to 10080. @default 2880 (Glue's default, 48 hours) */
  readonly timeoutMinutes?: number;
  /** Runs of this job at once. @default 1 */
  readonly maxConcurrentRuns?: number;
  /** Name of the Glue security configuration the runs use. @default none */
  readonly securityConfiguration?: string;
  /** s3:// URIs of Python modules the script imports (--extra-py-files). @default none */
  readonly extraPyFiles?: readonly string[];
  /** s3:// URIs of files copied next to the script (--extra-files). @default none */
  readonly extraFiles?: readonly string[];
  /** s3:// URI of Glue's temporary folder (--TempDir). @default none */
  readonly tempDir?: string;
  /** Default job arguments, each key starting with "--" (not one the construct sets itself). @default {} */
  readonly arguments?: Readonly<Record<string, string>>;
}

/**
 * A Glue Spark job (`glueetl`, Python 3) with metrics and continuous CloudWatch logs on and no Glue retries:
 * retries belong to the state machine. Grant starting and watching its runs with `grantStartAndMonitor`.
 *
 * The job resource has the construct id "Default", so it keeps the Terraform address of the construct's id
 * (`aws_glue_job.<id>`).
 */
export class GlueJob extends Construct {
  readonly job: GlueJobResource;
  readonly jobName: string;
  readonly jobArn: string;

  constructor(scope: Construct, id: string, props: GlueJobProps) {
    super(scope, id);
    const where = `${this.node.path} (${props.jobName})`;
    const numberOfWorkers = props.numberOfWorkers ?? 2;
    const timeout = props.timeoutMinutes ?? 2880;
    const maxConcurrentRuns = props.maxConcurrentRuns ?? 1;
    const workerType = props.workerType ?? "G.1X";
    const args = props.arguments ?? {};
    if (!Token.isUnresolved(props.jobName) && !/^[A-Za-z0-9_.-]{1,255}$/.test(props.jobName))
      throw new Error(`${where}: jobName '${props.jobName}' must be 1-255 letters, digits, '-', '_' or '.'`);
    if (!/^\d+\.\d+$/.test(props.glueVersion)) throw new Error(`${where}: glueVersion '${props.glueVersion}' must look like '5.0'`);
    if (!(GLUE_WORKER_TYPES as readonly string[]).includes(workerType)) throw new Error(`${where}: workerType '${workerType}' must be one of ${GLUE_WORKER_TYPES.join(", ")}`);
    if (!Number.isInteger(numberOfWorkers) || numberOfWorkers < 2) throw new Error(`${where}: numberOfWorkers ${numberOfWorkers} must be an integer of at least 2`);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 10080) throw new Error(`${where}: timeoutMinutes ${timeout} must be an integer from 1 to 10080`);
    if (!Number.isInteger(maxConcurrentRuns) || maxConcurrentRuns < 1) throw new Error(`${where}: maxConcurrentRuns ${maxConcurrentRuns} must be a positive integer`);
    const badKeys = Object.keys(args).filter((k) => !k.startsWith("--") || OWN_ARGUMENTS.includes(k));
    if (badKeys.length) throw new Error(`${where}: arguments ${badKeys.join(", ")}: keys start with '--' and may not be one of ${OWN_ARGUMENTS.join(", ")} (set by props)`);

    this.job = new GlueJobResource(this, "Default", {
      name: props.jobName,
      description: props.description,
      roleArn: props.roleArn,
      glueVersion: props.glueVersion,
      workerType,
      numberOfWorkers,
      timeout,
      // Retries belong to the state machine.
      maxRetries: 0,
      executionProperty: { maxConcurrentRuns },
      securityConfiguration: props.securityConfiguration,
      command: { name: "glueetl", pythonVersion: "3", scriptLocation: props.scriptLocation },
      defaultArguments: {
        ...args,
        ...(props.extraPyFiles?.length ? { "--extra-py-files": props.extraPyFiles.join(",") } : {}),
        ...(props.extraFiles?.length ? { "--extra-files": props.extraFiles.join(",") } : {}),
        "--job-language": "python",
        "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        ...(props.tempDir ? { "--TempDir": props.tempDir } : {}),
      },
    });
    this.jobName = this.job.name;
    this.jobArn = this.job.arn;
  }

  /**
   * What the role of Glue jobs needs besides their data: writing their logs (`/aws-glue/*` log groups) and metrics.
   * `arn(service, resource)` builds an ARN in the stack's account and region.
   */
  static roleRuntimeStatements(arn: (service: string, resource: string) => string): PolicyStatement[] {
    return [
      {
        Sid: "GlueLogs",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [arn("logs", "log-group:/aws-glue/*"), arn("logs", "log-group:/aws-glue/*:log-stream:*")],
      },
      // PutMetricData has no resource type; the namespace condition is the only scope.
      { Sid: "GlueMetrics", Action: ["cloudwatch:PutMetricData"], Resource: ["*"], Condition: { StringEquals: { "cloudwatch:namespace": "Glue" } } },
    ];
  }

  /**
   * Lets `grantee` start runs of this job, read their state and stop them (what the ETL runner does), in its
   * inline policy "glue-jobs"; the grants of several jobs share that policy's one statement.
   */
  grantStartAndMonitor(grantee: Grantee): void {
    grantee.addToRolePolicy("glue-jobs", [{ Sid: "RunProjectJobs", Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], Resource: [this.jobArn] }]);
  }
}
