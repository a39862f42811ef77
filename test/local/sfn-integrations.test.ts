// The local Step Functions service's service integrations, each against a service speaking the AWS API (an in-test
// Glue and Athena on the same JSON protocol as the local ones), a local Lambda function and an external worker.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { loadStateMachine } from "../../asl/loader";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "../../local/aws-json-server";
import { LocalStepFunctions, type LocalStepFunctionsOptions, type SfnEvent } from "../../local/sfn-service";
import { LOCAL_INTEGRATIONS } from "../../local/sfn/integrations";
import { ManualClock } from "../support/manual-clock";
import { SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";

const dir = mkdtempSync(join(tmpdir(), "etl-sfn-integrations-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function run(definition: object, options: Partial<LocalStepFunctionsOptions> = {}, input: object = {}) {
  const file = join(dir, `m${counter++}.asl.json`);
  writeFileSync(file, JSON.stringify(definition));
  const sfn = await LocalStepFunctions.start({ stateMachine: loadStateMachine(file, {}), longPollMs: 1000, ...options });
  const client = new SFNClient({ endpoint: sfn.endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const started = Date.now();
  const { executionArn } = await client.send(
    new (await import("@aws-sdk/client-sfn")).StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, input: JSON.stringify(input) }),
  );
  return { sfn, client, executionArn: executionArn!, started, done: () => sfn.waitForExecution(executionArn!), close: async () => (client.destroy(), await sfn.close()) };
}

const taskClosed = (events: SfnEvent[], state: string) => events.filter((e): e is Extract<SfnEvent, { type: "TaskClosed" }> => e.type === "TaskClosed" && e.state === state);

/** The calls an in-test service received, in order; `called` waits for one, woken by each call (no sleep, no polling). */
class CallLog {
  readonly calls: string[] = [];
  private readonly waiters = new Set<() => void>();
  record(call: string): void {
    this.calls.push(call);
    for (const wake of [...this.waiters]) wake();
  }
  async called(call: string, times = 1): Promise<void> {
    while (this.calls.filter((c) => c === call).length < times) {
      await new Promise<void>((resolve) => {
        const wake = () => (this.waiters.delete(wake), resolve());
        this.waiters.add(wake);
      });
    }
  }
}

/** An in-test Glue (AWSGlue JSON protocol): runs end when the test says, with Glue's state-change event. */
class TestGlue {
  runs = new Map<string, { JobName: string; Id: string; JobRunState: string; StartedOn: number; ErrorMessage?: string }>();
  log = new CallLog();
  calls = this.log.calls;
  server!: AwsJsonServer;
  /** StartJobRun answers ConcurrentRunsExceededException this many times before it starts a run. */
  refusals = 0;
  /** BatchStopJobRun stops the runs at once, and answers once this settles. */
  stopsAnswered: Promise<void> = Promise.resolve();
  onEnd: (event: { source: string; "detail-type": string; detail: Record<string, unknown> }) => void = () => undefined;
  async start() {
    this.server = await startAwsJsonServer({
      service: "AWSGlue",
      handlers: {
        StartJobRun: (input) => {
          this.log.record("StartJobRun");
          if (this.refusals > 0) {
            this.refusals--;
            throw new AwsJsonError("ConcurrentRunsExceededException", "Concurrent runs exceeded for job");
          }
          if (input.JobName !== "job") throw new AwsJsonError("EntityNotFoundException", `Job ${String(input.JobName)} not found`);
          const Id = `jr_${this.runs.size + 1}`;
          this.runs.set(Id, { JobName: "job", Id, JobRunState: "RUNNING", StartedOn: Date.now() / 1000 });
          return { JobRunId: Id };
        },
        GetJobRun: (input) => {
          this.log.record("GetJobRun");
          return { JobRun: this.runs.get(String(input.RunId)) };
        },
        BatchStopJobRun: async (input) => {
          for (const id of input.JobRunIds as string[]) this.end(id, "STOPPED");
          this.log.record("BatchStopJobRun");
          await this.stopsAnswered;
          return { SuccessfulSubmissions: [], Errors: [] };
        },
      },
    });
    return this;
  }
  end(id: string, state: string, ErrorMessage?: string) {
    Object.assign(this.runs.get(id)!, { JobRunState: state, ErrorMessage });
    this.onEnd({ source: "aws.glue", "detail-type": "Glue Job State Change", detail: { jobName: "job", jobRunId: id, state } });
  }
}

const glueTask = (resource: string, extra: object = {}) => ({ Type: "Task", Resource: resource, Parameters: { JobName: "job" }, End: true, ...extra });

describe("local Step Functions service: service integrations", () => {
  let glue: TestGlue;
  beforeEach(async () => (glue = await new TestGlue().start()));
  afterEach(() => glue.server.close());

  describe("glue:startJobRun", () => {
    it(".sync waits for the run's end, woken by its state-change event (no polling), and returns the run", async () => {
      const r = await run({ StartAt: "Run", States: { Run: glueTask("arn:aws:states:::glue:startJobRun.sync") } }, { serviceEndpoints: { glue: glue.server.endpoint }, syncRecheckMs: 60_000 });
      glue.onEnd = (e) => r.sfn.serviceEvent(e);
      try {
        await glue.log.called("GetJobRun");
        // Time for a polling wait to show itself: a correct one makes no call before the event (or the 60 s re-check).
        await new Promise((res) => setTimeout(res, 300));
        expect(glue.calls).to.deep.equal(["StartJobRun", "GetJobRun"]);
        const ended = Date.now();
        glue.end("jr_1", "SUCCEEDED");
        const d = await r.done();
        expect(d.status).to.equal("SUCCEEDED");
        expect(JSON.parse(d.output!)).to.include({ Id: "jr_1", JobName: "job", JobRunState: "SUCCEEDED" });
        expect(Date.now() - ended).to.be.below(30_000); // the event ended the wait, not the 60 s re-check
        expect(glue.calls, "one check after the event").to.deep.equal(["StartJobRun", "GetJobRun", "GetJobRun"]);
        expect(taskClosed(r.sfn.events, "Run").map((e) => e.outcome)).to.deep.equal(["SUCCEEDED"]);
      } finally {
        await r.close();
      }
    });

    it(".sync: a failed run is States.TaskFailed with the run in the cause, caught by a Catch written for AWS", async () => {
      const definition = {
        StartAt: "Run",
        States: { Run: glueTask("arn:aws:states:::glue:startJobRun.sync", { End: undefined, Next: "Done", Catch: [{ ErrorEquals: ["States.TaskFailed"], ResultPath: "$.error", Next: "Caught" }] }), Done: { Type: "Succeed" }, Caught: { Type: "Pass", End: true } },
      };
      const r = await run(definition, { serviceEndpoints: { glue: glue.server.endpoint }, syncRecheckMs: 60_000 });
      glue.onEnd = (e) => r.sfn.serviceEvent(e);
      try {
        await glue.log.called("GetJobRun");
        glue.end("jr_1", "FAILED", "division by zero");
        const d = await r.done();
        expect(d.status).to.equal("SUCCEEDED");
        const error = JSON.parse(d.output!).error;
        expect(error.Error).to.equal("States.TaskFailed");
        expect(JSON.parse(error.Cause)).to.include({ Id: "jr_1", JobRunState: "FAILED", ErrorMessage: "division by zero" });
      } finally {
        await r.close();
      }
    });

    it("Glue.ConcurrentRunsExceededException is retried by a Retry on that name; request-response returns at once", async () => {
      glue.refusals = 2;
      const definition = { StartAt: "Run", States: { Run: glueTask("arn:aws:states:::glue:startJobRun", { Retry: [{ ErrorEquals: ["Glue.ConcurrentRunsExceededException"], IntervalSeconds: 1, MaxAttempts: 3 }] }) } };
      const r = await run(definition, { serviceEndpoints: { glue: glue.server.endpoint }, retryIntervalOverrides: { Run: 200 } });
      try {
        const d = await r.done();
        expect(d.status).to.equal("SUCCEEDED");
        expect(JSON.parse(d.output!)).to.deep.equal({ JobName: "job", JobRunId: "jr_1" });
        expect(glue.calls).to.deep.equal(["StartJobRun", "StartJobRun", "StartJobRun"]);
        const retried = r.sfn.events.filter((e) => e.type === "StateRetried").map((e) => e.type === "StateRetried" && e.error);
        expect(retried).to.deep.equal(["Glue.ConcurrentRunsExceededException", "Glue.ConcurrentRunsExceededException"]);
      } finally {
        await r.close();
      }
    });

    it(".sync stops the run when the task times out (States.Timeout), recorded as it times out", async () => {
      // Glue answers the stop only at the end: the task's timeout is recorded without waiting for that answer.
      let answerStops!: () => void;
      glue.stopsAnswered = new Promise<void>((resolve) => (answerStops = resolve));
      // The integration's handler, seen settling (its clean-up done) after the execution ended.
      const integration = LOCAL_INTEGRATIONS["glue:startJobRun"];
      let handlerSettled!: Promise<unknown>;
      LOCAL_INTEGRATIONS["glue:startJobRun"] = (call, context) => (handlerSettled = integration(call, context));
      const r = await run({ StartAt: "Run", States: { Run: glueTask("arn:aws:states:::glue:startJobRun.sync", { TimeoutSeconds: 1 }) } }, { serviceEndpoints: { glue: glue.server.endpoint }, syncRecheckMs: 60_000 });
      try {
        const d = await r.done();
        expect(d.status).to.equal("FAILED");
        expect(d.error).to.equal("States.Timeout");
        const closedAs = () => taskClosed(r.sfn.events, "Run").map((e) => [e.outcome, e.error]);
        expect(closedAs()).to.deep.equal([["TIMED_OUT", "States.Timeout"]]);
        const types = r.sfn.events.map((e) => e.type);
        expect(types.indexOf("TaskClosed"), types.join(", ")).to.be.below(types.indexOf("ExecutionFailed"));
        await glue.log.called("BatchStopJobRun"); // best effort: it may reach Glue after the execution ended
        expect(glue.runs.get("jr_1")!.JobRunState).to.equal("STOPPED");
        answerStops();
        expect(await handlerSettled.then(() => "resolved", (e: Error) => e.name)).to.equal("States.Aborted");
        await new Promise((resolve) => setImmediate(resolve)); // what runIntegration does once its handler settles
        expect(closedAs(), "recorded once, not again when the handler settled").to.deep.equal([["TIMED_OUT", "States.Timeout"]]);
      } finally {
        LOCAL_INTEGRATIONS["glue:startJobRun"] = integration;
        answerStops();
        await r.close();
      }
    });
  });

  describe("athena:startQueryExecution", () => {
    let athena: AwsJsonServer;
    const queries = new Map<string, { State: string; StateChangeReason?: string }>();
    before(async () => {
      athena = await startAwsJsonServer({
        service: "AmazonAthena",
        handlers: {
          StartQueryExecution: (input) => {
            const id = `q${queries.size + 1}`;
            queries.set(id, { State: String(input.QueryString).includes("fail") ? "FAILED" : "SUCCEEDED", StateChangeReason: String(input.QueryString).includes("fail") ? "SYNTAX_ERROR: line 1" : undefined });
            return { QueryExecutionId: id };
          },
          GetQueryExecution: (input) => ({ QueryExecution: { QueryExecutionId: input.QueryExecutionId, Status: queries.get(String(input.QueryExecutionId)) } }),
          StopQueryExecution: () => ({}),
        },
      });
    });
    after(() => athena.close());

    it(".sync returns GetQueryExecution's answer; a failed query is States.TaskFailed, caught", async () => {
      const query = (q: string, next: string) => ({ Type: "Task", Resource: "arn:aws:states:::athena:startQueryExecution.sync", Parameters: { QueryString: q, WorkGroup: "wg" }, ResultPath: "$.q", Next: next, Catch: [{ ErrorEquals: ["States.TaskFailed"], ResultPath: "$.error", Next: "Caught" }] });
      const definition = { StartAt: "Good", States: { Good: query("SELECT 1", "Bad"), Bad: query("SELECT fail", "Done"), Done: { Type: "Succeed" }, Caught: { Type: "Pass", End: true } } };
      const r = await run(definition, { serviceEndpoints: { athena: athena.endpoint } });
      try {
        const d = await r.done();
        const output = JSON.parse(d.output!);
        expect(output.q.QueryExecution).to.deep.include({ QueryExecutionId: "q1", Status: { State: "SUCCEEDED" } });
        expect(output.error.Error).to.equal("States.TaskFailed");
        expect(JSON.parse(output.error.Cause).QueryExecution.Status).to.deep.equal({ State: "FAILED", StateChangeReason: "SYNTAX_ERROR: line 1" });
      } finally {
        await r.close();
      }
    });
  });

  describe("emr-serverless:startJobRun", () => {
    // An in-test EMR Serverless on its REST JSON protocol: runs end when the test says, with their state-change event.
    const runs = new Map<string, { applicationId: string; jobRunId: string; state: string; stateDetails?: string; executionRole: string; entryPointArguments: string[] }>();
    let server: Server;
    let endpoint: string;
    const log = new CallLog();
    let onEvent: (e: { source: string; "detail-type": string; detail: Record<string, unknown> }) => void = () => undefined;
    const end = (id: string, state: string, stateDetails?: string) => {
      Object.assign(runs.get(id)!, { state, stateDetails });
      onEvent({ source: "aws.emr-serverless", "detail-type": "EMR Serverless Job Run State Change", detail: { jobRunId: id, applicationId: "00app", state } });
    };
    before(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          const reply = (status: number, value: unknown, type?: string) => res.writeHead(status, { "content-type": "application/json", ...(type && { "x-amzn-errortype": type }) }).end(JSON.stringify(value));
          const [, , app, , id] = (req.url ?? "").split("?")[0].split("/");
          if (app !== "00app") return reply(404, { message: `Application ${app} does not exist` }, "ResourceNotFoundException");
          if (req.method === "POST") {
            const input = JSON.parse(body);
            const jobRunId = `run${runs.size + 1}`;
            runs.set(jobRunId, { applicationId: app, jobRunId, state: "RUNNING", executionRole: input.executionRoleArn, entryPointArguments: input.jobDriver.sparkSubmit.entryPointArguments });
            return reply(200, { applicationId: app, jobRunId, arn: `arn:aws:emr-serverless:us-east-1:000000000000:/applications/${app}/jobruns/${jobRunId}` });
          }
          const run = runs.get(id);
          if (!run) return reply(404, { message: `Job run ${id} does not exist` }, "ResourceNotFoundException");
          if (req.method === "DELETE") return end(id, "CANCELLED"), reply(200, { applicationId: app, jobRunId: id });
          log.record(`GetJobRun ${id}`);
          return reply(200, { jobRun: { ...run, createdAt: 1700000000 } });
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => new Promise((r) => server.close(r)));

    const sparkTask = (resource: string, app = "00app") => ({
      Type: "Task",
      Resource: resource,
      Parameters: { ApplicationId: app, ExecutionRoleArn: "arn:aws:iam::000000000000:role/job", JobDriver: { SparkSubmit: { EntryPoint: "s3://a/job.py", EntryPointArguments: ["--etl_sql", "x.sql"] } } },
    });

    it(".sync: PascalCase in and out, ends on the run's state-change event, a failed run is caught as States.TaskFailed", async () => {
      const definition = {
        StartAt: "Good",
        States: {
          Good: { ...sparkTask("arn:aws:states:::emr-serverless:startJobRun.sync"), ResultPath: "$.good", Next: "Bad" },
          Bad: { ...sparkTask("arn:aws:states:::emr-serverless:startJobRun.sync"), Next: "Done", Catch: [{ ErrorEquals: ["States.TaskFailed"], ResultPath: "$.error", Next: "Done" }] },
          Done: { Type: "Succeed" },
        },
      };
      const r = await run(definition, { serviceEndpoints: { emrServerless: endpoint }, syncRecheckMs: 60_000 });
      onEvent = (e) => r.sfn.serviceEvent(e);
      try {
        // Each run ends once its first check has answered RUNNING: the state-change event must end the wait.
        await log.called("GetJobRun run1");
        expect(runs.get("run1")).to.include({ executionRole: "arn:aws:iam::000000000000:role/job" });
        expect(runs.get("run1")!.entryPointArguments).to.deep.equal(["--etl_sql", "x.sql"]);
        end("run1", "SUCCESS");
        await log.called("GetJobRun run2");
        end("run2", "FAILED", "Job failed: exit code 1");
        const output = JSON.parse((await r.done()).output!);
        expect(output.good.JobRun).to.include({ JobRunId: "run1", State: "SUCCESS", ApplicationId: "00app" });
        expect(output.error.Error).to.equal("States.TaskFailed");
        expect(JSON.parse(output.error.Cause).JobRun).to.include({ State: "FAILED", StateDetails: "Job failed: exit code 1" });
        expect(Date.now() - r.started).to.be.below(30_000); // the events ended the waits, not the 60 s re-checks
      } finally {
        await r.close();
      }
    });

    it("request-response returns the run at once; an API error is EMRServerless.<Exception>", async () => {
      const definition = {
        StartAt: "Start",
        States: {
          Start: { ...sparkTask("arn:aws:states:::emr-serverless:startJobRun"), ResultPath: "$.started", Next: "Missing" },
          Missing: { ...sparkTask("arn:aws:states:::emr-serverless:startJobRun", "00gone"), End: true, Catch: [{ ErrorEquals: ["EMRServerless.ResourceNotFoundException"], ResultPath: "$.error", Next: "Done" }] },
          Done: { Type: "Succeed" },
        },
      };
      const r = await run(definition, { serviceEndpoints: { emrServerless: endpoint } });
      try {
        const output = JSON.parse((await r.done()).output!);
        expect(output.started).to.have.keys("ApplicationId", "JobRunId", "Arn");
        expect(runs.get(output.started.JobRunId)!.state).to.equal("RUNNING");
        expect(output.error.Error).to.equal("EMRServerless.ResourceNotFoundException");
      } finally {
        await r.close();
      }
    });
  });

  describe("lambda:invoke", () => {
    const functions: Record<string, (event: any) => Promise<unknown>> = {
      double: async (event) => ({ doubled: event.n * 2 }),
      broken: async () => {
        const e = new Error("no rows");
        e.name = "EmptyInputError";
        throw e;
      },
    };
    const lambdaFunction = (name: string) => functions[name];

    it("returns the function's answer as Payload; its error is its errorType, caught by name; an unknown function is Lambda.ResourceNotFoundException", async () => {
      const invoke = (fn: string, next: string) => ({ Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Parameters: { FunctionName: fn, "Payload.$": "$" }, ResultPath: `$.${fn}`, Next: next });
      const definition = {
        StartAt: "Double",
        States: {
          Double: invoke("double", "Broken"),
          Broken: { ...invoke("broken", "Missing"), Catch: [{ ErrorEquals: ["EmptyInputError"], ResultPath: "$.brokenError", Next: "Missing" }] },
          Missing: { ...invoke("missing", "Done"), Catch: [{ ErrorEquals: ["Lambda.ResourceNotFoundException"], ResultPath: "$.missingError", Next: "Done" }] },
          Done: { Type: "Succeed" },
        },
      };
      const r = await run(definition, { lambdaFunction }, { n: 21 });
      try {
        const output = JSON.parse((await r.done()).output!);
        expect(output.double).to.deep.include({ StatusCode: 200, Payload: { doubled: 42 } });
        expect(output.brokenError.Error).to.equal("EmptyInputError");
        expect(JSON.parse(output.brokenError.Cause)).to.include({ errorType: "EmptyInputError", errorMessage: "no rows" });
        expect(output.missingError.Error).to.equal("Lambda.ResourceNotFoundException");
      } finally {
        await r.close();
      }
    });

    it(".waitForTaskToken hands the token to the function and waits for SendTaskSuccess; HeartbeatSeconds is enforced", async () => {
      let token = "";
      const handOffs = new CallLog();
      const handOff = async (event: any) => {
        token = event.token;
        handOffs.record("handOff");
        return "accepted";
      };
      const definition = (heartbeat: number) => ({
        StartAt: "HandOff",
        States: {
          HandOff: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters: { FunctionName: "handoff", Payload: { "token.$": "$$.Task.Token" } }, HeartbeatSeconds: heartbeat, End: true, Catch: [{ ErrorEquals: ["States.HeartbeatTimeout"], ResultPath: "$.error", Next: "TimedOut" }] },
          TimedOut: { Type: "Pass", End: true },
        },
      });
      const answered = await run(definition(5), { lambdaFunction: () => handOff });
      try {
        await handOffs.called("handOff");
        expect(token).to.match(/^[A-Za-z0-9_-]{64}$/);
        await answered.client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
        await answered.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ reviewed: true }) }));
        expect(JSON.parse((await answered.done()).output!)).to.deep.equal({ reviewed: true });
      } finally {
        await answered.close();
      }
      // Side by side, both on the service's real timers: TimeoutSeconds closes the task (a late answer gets
      // TaskTimedOut, as in AWS); silence past HeartbeatSeconds fails it (the default timers, which other tests
      // replace with a clock).
      let lateToken = "";
      const lateHandOff = async (event: any) => ((lateToken = event.token), "accepted");
      const late = await run({ ...definition(60), States: { ...definition(60).States, HandOff: { ...definition(60).States.HandOff, TimeoutSeconds: 1, HeartbeatSeconds: undefined } } }, { lambdaFunction: () => lateHandOff });
      const silent = await run(definition(1), { lambdaFunction: () => handOff });
      try {
        const [d, silentDone] = await Promise.all([late.done(), silent.done()]);
        expect(d.error).to.equal("States.Timeout");
        const answer = await late.client.send(new SendTaskSuccessCommand({ taskToken: lateToken, output: "{}" })).catch((e: Error) => e);
        expect((answer as Error).name).to.equal("TaskTimedOut");
        expect(JSON.parse(silentDone.output!).error.Error).to.equal("States.HeartbeatTimeout");
        expect(taskClosed(silent.sfn.events, "HandOff").map((e) => e.outcome)).to.deep.equal(["HEARTBEAT_TIMED_OUT"]);
      } finally {
        await late.close();
        await silent.close();
      }
    });
  });

  describe("events:putEvents.waitForTaskToken with an external worker (test/fixtures/external-worker)", () => {
    let worker: ChildProcess;
    let workerUrl: string;

    async function startWorker(sfnEndpoint: string) {
      worker = spawn(process.execPath, ["--import", "tsx", resolve(__dirname, "../fixtures/external-worker/worker.ts")], {
        env: { ...process.env, AWS_ENDPOINT_URL_SFN: sfnEndpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const line = await new Promise<string>((res) => createInterface({ input: worker.stdout! }).once("line", res));
      workerUrl = line.replace(/^listening /, "");
    }
    afterEach(() => worker?.kill());

    // What an EventBridge rule with an API destination does: POST each event to the tool's endpoint.
    const apiDestination = (entries: Array<Record<string, any>>) =>
      Promise.all(entries.map((e) => fetch(workerUrl, { method: "POST", body: JSON.stringify({ source: e.Source, "detail-type": e.DetailType, detail: typeof e.Detail === "string" ? JSON.parse(e.Detail) : e.Detail }) })));

    const definition = {
      StartAt: "CountLines",
      States: {
        CountLines: {
          Type: "Task",
          Resource: "arn:aws:states:::events:putEvents.waitForTaskToken",
          Parameters: { Entries: [{ Source: "etl.dev.workflow", DetailType: "CountLines", Detail: { "taskToken.$": "$$.Task.Token", "text.$": "$.text", "hang.$": "$.hang", parts: 2 } }] },
          // On the test's clock (see the test): the worker's real start-up, however slow, is not counted against it.
          HeartbeatSeconds: 8,
          TimeoutSeconds: 60,
          Catch: [{ ErrorEquals: ["States.HeartbeatTimeout"], ResultPath: "$.error", Next: "WorkerSilent" }],
          End: true,
        },
        WorkerSilent: { Type: "Pass", End: true },
      },
    };

    it("the worker gets the token, heartbeats past HeartbeatSeconds while it works, and answers SendTaskSuccess", async () => {
      const file = join(dir, "external-worker.asl.json");
      writeFileSync(file, JSON.stringify(definition));
      // HeartbeatSeconds (8 s) runs on the test's clock, which moves on 7 s (under HeartbeatSeconds) at each heartbeat
      // of the working task and at nothing else: the silent task times out at the second, the working one (two parts,
      // a heartbeat after each, each sent once the one before is answered) outlives HeartbeatSeconds only by
      // heartbeating. Where on the clock each task closed, by execution:
      const clock = new ManualClock();
      const closedAt = new Map<string, number>();
      const onEvent = (e: SfnEvent) => void (e.type === "TaskClosed" && closedAt.set(e.executionArn, clock.now));
      const again = await LocalStepFunctions.start({ stateMachine: loadStateMachine(file, {}), putEvents: (entries) => apiDestination(entries).then(() => undefined), heartbeatTimers: clock, onEvent });
      await startWorker(again.endpoint);
      const client = new SFNClient({ endpoint: again.endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
      let working = true;
      void (async () => {
        // Timers set: the silent task's (started first), the working task's, then only the working task's heartbeats.
        for (let sets = 3; ; sets++) {
          await clock.setsReach(sets);
          if (!working) break;
          clock.advance(7000);
        }
      })();
      try {
        const { StartExecutionCommand } = await import("@aws-sdk/client-sfn");
        // Both at once (one heartbeating past HeartbeatSeconds, one silent), as one worker serves many tasks; the
        // silent one first, so that every timer set after the working task's own is a heartbeat of the working task.
        const hung = await client.send(new StartExecutionCommand({ stateMachineArn: again.stateMachineArn, input: JSON.stringify({ text: "x", hang: true }) }));
        await clock.setsReach(1);
        const ok = await client.send(new StartExecutionCommand({ stateMachineArn: again.stateMachineArn, input: JSON.stringify({ text: "a\nb\n\nc\n", hang: false }) }));
        const d = await again.waitForExecution(ok.executionArn!);
        working = false;
        // Were the working task's heartbeats not to move the clock, this ends the silent task, and the working task's
        // check ("closed past HeartbeatSeconds") fails.
        if (!closedAt.has(hung.executionArn!)) clock.advance(8000);
        expect(closedAt.get(hung.executionArn!), "the silent task closed at HeartbeatSeconds").to.equal(8000);
        expect(closedAt.get(ok.executionArn!), "the working task closed past HeartbeatSeconds, after its two heartbeats").to.equal(14_000);
        expect(clock.pending, "no heartbeat timer left").to.equal(0);
        const timedOut = await again.waitForExecution(hung.executionArn!);
        expect(d.status).to.equal("SUCCEEDED");
        expect(JSON.parse(d.output!)).to.deep.equal({ lines: 3, worker: "external-worker" });
        expect(JSON.parse(timedOut.output!).error.Error).to.equal("States.HeartbeatTimeout");
      } finally {
        working = false;
        client.destroy();
        await again.close();
      }
    });
  });
});
