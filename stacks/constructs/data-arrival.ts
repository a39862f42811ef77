import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import type { SfnActivity } from "@cdktf/provider-aws/lib/sfn-activity";
import type { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import { Construct } from "constructs";
import { resourceNames, type EtlConfig } from "../../core/config";
import { ARRIVAL_TABLE } from "../../core/table-keys";
import { FUNCTIONS, STATE_MACHINE_ARN_REF, UPLOADS } from "../../core/topology";
import { grantAnnounceRunnerTasks } from "./default-event-bus";
import { EncryptedTable } from "./encrypted-table";
import { grantActivityTasks } from "./etl-state-machine";
import type { Grantee } from "./grantee";
import { LambdaEventRule } from "./lambda-event-rule";
import { NodejsFunction } from "./nodejs-function";
import type { SecureBucket } from "./secure-bucket";

export interface DataArrivalProps {
  /** The configuration: datasets (prefixes), the function's settings, the schedules. */
  readonly config: EtlConfig;
  /** The data-lake bucket: its uploads under a dataset's prefix invoke the function. */
  readonly dataLake: SecureBucket;
  /** The "wait for data" activity of each dataset, by dataset id; every configured dataset needs one. */
  readonly waitActivities: Readonly<Record<string, SfnActivity>>;
  /** The workflow whose wait tasks the function answers. */
  readonly stateMachine: SfnStateMachine;
  /** The account the bucket belongs to (the S3 invoke permission is scoped to it). */
  readonly accountId: string;
  /**
   * The default event bus, where the function puts RunnerTaskScheduled after releasing a wait.
   * @default arn:aws:events:<config.region>:<accountId>:event-bus/default
   */
  readonly eventBusArn?: string;
}

/**
 * The data-arrival side of the workflow: the `data-arrivals` table, the data-arrival function (it records each
 * upload and releases the matching "wait for data" tasks), the bucket notification that invokes it, and the
 * rules the topology gives it (the workflow's RUNNING events, a kick, the fallback schedule).
 *
 * The bucket notification is the bucket's only one (S3 allows one per bucket): it lives here, next to its target.
 */
export class DataArrival extends Construct {
  readonly table: EncryptedTable;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: DataArrivalProps) {
    super(scope, id);
    const { config, dataLake, waitActivities, stateMachine } = props;
    const missing = Object.keys(config.datasets).filter((d) => !waitActivities[d]);
    if (missing.length) throw new Error(`${this.node.path}: no wait activity for dataset ${missing.join(", ")}`);
    const names = resourceNames(config);

    this.table = new EncryptedTable(this, "arrival-table", { tableName: names.arrivalTable, keys: ARRIVAL_TABLE });
    this.function = NodejsFunction.fromSpec(this, "data-arrival", FUNCTIONS.dataArrival, config, {
      tableName: this.table.table.name,
      waitActivityArns: Object.fromEntries(Object.entries(waitActivities).map(([d, a]) => [d, a.arn])),
      dataBucket: dataLake.bucket.bucket,
    });
    this.grantWaitTasks(this.function, Object.values(waitActivities), stateMachine);
    // Only the calls functions/data-arrival makes: it reads by Query.
    this.grantArrivalItems(this.function);

    const permission = new LambdaPermission(this, "data-arrival-s3-permission", {
      action: "lambda:InvokeFunction",
      functionName: this.function.function.functionName,
      principal: "s3.amazonaws.com",
      sourceArn: dataLake.bucket.arn,
      sourceAccount: props.accountId,
    });
    new S3BucketNotification(this, "data-lake-uploads", {
      bucket: dataLake.bucket.id,
      lambdaFunction: UPLOADS.filters(config).map((f) => ({ id: f.id, lambdaFunctionArn: this.function.arn, events: [...UPLOADS.events], filterPrefix: f.prefix })),
      dependsOn: [permission],
    });
    // Its job's runner task is scheduled right after a wait is released: the function wakes the runner.
    grantAnnounceRunnerTasks(this.function, props.eventBusArn ?? `arn:aws:events:${config.region}:${props.accountId}:event-bus/default`, names);
    // The workflow's RUNNING events (its wait tasks are scheduled right after the start or a redrive), the kick, the fallback schedule.
    LambdaEventRule.forTriggers(this, UPLOADS.target, this.function, config, { [STATE_MACHINE_ARN_REF]: stateMachine.arn });
  }

  /** Lets `grantee` poll the wait activities and answer their tasks (a wait task has no heartbeat). */
  grantWaitTasks(grantee: Grantee, activities: readonly SfnActivity[], stateMachine: SfnStateMachine): void {
    grantActivityTasks(grantee, { stateMachineArn: stateMachine.arn, activityArns: activities.map((a) => a.arn), policyId: "wait-activities", label: "Wait" });
  }

  /** Lets `grantee` record uploads and park wait tokens: item writes and queries on the arrival table. */
  grantArrivalItems(grantee: Grantee): void {
    this.table.grantItems(grantee, "arrival-table", "ArrivalItems", ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]);
  }
}
