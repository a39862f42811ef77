import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { Construct } from "constructs";
import type { TableKeys } from "../../core/table-keys";
import type { Grantee } from "./grantee";
import { skipCheck } from "./checkov-skip";

export interface EncryptedTableProps {
  readonly tableName: string;
  /** Key attribute names (strings) and the TTL attribute, from core/table-keys.ts. */
  readonly keys: TableKeys;
}

/** A DynamoDB table with string partition and sort keys: on-demand, TTL, point-in-time recovery, encrypted (KMS). */
export class EncryptedTable extends Construct {
  readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: EncryptedTableProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(props.tableName)) throw new Error(`${this.node.path}: tableName '${props.tableName}' is not a valid DynamoDB table name`);
    const { partitionKey, sortKey, ttlAttribute } = props.keys;
    this.table = new DynamodbTable(this, "table", {
      name: props.tableName,
      billingMode: "PAY_PER_REQUEST",
      hashKey: partitionKey,
      rangeKey: sortKey,
      attribute: [
        { name: partitionKey, type: "S" },
        { name: sortKey, type: "S" },
      ],
      ttl: { attributeName: ttlAttribute, enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    skipCheck(this.table, "CKV_AWS_119", "encrypted with the AWS-managed KMS key; items are short-lived task state, access is scoped by IAM");
  }

  /**
   * Lets `grantee` make exactly these item calls on the table (an inline policy named `policyId`, statement `sid`):
   * name only the calls the grantee's code makes.
   */
  grantItems(grantee: Grantee, policyId: string, sid: string, actions: readonly `dynamodb:${string}`[]): void {
    if (actions.length === 0) throw new Error(`${this.node.path}: grantItems needs at least one action`);
    grantee.addToRolePolicy(policyId, [{ Sid: sid, Action: [...actions], Resource: [this.table.arn] }]);
  }
}
