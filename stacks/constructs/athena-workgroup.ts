import { AthenaWorkgroup as AthenaWorkgroupResource } from "@cdktf/provider-aws/lib/athena-workgroup";
import { Construct } from "constructs";
import { ATHENA_RESULTS_PREFIX } from "../../core/job-specs";
import type { PolicyStatement } from "../iam-policy";
import type { SecureBucket } from "./secure-bucket";

export interface AthenaWorkgroupProps {
  /** Workgroup name. */
  readonly name: string;
  /** The bucket that holds the query results (and their metadata). */
  readonly resultsBucket: SecureBucket;
  /** Key prefix of the results in that bucket. @default ATHENA_RESULTS_PREFIX (core/job-specs.ts) */
  readonly resultsPrefix?: string;
  /** Athena cancels a query that would scan more bytes; at least 10,000,000 (Athena's minimum). */
  readonly bytesScannedCutoffPerQuery: number;
  /** @default "" */
  readonly description?: string;
}

/**
 * An Athena workgroup that enforces its configuration: clients cannot override the results location, its
 * encryption (SSE-S3) or the bytes-scanned limit per query. CloudWatch metrics are on; engine version 3.
 */
export class AthenaWorkgroup extends Construct {
  readonly workgroup: AthenaWorkgroupResource;
  readonly workGroupName: string;
  readonly workGroupArn: string;
  readonly resultsBucketArn: string;
  readonly resultsPrefix: string;

  constructor(scope: Construct, id: string, props: AthenaWorkgroupProps) {
    super(scope, id);
    const resultsPrefix = props.resultsPrefix ?? ATHENA_RESULTS_PREFIX;
    if (!/^([A-Za-z0-9_.=-]+\/)+$/.test(resultsPrefix)) throw new Error(`${this.node.path}: resultsPrefix '${resultsPrefix}' must be a key prefix ending with '/'`);
    if (!Number.isInteger(props.bytesScannedCutoffPerQuery) || props.bytesScannedCutoffPerQuery < 10_000_000)
      throw new Error(`${this.node.path}: bytesScannedCutoffPerQuery ${props.bytesScannedCutoffPerQuery} must be an integer of at least 10000000 (Athena's minimum)`);
    this.workgroup = new AthenaWorkgroupResource(this, "workgroup", {
      name: props.name,
      description: props.description ?? "",
      state: "ENABLED",
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: "Athena engine version 3" },
        resultConfiguration: {
          outputLocation: props.resultsBucket.uri(resultsPrefix),
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });
    this.workGroupName = this.workgroup.name;
    this.workGroupArn = this.workgroup.arn;
    this.resultsBucketArn = props.resultsBucket.bucket.arn;
    this.resultsPrefix = resultsPrefix;
  }

  /**
   * What a principal needs to run, watch and stop queries in this workgroup: the query actions on the workgroup only,
   * and the results folder (Athena writes results with the caller's credentials). Reading the tables is granted
   * separately, on the catalog and the data the queries read (or with `athenaQueryStatements`).
   */
  grantQueries(): PolicyStatement[] {
    return athenaQueryStatements(this, { catalogArns: [], objectArns: [], bucketArns: [] });
  }
}

/** A workgroup by its attributes: an AthenaWorkgroup, or one another stack passes. */
export interface AthenaWorkgroupAttributes {
  readonly workGroupArn: string;
  /** The bucket the workgroup writes query results to, and their key prefix (ends with '/'). */
  readonly resultsBucketArn: string;
  readonly resultsPrefix: string;
}

/** What queries read with the caller's credentials: Data Catalog ARNs, object ARN patterns and their buckets. */
export interface AthenaQueryReads {
  readonly catalogArns: readonly string[];
  readonly objectArns: readonly string[];
  readonly bucketArns: readonly string[];
}

/**
 * What a principal needs to run queries in `workgroup` that read `reads`: the query actions on the workgroup, the
 * catalog and objects read, the buckets' locations, and the results folder (written and listed under its prefix only).
 * Statements with nothing to name are left out.
 */
export function athenaQueryStatements(workgroup: AthenaWorkgroupAttributes, reads: AthenaQueryReads): PolicyStatement[] {
  const { workGroupArn, resultsBucketArn, resultsPrefix } = workgroup;
  const statements: PolicyStatement[] = [
    {
      Sid: "RunAthenaQueries",
      Action: ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:BatchGetQueryExecution", "athena:ListQueryExecutions", "athena:StopQueryExecution"],
      Resource: [workGroupArn],
    },
    { Sid: "ReadCatalogForAthena", Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"], Resource: [...reads.catalogArns] },
    { Sid: "ReadAthenaInputs", Action: ["s3:GetObject"], Resource: [...reads.objectArns] },
    { Sid: "AthenaBucketLocations", Action: ["s3:GetBucketLocation"], Resource: [...reads.bucketArns, resultsBucketArn] },
    { Sid: "WriteAthenaResults", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: [`${resultsBucketArn}/${resultsPrefix}*`] },
    { Sid: "ListAthenaResults", Action: ["s3:ListBucket"], Resource: [resultsBucketArn], Condition: { StringLike: { "s3:prefix": [`${resultsPrefix}*`] } } },
  ];
  return statements.filter((s) => s.Resource.length > 0);
}
