import { expect } from "chai";
import { checkRunnerHeartbeats, checkRunnerTimeouts, ratePeriodSeconds } from "../../asl/heartbeat-check";

const RUNNER = "arn:aws:states:us-east-1:1:activity:runner";
const definition = (heartbeat?: number) => ({
  StartAt: "P",
  States: {
    P: {
      Type: "Parallel",
      Branches: [{ StartAt: "Job", States: { Job: { Type: "Task", Resource: RUNNER, TimeoutSeconds: 7200, ...(heartbeat === undefined ? {} : { HeartbeatSeconds: heartbeat }), End: true } } }],
      Next: "Wait",
    },
    // Another activity (a wait task) has no heartbeat and is not checked.
    Wait: { Type: "Task", Resource: "arn:aws:states:us-east-1:1:activity:wait", TimeoutSeconds: 60, End: true },
  },
});

describe("asl/heartbeat-check", () => {
  it("reads rate() periods and ignores cron()", () => {
    expect(ratePeriodSeconds("rate(1 minute)")).to.equal(60);
    expect(ratePeriodSeconds("rate(10 minutes)")).to.equal(600);
    expect(ratePeriodSeconds("rate(2 hours)")).to.equal(7200);
    expect(ratePeriodSeconds("rate(1 day)")).to.equal(86400);
    expect(ratePeriodSeconds("cron(0 3 ? * MON *)")).to.equal(undefined);
  });

  it("accepts a heartbeat longer than twice the fallback period", () => {
    expect(() => checkRunnerHeartbeats(definition(601), RUNNER, "rate(5 minutes)", "wf.asl.json")).to.not.throw();
    expect(() => checkRunnerHeartbeats(definition(60), RUNNER, "cron(0/5 * * * ? *)", "wf.asl.json")).to.not.throw();
  });

  it("fails naming the file, the state and the schedule when the heartbeat is too short", () => {
    expect(() => checkRunnerHeartbeats(definition(600), RUNNER, "rate(5 minutes)", "wf.asl.json")).to.throw(
      "wf.asl.json: runner task heartbeats\n  - state 'Job': HeartbeatSeconds 600 must be greater than twice the fallback period (schedules.fallback 'rate(5 minutes)' = 300 s, so more than 600)",
    );
  });

  it("fails when a runner task has no heartbeat", () => {
    expect(() => checkRunnerHeartbeats(definition(), RUNNER, "cron(0/5 * * * ? *)", "wf.asl.json")).to.throw(/state 'Job': a runner task needs HeartbeatSeconds/);
  });
});

describe("asl/heartbeat-check: runner task timeouts", () => {
  const machine = (timeout: number) => ({
    StartAt: "P",
    States: {
      P: {
        Type: "Parallel",
        Branches: [{ StartAt: "Job", States: { Job: { Type: "Task", Resource: RUNNER, Parameters: { JobName: "etl-dev-LoadOrders" }, TimeoutSeconds: timeout, HeartbeatSeconds: 900, End: true } } }],
        End: true,
      },
    },
  });
  const jobs = { "etl-dev-LoadOrders": { minutes: 120, field: "jobs.LoadOrders.timeoutMinutes" } };

  it("accepts a runner task whose TimeoutSeconds covers the job's timeout", () => {
    expect(() => checkRunnerTimeouts(machine(7200), RUNNER, jobs, "wf.asl.json")).to.not.throw();
  });

  it("fails naming the file, the state and the job when the job may outlive its task", () => {
    expect(() => checkRunnerTimeouts(machine(7199), RUNNER, jobs, "wf.asl.json")).to.throw(
      "wf.asl.json: runner task timeouts\n  - state 'Job' (Glue job 'etl-dev-LoadOrders'): TimeoutSeconds 7199 is shorter than the job's timeout (jobs.LoadOrders.timeoutMinutes = 120 min = 7200 s); the workflow would give up while Glue still runs",
    );
  });
});
