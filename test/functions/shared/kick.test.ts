// RunnerTaskScheduled, put by the functions after they close a task with success: the entry EventBridge gets, and a
// failure that never fails the caller (the task is closed already; the fallback schedule wakes the runner).
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { KICKS } from "../../../core/kicks";
import { runnerTaskAnnouncer } from "../../../functions/shared/kick";
import { awsError, silentLogger } from "../fakes";

describe("functions/shared/kick: announcing a runner task", () => {
  const client = new EventBridgeClient({ region: "us-east-1" });
  const events = mockClient(client);
  beforeEach(() => events.reset());
  const warnings = () => {
    const logger = silentLogger();
    const seen: unknown[][] = [];
    logger.warn = ((...args: unknown[]) => void seen.push(args)) as typeof logger.warn;
    return { logger, seen };
  };

  it("puts one RunnerTaskScheduled entry from the function's source, with what closed as its detail", async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e1" }] });
    const { logger, seen } = warnings();
    await runnerTaskAnnouncer(client, "etl.dev.workflow")({ closed: "job", jobName: "etl-dev-X" }, logger);
    const calls = events.commandCalls(PutEventsCommand);
    expect(calls).to.have.length(1);
    expect(calls[0].args[0].input.Entries).to.deep.equal([{ Source: "etl.dev.workflow", DetailType: KICKS.runner, Detail: JSON.stringify({ closed: "job", jobName: "etl-dev-X" }) }]);
    expect(seen).to.deep.equal([]);
  });

  it("logs a refused entry or a failed call as a warning and never throws", async () => {
    const { logger, seen } = warnings();
    events.on(PutEventsCommand).resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try again" }] }).rejectsOnce(awsError("ThrottlingException"));
    const announce = runnerTaskAnnouncer(client, "etl.dev.workflow");
    await announce({ closed: "wait", dataset: "d" }, logger);
    await announce({ closed: "wait", dataset: "d" }, logger);
    expect(seen).to.have.length(2);
    expect(seen[0][1]).to.include({ errorCode: "InternalFailure", dataset: "d" });
    expect(JSON.stringify(seen[1][1])).to.include("ThrottlingException");
  });
});
