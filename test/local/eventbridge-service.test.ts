// The local EventBridge PutEvents: the functions' real client puts RunnerTaskScheduled on the local bus through it.
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { expect } from "chai";
import { startLocalEventBridge, type PutEvent } from "../../local/eventbridge-service";
import type { AwsJsonServer } from "../../local/aws-json-server";
import { listening } from "../listening";

describe("local/eventbridge-service", () => {
  let server: AwsJsonServer;
  let client: EventBridgeClient;
  const events: PutEvent[] = [];
  before(async () => {
    server = await startLocalEventBridge({ account: "000000000000", region: "us-east-1", onEvent: (e) => void events.push(e) });
    client = new EventBridgeClient({ region: "us-east-1", endpoint: server.endpoint, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  });
  beforeEach(() => (events.length = 0));
  after(async () => {
    client.destroy();
    await server.close();
    expect(await listening(server.endpoint)).to.equal(false);
  });

  it("delivers each entry as the event a rule would see, with its id", async () => {
    const answer = await client.send(new PutEventsCommand({ Entries: [{ Source: "etl.dev.workflow", DetailType: "RunnerTaskScheduled", Detail: JSON.stringify({ closed: "job", jobName: "j" }) }] }));
    expect(answer.FailedEntryCount).to.equal(0);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ version: "0", source: "etl.dev.workflow", "detail-type": "RunnerTaskScheduled", account: "000000000000", region: "us-east-1", detail: { closed: "job", jobName: "j" } });
    expect(answer.Entries![0].EventId).to.equal(events[0].id);
  });

  it("fails a bad entry alone, naming the field, and refuses an empty or oversized request", async () => {
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: "s", DetailType: "T", Detail: "not json" },
          { Source: "s", DetailType: "T", Detail: "{}", EventBusName: "other-bus" },
          { Source: "s", DetailType: "T", Detail: "{}" },
        ],
      }),
    );
    expect(answer.FailedEntryCount).to.equal(2);
    expect(answer.Entries!.map((e) => e.ErrorMessage ?? "ok")).to.deep.equal(["Detail is not valid JSON", 'EventBusName "other-bus": only the default bus exists locally', "ok"]);
    expect(events).to.have.length(1);
    const tooMany = Array.from({ length: 11 }, () => ({ Source: "s", DetailType: "T", Detail: "{}" }));
    const error = await client.send(new PutEventsCommand({ Entries: tooMany })).catch((e: Error) => e);
    expect((error as Error).name).to.equal("ValidationException");
    expect((error as Error).message).to.include("got 11");
  });
});
