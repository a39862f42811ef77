// Test doubles shared by the function tests: AWS errors as the SDK raises them, an in-memory
// DynamoDB (dynalite on 127.0.0.1) with the real key design, and a silent logger.
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import dynalite from "dynalite";
import type { TableKeys } from "../../core/table-keys";
import { createLogger } from "../../functions/shared/logger";
import { createTable } from "../../local/dynamodb";

/** An error shaped like an SDK service exception (name, $fault, HTTP status). */
export function awsError(name: string, message = `${name} message`, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
}

export const silentLogger = () => createLogger();

export interface LocalDynamo {
  ddb: DynamoDBClient;
  createTable(name: string, keys: TableKeys): Promise<void>;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const ddb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  return {
    ddb,
    createTable: (name, keys) => createTable(ddb, name, keys),
    async close() {
      ddb.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * For handler tests: a class-level DynamoDB mock (the handler creates its own clients), active only within
 * the calling describe block, and process.env restored after each test.
 */
export function handlerTestSetup(): { ddb: () => AwsClientStub<DynamoDBClient> } {
  const saved = { ...process.env };
  let ddb: AwsClientStub<DynamoDBClient>;
  before(() => (ddb = mockClient(DynamoDBClient)));
  afterEach(() => {
    process.env = { ...saved };
    ddb.reset();
  });
  after(() => ddb.restore());
  return { ddb: () => ddb };
}
