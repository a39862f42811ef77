import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { handler } from "../../../functions/etl-runner/handler";
import { RUNNER_ENV } from "./harness";
import { handlerTestSetup } from "../fakes";

describe("etl-runner handler", () => {
  const setup = handlerTestSetup();

  it("names the missing variable, then works once the environment is complete", async () => {
    for (const name of Object.keys(RUNNER_ENV)) delete process.env[name];
    let thrown: unknown;
    await handler({ action: "checkRun", jobName: "j", jobRunId: "jr_1" }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/ACTIVITY_ARN: required/);

    Object.assign(process.env, RUNNER_ENV);
    setup.ddb().on(QueryCommand).resolves({ Items: [] });
    const summary = await handler({ action: "checkRun", jobName: "j", jobRunId: "jr_1" });
    expect(summary).to.deep.equal({ tasksReceived: 0, tasksStarted: 0, tasksRejected: 0, runsChecked: 0, closed: 0, heartbeats: 0, errors: 0 });
    expect(setup.ddb().commandCalls(QueryCommand)[0].args[0].input.TableName).to.equal("etl-dev-active-job-runs");
  });

  it("rejects an event it does not understand", async () => {
    Object.assign(process.env, RUNNER_ENV);
    let thrown: unknown;
    await handler({ hello: "world" }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/unsupported runner event/);
  });
});
