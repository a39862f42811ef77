// The handlers' logs carry the Lambda context: every line of an invocation has its request id, and the first
// invocation of a container (only it) is flagged as a cold start.
import { sep } from "node:path";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { expect } from "chai";
import { createLogger, invocationLogger } from "../../../functions/shared/logger";
import { handlerTestSetup } from "../fakes";
import { ARRIVAL_ENV } from "../data-arrival/harness";
import { RUNNER_ENV } from "../etl-runner/harness";

const FUNCTIONS_DIR = `${require.resolve("../../../functions/shared/logger").split(`${sep}shared${sep}`)[0]}${sep}`;

function context(requestId: string, functionName = "etl-dev-fn"): Context {
  return {
    awsRequestId: requestId,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "256",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "s",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
  } as Context;
}

/** The JSON lines written to stdout while `run` runs. */
async function captureLogs(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
  }
  return lines
    .join("")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A handler module as a new container loads it (fresh module state, so a fresh cold start). */
function freshHandler<T>(path: string): T {
  for (const key of Object.keys(require.cache)) if (key.startsWith(FUNCTIONS_DIR)) delete require.cache[key];
  return require(path) as T;
}

describe("functions/shared/logger", () => {
  const setup = handlerTestSetup();

  it("invocationLogger: each invocation's lines carry its request id; only the container's first is a cold start", async () => {
    // Lambda sets it; Powertools reports no cold start without it.
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: "INFO", AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });
    const container = createLogger({ fixed: "kept" });
    const logs = await captureLogs(async () => {
      const first = invocationLogger(container, context("req-1"));
      const second = invocationLogger(container, context("req-2"));
      // Overlapping invocations (the local runtime's async invokes share a module): each keeps its own id.
      first.info("one");
      second.info("two");
      first.info("three");
    });
    expect(logs.map((l) => [l.message, l.function_request_id, l.cold_start, l.fixed])).to.deep.equal([
      ["one", "req-1", true, "kept"],
      ["two", "req-2", false, "kept"],
      ["three", "req-1", true, "kept"],
    ]);
    expect(logs[0]).to.include({ function_name: "etl-dev-fn", function_memory_size: "256" });
  });

  it("invocationLogger without a context (a direct call in a test) is the container's logger", () => {
    const container = createLogger();
    expect(invocationLogger(container, undefined)).to.equal(container);
    expect(invocationLogger(container, {})).to.equal(container);
  });

  for (const fn of [
    { name: "etl-runner", env: RUNNER_ENV, event: { action: "checkRun", jobName: "j", jobRunId: "jr_1" }, message: "runner invoked" },
    { name: "data-arrival", env: ARRIVAL_ENV, event: { Records: [] }, message: "data-arrival invoked" },
  ]) {
    it(`${fn.name}'s handler logs with the Lambda context: request id on every line, cold start on the first invocation`, async () => {
      Object.assign(process.env, fn.env, { POWERTOOLS_LOG_LEVEL: "INFO", AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });
      setup.ddb().on(QueryCommand).resolves({ Items: [] });
      const { handler } = freshHandler<{ handler: (e: unknown, c: Context) => Promise<unknown> }>(`../../../functions/${fn.name}/handler`);
      const logs = await captureLogs(async () => {
        await handler(fn.event, context("cold-request", `etl-dev-${fn.name}`));
        await handler(fn.event, context("warm-request", `etl-dev-${fn.name}`));
      });
      const invoked = logs.filter((l) => l.message === fn.message);
      expect(invoked.map((l) => [l.function_request_id, l.cold_start])).to.deep.equal([
        ["cold-request", true],
        ["warm-request", false],
      ]);
      expect(logs.length).to.be.greaterThan(invoked.length);
      for (const line of logs) expect(line.function_request_id, JSON.stringify(line)).to.be.oneOf(["cold-request", "warm-request"]);
      expect(invoked[0]).to.include({ function_name: `etl-dev-${fn.name}`, function_arn: context("x", `etl-dev-${fn.name}`).invokedFunctionArn });
    });
  }
});
