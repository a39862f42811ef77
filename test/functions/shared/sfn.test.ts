import {
  GetActivityTaskCommand,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import {
  createSfnClient,
  getActivityTask,
  LIMITS,
  LONG_POLL_SOCKET_TIMEOUT_MS,
  sendTaskFailure,
  sendTaskHeartbeat,
  sendTaskSuccess,
  truncate,
} from "../../../functions/shared/sfn";
import { awsError } from "../fakes";

function harness() {
  const client = new SFNClient({ region: "us-east-1" });
  return { client, sfn: mockClient(client) };
}

describe("shared SFN helpers", () => {
  const goneErrors = [
    new TaskTimedOut({ message: "expired", $metadata: {} }),
    new TaskDoesNotExist({ message: "stopped", $metadata: {} }),
    new InvalidToken({ message: "bad", $metadata: {} }),
  ];
  for (const error of goneErrors) {
    it(`reports ${error.name} as "gone" on every send`, async () => {
      const { client, sfn } = harness();
      sfn.on(SendTaskSuccessCommand).rejects(error).on(SendTaskFailureCommand).rejects(error).on(SendTaskHeartbeatCommand).rejects(error);
      expect(await sendTaskSuccess(client, "t", {})).to.equal("gone");
      expect(await sendTaskFailure(client, "t", "E", "c")).to.equal("gone");
      expect(await sendTaskHeartbeat(client, "t")).to.equal("gone");
    });
  }

  it("rethrows any other error (throttling, outage)", async () => {
    const { client, sfn } = harness();
    sfn.on(SendTaskHeartbeatCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    sfn.on(SendTaskSuccessCommand).rejects(awsError("ServiceUnavailable", "down", 503));
    let thrown: unknown;
    await sendTaskHeartbeat(client, "t").catch((e) => (thrown = e));
    expect((thrown as Error).name).to.equal("ThrottlingException");
    await sendTaskSuccess(client, "t", {}).catch((e) => (thrown = e));
    expect((thrown as Error).name).to.equal("ServiceUnavailable");
  });

  it("truncates error and cause to the SFN limits", async () => {
    const { client, sfn } = harness();
    expect(await sendTaskFailure(client, "t", "E".repeat(1_000), "c".repeat(100_000))).to.equal("sent");
    const input = sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(input.error!.length).to.equal(LIMITS.error);
    expect(input.cause!.length).to.equal(LIMITS.cause);
    expect(truncate("short", 10)).to.equal("short");
  });

  it("fails the task instead of sending an output over 262,144 characters", async () => {
    const { client, sfn } = harness();
    expect(await sendTaskSuccess(client, "t", { big: "x".repeat(LIMITS.output) })).to.equal("sent");
    expect(sfn.commandCalls(SendTaskSuccessCommand)).to.have.length(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input).to.include({ taskToken: "t", error: "OutputTooLarge" });
  });

  it("returns undefined for an empty long-poll and the task otherwise", async () => {
    const { client, sfn } = harness();
    sfn.on(GetActivityTaskCommand).resolvesOnce({}).resolvesOnce({ taskToken: "tok", input: '{"a":1}' });
    expect(await getActivityTask(client, "arn:a", "w")).to.equal(undefined);
    expect(await getActivityTask(client, "arn:a", "w")).to.deep.equal({ taskToken: "tok", input: '{"a":1}' });
  });

  it("gives the client a socket timeout that outlives the 60 s long-poll", async () => {
    const client = createSfnClient();
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<{ requestTimeout?: number; socketTimeout?: number }> };
    const options = await handler.configProvider;
    expect(LONG_POLL_SOCKET_TIMEOUT_MS).to.be.at.least(65_000);
    expect(options.requestTimeout).to.equal(LONG_POLL_SOCKET_TIMEOUT_MS);
    client.destroy();
  });
});
