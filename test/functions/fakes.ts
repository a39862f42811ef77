// Test doubles shared by the function tests: AWS errors as the SDK raises them, an in-memory
// DynamoDB (dynalite on 127.0.0.1) with the real key design, a silent logger, and a fake clock for retry pauses.
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { expect } from "chai";
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

type CommandType = abstract new (...args: never[]) => { readonly input: object };

/**
 * `mock.on(Command).callsFake(handler)` for several commands through one fake on the client's send: a sinon fake per
 * command costs about 0.3 ms to make and to match, and the contract suite makes hundreds. A command with no handler
 * answers undefined, as an unmocked one does; a later `mock.on(...)` still takes precedence.
 */
export function answerCommands(mock: { send: { callsFake(fn: (command: { input: object }) => unknown): unknown } }) {
  // Inputs typed any, as aws-sdk-client-mock types a handler's: the fakes read the fields they need.
  const handlers = new Map<CommandType, (input: any) => Promise<unknown>>();
  mock.send.callsFake(async (command) => handlers.get(command.constructor as CommandType)?.(command.input));
  return (command: CommandType, handler: (input: any) => Promise<unknown>): void => void handlers.set(command, handler);
}

/**
 * Runs `work` with setTimeout (also node:timers/promises') on sinon's fake clock, moved on only once nothing else can
 * happen: each retry's pause is shown to be taken (the next attempt waits for the clock), not waited out, and to come
 * right after an attempt (`attempts()`, the attempts made so far, is one more at each pause). Returns the pauses'
 * lengths in ms. Only for code that does no real I/O (mocked clients): nothing else may wait on a timer meanwhile.
 */
export async function withFakePauses(work: () => Promise<unknown>, attempts: () => number): Promise<number[]> {
  const clock = useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const pauses: number[] = [];
  try {
    const running = work();
    running.catch(() => undefined); // awaited below
    for (;;) {
      await clock.tickAsync(0); // what can happen without the clock moving has happened
      if (clock.countTimers() === 0) break;
      expect(attempts(), `attempts before pause ${pauses.length + 1}`).to.equal(pauses.length + 1);
      const pausedAt = clock.now;
      await clock.nextAsync();
      pauses.push(clock.now - pausedAt);
    }
    await running;
    return pauses;
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
