import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EmrserverlessApplication } from "@cdktf/provider-aws/lib/emrserverless-application";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Lazy } from "cdktf";
import { Construct } from "constructs";
import { policyDocument, type PolicyStatement } from "../iam-policy";

export interface EmrServerlessApplicationProps {
  /** Application name. */
  readonly name: string;
  /** EMR release, e.g. "emr-7.9.0" (Spark 3.5). */
  readonly releaseLabel: string;
  /** The application stops after this long without jobs. @default 15 */
  readonly idleTimeoutMinutes?: number;
  /** The most the application uses at once, over all its running jobs, e.g. { cpu: "8 vCPU", memory: "32 GB" }. */
  readonly maximumCapacity: { cpu: string; memory: string };
  /** Name of the execution role the job runs assume. */
  readonly jobRoleName: string;
  /** Retention of the job runs' log group. */
  readonly logRetentionDays: number;
  /** ARN of the account's region ("arn:<partition>:<service>:<region>:<account>:"), for the log group ARN. */
  readonly arn: (service: string, resource: string) => string;
}

/**
 * An EMR Serverless Spark application (auto-start and auto-stop on, capped capacity, logs in its own CloudWatch log
 * group) and the execution role its job runs assume. The role can only write the application's logs until grants
 * add what the jobs read and write (grantJobAccess).
 */
export class EmrServerlessApplication extends Construct {
  readonly application: EmrserverlessApplication;
  readonly jobRole: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly applicationId: string;
  readonly applicationArn: string;
  readonly jobRoleArn: string;
  private readonly statements: PolicyStatement[] = [];

  constructor(scope: Construct, id: string, props: EmrServerlessApplicationProps) {
    super(scope, id);
    if (!/^emr-\d+\.\d+\.\d+$/.test(props.releaseLabel)) throw new Error(`${this.node.path}: releaseLabel '${props.releaseLabel}' must look like 'emr-7.9.0'`);
    const idleTimeoutMinutes = props.idleTimeoutMinutes ?? 15;
    if (!Number.isInteger(idleTimeoutMinutes) || idleTimeoutMinutes < 1 || idleTimeoutMinutes > 10080)
      throw new Error(`${this.node.path}: idleTimeoutMinutes ${idleTimeoutMinutes} must be an integer from 1 to 10080`);

    this.logGroup = new CloudwatchLogGroup(this, "logs", { name: `/aws/emr-serverless/${props.name}`, retentionInDays: props.logRetentionDays });
    this.application = new EmrserverlessApplication(this, "application", {
      name: props.name,
      releaseLabel: props.releaseLabel,
      type: "spark",
      autoStartConfiguration: { enabled: true },
      autoStopConfiguration: { enabled: true, idleTimeoutMinutes },
      maximumCapacity: { cpu: props.maximumCapacity.cpu, memory: props.maximumCapacity.memory },
      monitoringConfiguration: { cloudwatchLoggingConfiguration: { enabled: true, logGroupName: this.logGroup.name } },
    });
    this.applicationId = this.application.id;
    this.applicationArn = this.application.arn;

    this.jobRole = new IamRole(this, "job-role", {
      name: props.jobRoleName,
      description: `Execution role of the job runs of the EMR Serverless application ${props.name}`,
      // Only job runs of this application may assume it (confused-deputy guard).
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "emr-serverless.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { ArnLike: { "aws:SourceArn": `${this.applicationArn}/jobruns/*` } } },
        ],
      }),
    });
    this.jobRoleArn = this.jobRole.arn;
    this.statements.push(
      { Sid: "WriteJobLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [this.logGroup.arn, `${this.logGroup.arn}:*`] },
      { Sid: "FindJobLogGroup", Action: ["logs:DescribeLogGroups"], Resource: [props.arn("logs", "log-group:*")] },
    );
    // The policy is rendered at synthesis, after every grant.
    new IamRolePolicy(this, "job-policy", { role: this.jobRole.id, name: "emr-jobs", policy: Lazy.stringValue({ produce: () => policyDocument(this.statements) }) });
  }

  /** Adds statements to the job role (what the jobs read and write); scope them to ARNs. */
  grantJobAccess(...statements: PolicyStatement[]): void {
    for (const s of statements) if (s.Resource.includes("*")) throw new Error(`${this.node.path}: statement ${s.Sid ?? s.Action.join(",")} grants on "*"; scope it to ARNs`);
    this.statements.push(...statements);
  }

  /** What a principal needs to start, watch and cancel job runs on this application with its job role. */
  grantJobRuns(): PolicyStatement[] {
    return emrJobRunStatements(this);
  }
}

/** An application by its attributes: an EmrServerlessApplication, or one another stack passes. */
export interface EmrServerlessApplicationAttributes {
  readonly applicationArn: string;
  readonly jobRoleArn: string;
}

/** What a principal needs to start, watch and cancel job runs on `application`, passing its job role to them. */
export function emrJobRunStatements(application: EmrServerlessApplicationAttributes): PolicyStatement[] {
  return [
    {
      Sid: "RunEmrServerlessJobs",
      Action: ["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"],
      Resource: [application.applicationArn, `${application.applicationArn}/jobruns/*`],
    },
    { Sid: "PassEmrJobRole", Action: ["iam:PassRole"], Resource: [application.jobRoleArn], Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } } },
  ];
}
