// createSfnClient over HTTP (a local server, so not a unit test: test/unit-set.cjs).
import type { SFNClient } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { createSfnClient, sendTaskFailure, sendTaskHeartbeat, sendTaskSuccess } from "../../../functions/shared/sfn";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "../../../local/aws-json-server";

describe("createSfnClient's cached middleware (one resolved stack per command class, shared by concurrent calls)", () => {
  let server: AwsJsonServer;
  let client: SFNClient;
  const received: Array<{ operation: string; input: Record<string, unknown> }> = [];
  beforeEach(async () => {
    received.length = 0;
    const answer = (operation: string) => (input: Record<string, unknown>) => {
      received.push({ operation, input });
      const token = String(input.taskToken);
      if (token.startsWith("gone-")) throw new AwsJsonError("TaskTimedOut", `task ${token} timed out`);
      if (token.startsWith("broken-")) throw new AwsJsonError("ServiceUnavailable", `no answer for ${token}`, 400);
      return {};
    };
    server = await startAwsJsonServer({
      service: "AWSStepFunctions",
      handlers: { SendTaskHeartbeat: answer("SendTaskHeartbeat"), SendTaskSuccess: answer("SendTaskSuccess"), SendTaskFailure: answer("SendTaskFailure") },
    });
    client = createSfnClient({ endpoint: server.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  });
  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it("resolves the stack once, yet each concurrent call sends its own input and gets its own outcome", async () => {
    expect(client.config.cacheMiddleware).to.equal(true);
    const tokens = Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? `gone-${i}` : `live-${i}`));
    const outcomes = await Promise.all(
      tokens.map((token, i) =>
        i % 3 === 0 ? sendTaskHeartbeat(client, token) : i % 3 === 1 ? sendTaskSuccess(client, token, { token }) : sendTaskFailure(client, token, "E", `cause of ${token}`),
      ),
    );
    expect(outcomes).to.deep.equal(tokens.map((t) => (t.startsWith("gone-") ? "gone" : "sent")));
    const byToken = new Map(received.map((r) => [String(r.input.taskToken), r]));
    expect(received).to.have.length(tokens.length);
    tokens.forEach((token, i) => {
      const call = byToken.get(token)!;
      expect(call.operation, token).to.equal(["SendTaskHeartbeat", "SendTaskSuccess", "SendTaskFailure"][i % 3]);
      if (i % 3 === 1) expect(JSON.parse(String(call.input.output))).to.deep.equal({ token });
      if (i % 3 === 2) expect(call.input.cause).to.equal(`cause of ${token}`);
    });
  });

  it("rejects only the call whose answer is an error other than a gone task", async () => {
    const results = await Promise.allSettled(["live-1", "broken-2", "live-3"].map((token) => sendTaskHeartbeat(client, token)));
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect(((results[1] as PromiseRejectedResult).reason as Error).name).to.equal("ServiceUnavailable");
  });
});
