import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { loadStateMachine, type LoadedStateMachine } from "../../asl/loader";
import { workflowPlaceholders } from "../../asl/placeholders";
import { DEFAULT_CONFIG_FILE, definitionPath, loadConfig } from "../../core/config";
import { localWorkflowArns } from "../../local/arns";
import { LocalStepFunctions } from "../../local/sfn-service";

const TOPIC = "arn:aws:sns:us-east-1:000000000000:failures";

/** The shipped workflow cut down to the states reachable from `start` (the local service rejects unreachable states). */
function shippedFrom(start: string): LoadedStateMachine {
  const config = loadConfig(DEFAULT_CONFIG_FILE);
  const arns = { ...localWorkflowArns(config), failureTopicArn: TOPIC };
  const loaded = loadStateMachine(definitionPath(config), workflowPlaceholders(config, arns));
  const all = (loaded.definition as { States: Record<string, any> }).States;
  const kept: Record<string, any> = {};
  const visit = (name: string | undefined) => {
    if (name === undefined || name in kept) return;
    const state = all[name];
    kept[name] = state;
    [state.Next, state.Default, ...(state.Choices ?? []).map((c: any) => c.Next), ...(state.Catch ?? []).map((c: any) => c.Next)].forEach(visit);
  };
  visit(start);
  const definition = { StartAt: start, States: kept };
  return { file: loaded.file, definition, json: JSON.stringify(definition) };
}

// The Catches put the error output at $.error; some errors (timeouts) carry no Cause.
describe("asl/etl-workflow.asl.json: the failure path (aws-local-stepfunctions)", () => {
  async function fail(error: Record<string, unknown>) {
    const service = await LocalStepFunctions.start({ stateMachine: shippedFrom("DescribeFailure") });
    const sfn = new SFNClient({ endpoint: service.endpoint, region: "us-east-1", maxAttempts: 1, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    try {
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: service.stateMachineArn, input: JSON.stringify({ error }) }));
      const done = await service.waitForExecution(executionArn!);
      const exits = service.events.flatMap((e) => (e.type === "StateExited" ? [[e.name, e.status]] : []));
      return { done, exits, notifications: [...service.notifications] };
    } finally {
      sfn.destroy();
      await service.close();
    }
  }

  it("notifies with the error and its cause, then fails with them", async () => {
    const cause = JSON.stringify({ jobName: "etl-dev-PSD", state: "FAILED", errorMessage: "boom" });
    const { done, exits, notifications } = await fail({ Error: "GlueJobFailedError", Cause: cause });
    expect(exits).to.deep.equal([["DescribeFailure", "SUCCEEDED"], ["NotifyFailure", "SUCCEEDED"], ["WorkflowFailed", "FAILED"]]);
    expect(notifications).to.have.length(1);
    expect(notifications[0].topicArn).to.equal(TOPIC);
    expect(notifications[0].message).to.match(/^Execution arn:aws:states:.* failed with GlueJobFailedError: /).and.include("boom");
    expect(done).to.include({ status: "FAILED", error: "GlueJobFailedError", cause });
  });

  // A missing Cause would make States.Format and the Fail state's CausePath an uncatchable States.Runtime.
  for (const [label, error] of [
    ["no Cause", { Error: "States.Timeout" }],
    ["a null Cause", { Error: "States.Timeout", Cause: null }],
  ] as const) {
    it(`still notifies and fails with the real error when the caught error has ${label}`, async () => {
      const { done, exits, notifications } = await fail(error);
      expect(exits.map(([name]) => name), JSON.stringify(done)).to.deep.equal(["DescribeFailure", "AddMissingCause", "NotifyFailure", "WorkflowFailed"]);
      expect(notifications).to.have.length(1);
      expect(notifications[0].message).to.include("failed with States.Timeout: (no cause given)");
      expect(done).to.include({ status: "FAILED", error: "States.Timeout", cause: "(no cause given)" });
    });
  }
});
