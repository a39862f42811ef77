import { GetActivityTaskCommand, RedriveExecutionCommand, SendTaskFailureCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { allStates, loadStateMachine } from "../../asl/loader";
import { workflowPlaceholders } from "../../asl/placeholders";
import { DEFAULT_CONFIG_FILE, definitionPath, loadConfig, resourceNames } from "../../core/config";
import { localStateMachineArn, localWorkflowArns } from "../../local/arns";
import { LocalEventBus, localWiring } from "../../local/event-bus";
import { LocalStepFunctions } from "../../local/sfn-service";

// The failure path: a failure ends the execution FAILED at the failed state, so that RedriveExecution resumes there;
// the notification comes from the execution's status-change event through the failure rule (core/topology.ts).
describe("asl/etl-workflow.asl.json: the failure path", () => {
  const config = loadConfig(DEFAULT_CONFIG_FILE);
  const names = resourceNames(config);
  const arns = localWorkflowArns(config);

  it("has no Fail state and no Catch that would end a failed execution anywhere but at the failed state", () => {
    const loaded = loadStateMachine(definitionPath(config), workflowPlaceholders(config, arns));
    const states = allStates(loaded.definition);
    expect(states.filter(([, s]) => s.Type === "Fail").map(([n]) => n)).to.deep.equal([]);
    // No Catch at all: a caught failure would go on elsewhere instead of ending the execution at the failed state.
    expect(states.filter(([, s]) => s.Catch !== undefined).map(([n]) => n)).to.deep.equal([]);
  });

  it("a failed task fails the execution with its error, notifies through the status-change rule, and redrive resumes there", async () => {
    const loaded = loadStateMachine(definitionPath(config), workflowPlaceholders(config, arns));
    const stateMachineArn = localStateMachineArn(names.stateMachine, config.region);
    let service: LocalStepFunctions | undefined;
    const bus = new LocalEventBus(localWiring(config, {}, { stateMachineArn, failureTopicArn: arns.failureTopicArn }), () => undefined, (topicArn, message) =>
      service!.notifications.push({ topicArn, message, at: new Date().toISOString() }),
    );
    service = await LocalStepFunctions.start({
      stateMachine: loaded,
      stateMachineName: names.stateMachine,
      region: config.region,
      activities: [names.runnerActivity, ...Object.keys(config.datasets).map((d) => names.waitActivity(d))],
      longPollMs: 3000,
      onStatusChange: (e) => void bus.put(e),
    });
    const sfn = new SFNClient({ endpoint: service.endpoint, region: config.region, maxAttempts: 1, credentials: { accessKeyId: "any", secretAccessKey: "any" } });
    try {
      const dataset = Object.keys(config.datasets)[0];
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: service.stateMachineArn, input: "{}" }));
      const task = await sfn.send(new GetActivityTaskCommand({ activityArn: arns.waitActivityArn(dataset) }));
      await sfn.send(new SendTaskFailureCommand({ taskToken: task.taskToken, error: "DataArrivalError", cause: "the wait could not be parked" }));
      const done = await service.waitForExecution(executionArn!);
      expect(done).to.include({ status: "FAILED", error: "DataArrivalError", cause: "the wait could not be parked" });
      expect(service.notifications).to.have.length(1);
      expect(service.notifications[0].topicArn).to.equal(arns.failureTopicArn);
      expect(service.notifications[0].message).to.equal(`Execution ${executionArn} ended FAILED with DataArrivalError: the wait could not be parked`);

      await sfn.send(new RedriveExecutionCommand({ executionArn }));
      // The failed wait is scheduled again (its dataset's branch resumes at it).
      const again = await sfn.send(new GetActivityTaskCommand({ activityArn: arns.waitActivityArn(dataset) }));
      expect(JSON.parse(again.input!)).to.include({ dataset, executionArn });
      const waits = service.events.filter((e) => e.type === "ActivityTaskScheduled" && e.activityArn === arns.waitActivityArn(dataset));
      expect(waits).to.have.length(2);
    } finally {
      sfn.destroy();
      await service.close();
    }
  });
});
