import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../../../functions/glue-runner/handler";
import { RUNNER_ENV } from "./harness";

describe("glue-runner handler", () => {
  const saved = { ...process.env };
  // Class-level mock (the handler creates its own clients), active only while these tests run.
  const mockDynamo = () => mockClient(DynamoDBClient);
  let ddb: ReturnType<typeof mockDynamo>;
  before(() => (ddb = mockDynamo()));
  afterEach(() => {
    process.env = { ...saved };
    ddb.reset();
  });
  after(() => ddb.restore());

  it("names the missing variable, then works once the environment is complete", async () => {
    for (const name of Object.keys(RUNNER_ENV)) delete process.env[name];
    let thrown: unknown;
    await handler({ action: "checkRun", jobName: "j", jobRunId: "jr_1" }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/ACTIVITY_ARN: required/);

    Object.assign(process.env, RUNNER_ENV);
    ddb.on(QueryCommand).resolves({ Items: [] });
    const summary = await handler({ action: "checkRun", jobName: "j", jobRunId: "jr_1" });
    expect(summary).to.deep.equal({ tasksReceived: 0, tasksStarted: 0, tasksRejected: 0, runsChecked: 0, closed: 0, heartbeats: 0, errors: 0 });
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input.TableName).to.equal("etl-dev-active-job-runs");
  });

  it("rejects an event it does not understand", async () => {
    Object.assign(process.env, RUNNER_ENV);
    let thrown: unknown;
    await handler({ hello: "world" }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/unsupported runner event/);
  });
});
