// Test doubles shared by the function tests: AWS errors as the SDK raises them, an in-memory
// DynamoDB (dynalite on 127.0.0.1) with the real key design, a silent logger, and a fake clock for retry pauses.
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { useFakeTimers } from "sinon";
import dynalite from "dynalite";
import type { TableKeys } from "../../core/table-keys";
import { createLogger } from "../../functions/shared/logger";
import { createTable } from "../../local/dynamodb";

/** An error shaped like an SDK service exception (name, $fault, HTTP status). */
export function awsError(name: string, message = `${name} message`, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
}

export const silentLogger = () => createLogger();

/**
 * Runs `work` with setTimeout (also node:timers/promises') on sinon's fake clock, which moves only between the checks
 * `paused` makes: a retry's pause is shown to be taken (the next attempt waits for the clock), not waited out. Only
 * for code that does no real I/O (mocked clients): nothing else may wait on a timer meanwhile.
 */
export async function withFakePauses<T>(work: () => Promise<T>, paused: () => void): Promise<T> {
  const clock = useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const running = work();
    running.catch(() => undefined); // awaited below
    for (;;) {
      await clock.tickAsync(0); // what can happen without the clock moving has happened
      if (clock.countTimers() === 0) break;
      paused();
      await clock.nextAsync();
    }
    return await running;
  } finally {
    clock.restore();
  }
}

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
