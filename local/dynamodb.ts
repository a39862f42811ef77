// Local DynamoDB: in-memory dynalite on 127.0.0.1 with the project's tables (key design: stacks/table-keys.ts).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { TableKeys } from "../core/table-keys";

export interface LocalDynamoDB {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite and creates each table (on-demand, string partition and sort keys). */
export async function startLocalDynamoDB(tables: Record<string, TableKeys>, region = "us-east-1"): Promise<LocalDynamoDB> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const client = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  try {
    for (const [TableName, keys] of Object.entries(tables)) await createTable(client, TableName, keys);
  } catch (e) {
    await close();
    throw e;
  } finally {
    client.destroy();
  }
  let closed = false;
  return {
    endpoint,
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

/** Creates a table with the project's key design: on-demand, string partition and sort keys. */
export async function createTable(client: DynamoDBClient, TableName: string, keys: TableKeys): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: keys.partitionKey, AttributeType: "S" },
        { AttributeName: keys.sortKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: keys.partitionKey, KeyType: "HASH" },
        { AttributeName: keys.sortKey, KeyType: "RANGE" },
      ],
    }),
  );
  // dynalite answers CreateTable while the table is still CREATING (even with createTableMs 0, it turns ACTIVE on a
  // timer): item calls before then fail with ResourceNotFoundException, which a loaded machine can reach.
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    if (attempt >= 500) throw new Error(`table ${TableName} is still ${Table?.TableStatus} after 5 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
