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
  sendFinalTaskFailure,
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

  describe("sendFinalTaskFailure", () => {
    const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: { httpStatusCode: 400 } });
    const logger = () => {
      const lines: Array<[string, string, Record<string, unknown>]> = [];
      const log = (level: string) => (message: string, extra: Record<string, unknown>) => lines.push([level, message, extra]);
      return { lines, logger: { warn: log("warn"), error: log("error") } as unknown as Parameters<typeof sendFinalTaskFailure>[1] };
    };

    it("retries a failed send and succeeds on a later attempt", async () => {
      const client = new SFNClient({ region: "us-east-1" });
      const sfn = mockClient(client);
      sfn.on(SendTaskFailureCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
      const { logger: log } = logger();
      expect(await sendFinalTaskFailure(client, log, "tok", "E", "c", { taskId: "t1" }, [1, 1])).to.equal("sent");
      expect(sfn.commandCalls(SendTaskFailureCommand)).to.have.length(3);
    });

    it("gives up after a bounded number of attempts, logs the task id loudly and rethrows", async () => {
      const client = new SFNClient({ region: "us-east-1" });
      const sfn = mockClient(client);
      sfn.on(SendTaskFailureCommand).rejects(throttled());
      const { logger: log, lines } = logger();
      let thrown: unknown;
      await sendFinalTaskFailure(client, log, "tok", "E", "c", { taskId: "t1" }, [1, 1]).catch((e) => (thrown = e));
      expect((thrown as Error).name).to.equal("ThrottlingException");
      expect(sfn.commandCalls(SendTaskFailureCommand)).to.have.length(3);
      const errors = lines.filter(([level]) => level === "error");
      expect(errors).to.have.length(1);
      expect(errors[0][1]).to.match(/ORPHANED/);
      expect(errors[0][2]).to.include({ taskId: "t1", attempts: 3 });
    });

    it("does not retry when the task is gone", async () => {
      const client = new SFNClient({ region: "us-east-1" });
      const sfn = mockClient(client);
      sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: "gone", $metadata: {} }));
      expect(await sendFinalTaskFailure(client, logger().logger, "tok", "E", "c", {}, [1, 1])).to.equal("gone");
      expect(sfn.commandCalls(SendTaskFailureCommand)).to.have.length(1);
    });
  });
});
