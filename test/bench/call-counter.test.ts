import { expect } from "chai";
import { SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { CallCounter } from "../../bench/call-counter";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "../../local/aws-json-server";

describe("bench/call-counter", () => {
  let server: AwsJsonServer;
  let client: SFNClient;

  beforeEach(async () => {
    server = await startAwsJsonServer({
      service: "AWSStepFunctions",
      handlers: {
        SendTaskHeartbeat: () => ({}),
        SendTaskSuccess: () => {
          throw new AwsJsonError("TaskTimedOut", "gone");
        },
      },
    });
    client = new SFNClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1 });
  });

  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it("counts each command a client sends, by service and operation, failed ones included", async () => {
    const counter = new CallCounter();
    counter.attach(client, "sfn");
    await client.send(new SendTaskHeartbeatCommand({ taskToken: "a" }));
    await client.send(new SendTaskHeartbeatCommand({ taskToken: "b" }));
    await client.send(new SendTaskSuccessCommand({ taskToken: "c", output: "{}" })).catch(() => undefined);
    expect(counter.total("sfn")).to.equal(3);
    expect(counter.breakdown("sfn")).to.equal("SendTaskHeartbeat 2, SendTaskSuccess 1");
    expect(counter.total("glue")).to.equal(0);
    expect(counter.breakdown("glue")).to.equal("none");
  });

  it("starts again from zero after reset", async () => {
    const counter = new CallCounter();
    counter.attach(client, "sfn");
    await client.send(new SendTaskHeartbeatCommand({ taskToken: "a" }));
    counter.reset();
    expect(counter.total("sfn")).to.equal(0);
    await client.send(new SendTaskHeartbeatCommand({ taskToken: "a" }));
    expect(counter.total("sfn")).to.equal(1);
  });
});
