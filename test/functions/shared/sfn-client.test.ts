// createSfnClient over HTTP (a local server, so not a unit test: test/unit-set.cjs).
import type { SFNClient, ServiceInputTypes, ServiceOutputTypes } from "@aws-sdk/client-sfn";
import { SignatureV4 } from "@smithy/signature-v4";
import type { FinalizeRequestMiddleware } from "@smithy/types";
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

describe("createSfnClient's request signer (built at the first request, then reused)", () => {
  /** A request as it left the signing middleware. */
  interface SignedRequest {
    method: string;
    protocol: string;
    hostname: string;
    port?: number;
    path: string;
    headers: Record<string, string>;
    body: string;
  }

  it("signs every request exactly as a new signer would, with the credentials current at that request", async () => {
    const server = await startAwsJsonServer({ service: "AWSStepFunctions", handlers: { SendTaskHeartbeat: () => ({}) } });
    // Credentials that have expired when issued: the SDK asks the provider again for every request.
    let issued = 0;
    const secrets = new Map<string, string>();
    const credentials = async () => {
      issued++;
      secrets.set(`KEY${issued}`, `secret-${issued}`);
      return { accessKeyId: `KEY${issued}`, secretAccessKey: `secret-${issued}`, expiration: new Date(0) };
    };
    const client = createSfnClient({ endpoint: server.endpoint, region: "us-east-1", credentials });
    const signed: SignedRequest[] = [];
    const capture: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
      const { method, protocol, hostname, port, path, headers, body } = args.request as SignedRequest;
      signed.push({ method, protocol, hostname, port, path, headers: { ...headers }, body });
      return next(args);
    };
    client.middlewareStack.addRelativeTo(capture, { relation: "after", toMiddleware: "httpSigningMiddleware", name: "captureSignedRequest" });
    try {
      for (const token of ["task-1", "task-2", "task-3"]) expect(await sendTaskHeartbeat(client, token)).to.equal("sent");
      const signer = await client.config.signer();
      expect(await client.config.signer(), "one signer for every request").to.equal(signer);
      expect(signed).to.have.length(3);
      const keys = signed.map((request) => /Credential=(KEY\d+)\//.exec(request.headers.authorization)?.[1]);
      expect(new Set(keys).size, `each request signed with the credentials of its time: ${keys.join(", ")}`).to.equal(3);
      for (const [i, request] of signed.entries()) {
        const fresh = new SignatureV4({ credentials: { accessKeyId: keys[i]!, secretAccessKey: secrets.get(keys[i]!)! }, region: "us-east-1", service: "states", sha256: client.config.sha256 });
        const { authorization, ...unsigned } = request.headers;
        const amzDate = unsigned["x-amz-date"];
        const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
        const again = await fresh.sign({ ...request, query: {}, headers: unsigned }, { signingDate });
        expect(again.headers.authorization, request.body).to.equal(authorization);
      }
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it("builds the signer again after a failed build", async () => {
    const client = createSfnClient({ region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    try {
      // The region is read when the signer is built: fail it once.
      const region = client.config.region;
      let fail = true;
      client.config.region = async () => {
        if (fail) throw new Error("no region yet");
        return region();
      };
      await client.config.signer().then(
        () => expect.fail("the first build should fail"),
        (error: Error) => expect(error.message).to.equal("no region yet"),
      );
      fail = false;
      const signer = await client.config.signer();
      expect(await client.config.signer()).to.equal(signer);
    } finally {
      client.destroy();
    }
  });
});
