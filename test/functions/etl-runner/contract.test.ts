// The runner contract, once, against every engine adapter: whatever the technology, a task's run is started once
// (duplicate deliveries, lost start answers, stale claims), every engine state is answered, a gone task's run is
// stopped, start errors are classed, Step Functions' limits hold, and a staged result is published exactly once.
// The engines are in-memory fakes answering with AWS's shapes (engine-fakes.ts); DynamoDB is dynalite.
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { checkQuality, COUNTS_OBJECT } from "../../../core/quality";
import { RUNNER_TABLE } from "../../../core/table-keys";
import { ANSWER_CLAIM_MS, checkAllRuns } from "../../../functions/etl-runner/check";
import { STALE_CLAIM_MS } from "../../../functions/etl-runner/engine";
import { emptySummary, type RunnerDeps, type RunnerSummary } from "../../../functions/etl-runner/deps";
import { engineRegistry } from "../../../functions/etl-runner/engines/registry";
import { parseRunnerEvent } from "../../../functions/etl-runner/events";
import { JobSpecs } from "../../../functions/etl-runner/job-specs";
import { Publisher } from "../../../functions/etl-runner/publish";
import { runRunner } from "../../../functions/etl-runner/runner";
import { RunsTable } from "../../../functions/etl-runner/runs-table";
import { acceptTask, taskIdOf } from "../../../functions/etl-runner/start";
import { LIMITS } from "../../../functions/shared/sfn";
import { answerCommands, awsError, silentLogger, startDynalite, type LocalDynamo } from "../fakes";
import { STAGING_URI_MARKER, type AthenaJobSpec, type EmrServerlessJobSpec } from "../../../core/job-spec";
import { ARTIFACT_BUCKET, DATA_BUCKET, ENGINE_FAKES, FakeS3, fakeAthena, fakeEmrServerless, fakeGlue, SPECS_URI, type FakeEngine } from "./engine-fakes";
import { NOW } from "./harness";

const TOKEN = "task-token-1";
const TASK_ID = taskIdOf(TOKEN);
/** What is left of a Lambda invocation that handles a state-change event (its claims hold until its end). */
const INVOCATION_LEFT_MS = 30_000;

describe("etl-runner contract (every engine)", () => {
  let dynamo: LocalDynamo;
  let tables = 0;
  before(async () => (dynamo = await startDynalite()));
  after(() => dynamo.close());

  async function world(make: () => FakeEngine) {
    const fake = make();
    const s3 = new FakeS3();
    if (fake.spec) s3.objects.set(`${ARTIFACT_BUCKET}/glue-scripts/jobs/${fake.jobName}.json`, JSON.stringify(fake.spec));
    const tableName = `contract-runs-${++tables}`;
    await dynamo.createTable(tableName, RUNNER_TABLE);
    const sfnClient = new SFNClient({ region: "us-east-1" });
    const sfn = mockClient(sfnClient);
    const gone = new Set<string>();
    const answer = answerCommands(sfn);
    for (const command of [SendTaskSuccessCommand, SendTaskFailureCommand, SendTaskHeartbeatCommand])
      answer(command as typeof SendTaskHeartbeatCommand, async ({ taskToken }) => {
        if (gone.has(taskToken)) throw new TaskTimedOut({ message: "Task Timed Out", $metadata: {} });
        return {};
      });
    let now = NOW;
    const logger = silentLogger();
    const specs = new JobSpecs(() => s3.client, SPECS_URI);
    const adapter = fake.adapter(specs, logger, () => s3.client);
    const deps: RunnerDeps = {
      sfn: sfnClient,
      engines: engineRegistry({ [fake.jobName]: fake.engine }, { [fake.engine]: () => adapter }),
      publisher: new Publisher(() => s3.client, specs),
      table: new RunsTable(dynamo.ddb, tableName, 14),
      config: { activityArn: "arn:aws:states:us-east-1:123456789012:activity:etl-dev-etl-runner", tableName, runTtlDays: 14, maxTasksPerInvocation: 10, engineConcurrency: 4, jobEngines: { [fake.jobName]: fake.engine }, jobSpecsUri: SPECS_URI, eventSource: "etl.dev.workflow" },
      logger,
      now: () => now,
    };
    const output = fake.spec ? new URL(fake.spec.outputUri).pathname.slice(1) : "";
    const staging = (taskId: string) => (fake.spec ? `${new URL(fake.spec.stagingUri).pathname.slice(1)}${taskId}/` : "");
    const sent = <T>(command: new (input: any) => T) => sfn.commandCalls(command as any).map((c) => c.args[0].input as any);
    return {
      fake,
      s3,
      sfn,
      gone,
      deps,
      output,
      staging,
      summary: emptySummary() as RunnerSummary,
      advance: (ms: number) => (now = new Date(now.getTime() + ms)),
      accept(token = TOKEN) {
        return acceptTask(deps, { taskToken: token, input: JSON.stringify({ JobName: fake.jobName, Arguments: { "--etl_execution": "exec-1" } }) }, this.summary);
      },
      check() {
        return checkAllRuns(deps, this.summary);
      },
      items: async () => (await deps.table.scanAll()).items,
      /** What the run of `taskId` wrote, where this engine writes before publishing. */
      stage(taskId: string, files: Record<string, string>) {
        for (const [name, body] of Object.entries(files)) s3.objects.set(`${DATA_BUCKET}/${staging(taskId)}${name}`, body);
      },
      successes: () => sent(SendTaskSuccessCommand),
      failures: () => sent(SendTaskFailureCommand),
      heartbeats: () => sent(SendTaskHeartbeatCommand),
    };
  }
  type World = Awaited<ReturnType<typeof world>>;

  /** A task accepted and its run recorded; returns the run id. */
  async function started(w: World): Promise<string> {
    await w.accept();
    const [item] = await w.items();
    expect(item?.jobRunId, "run recorded").to.be.a("string");
    return item.jobRunId!;
  }

  /** A task whose start answer was lost, its run ended `state` before the claim went stale; returns the run id. */
  async function lostStartEnded(w: World, state: string, errorMessage?: string): Promise<string> {
    w.fake.nextStart = { kind: "lose-answer", created: true };
    await w.accept();
    const [runId] = w.fake.runIds();
    w.stage(TASK_ID, { "part-0.parquet": "rows" });
    w.fake.setState(runId, state, errorMessage);
    w.advance(STALE_CLAIM_MS);
    return runId;
  }

  describe("start requests, as the engines contract specifies", () => {
    it("Athena: the job's statement with the run's staging folder, in its workgroup and database, with a ClientRequestToken", async () => {
      const w = await world(fakeAthena);
      await w.accept();
      const spec = w.fake.spec as AthenaJobSpec;
      expect(w.fake.starts[0].input).to.deep.equal({
        QueryString: spec.query.replace(STAGING_URI_MARKER, `${spec.stagingUri}${TASK_ID}/`),
        WorkGroup: "etl-dev-etl",
        QueryExecutionContext: { Database: "etl_orchestrator" },
        ClientRequestToken: TASK_ID,
      });
    });

    it("EMR Serverless: the job's script and arguments plus --etl_output (staging) and --etl_task_id, a clientToken and a name naming the job", async () => {
      const w = await world(fakeEmrServerless);
      await w.accept();
      const spec = w.fake.spec as EmrServerlessJobSpec;
      expect(w.fake.starts[0].input).to.deep.equal({
        applicationId: spec.applicationId,
        executionRoleArn: spec.executionRoleArn,
        clientToken: TASK_ID,
        name: `${spec.jobName}:${TASK_ID}`,
        jobDriver: {
          sparkSubmit: {
            entryPoint: spec.entryPoint,
            entryPointArguments: [...spec.entryPointArguments, "--etl_output", `${spec.stagingUri}${TASK_ID}/`, "--etl_task_id", TASK_ID],
            sparkSubmitParameters: spec.sparkSubmitParameters,
          },
        },
      });
    });

    it("Glue: the task input's arguments plus --etl_task_id", async () => {
      const w = await world(fakeGlue);
      await w.accept();
      expect(w.fake.starts[0].input).to.deep.include({ JobName: "etl-dev-LoadOrders", Arguments: { "--etl_execution": "exec-1", "--etl_task_id": TASK_ID } });
    });
  });

  describe("Athena: the counts statement and the data-quality gate, before anything is published", () => {
    const countsPrefix = (w: World) => `${new URL((w.fake.spec as AthenaJobSpec).stagingUri).pathname.slice(1)}${TASK_ID}.counts/`;

    it("runs the job's counts statement once the job's statement succeeded (token <taskId>-counts, the run's counts folder), and reports the counts", async () => {
      const w = await world(fakeAthena);
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      await w.check();
      const spec = w.fake.spec as AthenaJobSpec;
      expect(w.fake.starts[1].input).to.deep.equal({
        QueryString: spec.countsQuery.replace(STAGING_URI_MARKER, `${spec.stagingUri}${TASK_ID}.counts/`),
        WorkGroup: spec.workGroup,
        QueryExecutionContext: { Database: spec.database },
        ClientRequestToken: `${TASK_ID}-counts`,
      });
      expect(JSON.parse(w.successes()[0].output).counts).to.deep.equal({ rowsRead: { rows: 5 }, rowsDropped: { rows: 1 }, rowsWritten: 4 });
      expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "rows" });
      expect(w.s3.under(DATA_BUCKET, countsPrefix(w)), "the counts are never published, and deleted").to.deep.equal({});
    });

    it("keeps the task open (heartbeat, nothing published) while the counts statement runs; the same statement is asked again next cycle", async () => {
      const w = await world(fakeAthena);
      w.fake.counts = { ...w.fake.counts!, state: "RUNNING" };
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      await w.check();
      expect(w.successes()).to.have.length(0);
      expect(w.heartbeats()).to.have.length(1);
      expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
      await w.check();
      const countsStarts = w.fake.starts.filter((s) => s.key === `${TASK_ID}-counts`);
      expect(countsStarts).to.have.length(2);
      expect(new Set(w.fake.runIds()).size, "one counts statement, however often it is asked").to.equal(2);
    });

    it("a run over its limits fails with DataQualityError (the counts and the limit in its cause), and its staged output and counts are deleted, never published", async () => {
      const w = await world(fakeAthena);
      w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
      w.fake.counts = { ...w.fake.counts!, line: JSON.stringify({ "rows.read": 7, "rows.kept": 0, written: 0 }) };
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      await w.check();
      expect(w.failures().map((f) => f.error)).to.deep.equal(["DataQualityError"]);
      const expected = checkQuality({ inputs: { rows: { read: 7, dropped: 7 } }, written: 0, nulls: {} }, (w.fake.spec as AthenaJobSpec).quality);
      expect(expected).to.be.a("string");
      expect(w.failures()[0].cause).to.include(expected!);
      expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "old.parquet": "previous" });
      expect(w.s3.under(DATA_BUCKET, "staging/")).to.deep.equal({});
    });

    describe("a lost start's run, adopted by the check cycle once it ended: counted and gated as a recorded run is, not answered from the workgroup listing", () => {
      it("succeeded: its counts statement runs and the task output carries the counts", async () => {
        const w = await world(fakeAthena);
        const runId = await lostStartEnded(w, "SUCCEEDED");
        await w.check();
        expect(w.fake.starts.map((s) => s.key)).to.deep.equal([TASK_ID, `${TASK_ID}-counts`]);
        expect(w.successes()).to.have.length(1);
        expect(JSON.parse(w.successes()[0].output)).to.deep.include({ runId, state: "SUCCEEDED", ...w.fake.extraOutput(runId) });
        expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "rows" });
        expect(await w.items()).to.deep.equal([]);
      });

      it("over its limits: fails with DataQualityError, its staged output deleted, never published", async () => {
        const w = await world(fakeAthena);
        w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
        w.fake.counts = { ...w.fake.counts!, line: JSON.stringify({ "rows.read": 7, "rows.kept": 0, written: 0 }) };
        await lostStartEnded(w, "SUCCEEDED");
        await w.check();
        expect(w.successes()).to.deep.equal([]);
        expect(w.failures().map((f) => f.error)).to.deep.equal(["DataQualityError"]);
        const expected = checkQuality({ inputs: { rows: { read: 7, dropped: 7 } }, written: 0, nulls: {} }, (w.fake.spec as AthenaJobSpec).quality);
        expect(w.failures()[0].cause).to.include(expected!);
        expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "old.parquet": "previous" });
        expect(w.s3.under(DATA_BUCKET, "staging/")).to.deep.equal({});
      });

      it("while its counts statement runs: the task stays open (heartbeat), nothing published, the run recorded", async () => {
        const w = await world(fakeAthena);
        w.fake.counts = { ...w.fake.counts!, state: "RUNNING" };
        const runId = await lostStartEnded(w, "SUCCEEDED");
        await w.check();
        expect([...w.successes(), ...w.failures()]).to.deep.equal([]);
        expect(w.heartbeats().length).to.be.at.least(1);
        expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
        expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: runId });
      });

      it("its counts unreadable this cycle (S3 throttled): heartbeat, the run recorded, answered with its counts next cycle", async () => {
        const w = await world(fakeAthena);
        const runId = await lostStartEnded(w, "SUCCEEDED");
        w.s3.failures.push({ command: "ListObjectsV2", when: (i) => String(i.Prefix).endsWith(".counts/"), error: awsError("SlowDown", "reduce your request rate", 503) });
        await w.check();
        expect([...w.successes(), ...w.failures()]).to.deep.equal([]);
        expect(w.heartbeats().length).to.be.at.least(1);
        expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
        expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: runId });
        await w.check();
        expect(w.successes()).to.have.length(1);
        expect(JSON.parse(w.successes()[0].output).counts).to.deep.equal({ rowsRead: { rows: 5 }, rowsDropped: { rows: 1 }, rowsWritten: 4 });
        expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "rows" });
      });
    });

    it("a counts statement refused as its token's idempotency mismatch (started before with another text) fails the task COUNTS_FAILED, naming it, publishing nothing", async () => {
      const w = await world(fakeAthena);
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      // Athena's answer to a ClientRequestToken used before with other parameters (local/athena-service.ts answers the same).
      const mismatch = () => awsError("InvalidRequestException", "Idempotent parameters do not match");
      w.fake.counts = { ...w.fake.counts!, refusals: [mismatch(), mismatch()] };
      await w.check();
      expect(w.fake.starts.map((s) => s.key)).to.deep.equal([TASK_ID, `${TASK_ID}-counts`]);
      expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
      expect(JSON.parse(w.failures()[0].cause)).to.include({ runId, state: "COUNTS_FAILED" });
      expect(JSON.parse(w.failures()[0].cause).errorMessage).to.include(`token ${TASK_ID}-counts was already used with another statement`);
      expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
      expect(await w.items()).to.deep.equal([]);
    });

    it("a counts statement that cannot be started this cycle (throttled): the task is kept alive (heartbeat), counted and answered next cycle", async () => {
      const w = await world(fakeAthena);
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      // Refused in the cycle's batch read and in its run-by-run read after it.
      const throttled = () => awsError("ThrottlingException", "Rate exceeded", 400);
      w.fake.counts = { ...w.fake.counts!, refusals: [throttled(), throttled()] };
      await w.check();
      expect([...w.successes(), ...w.failures()]).to.deep.equal([]);
      expect(w.heartbeats().map((h) => h.taskToken)).to.deep.equal([TOKEN]);
      expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: runId });
      await w.check();
      expect(w.successes()).to.have.length(1);
      expect(JSON.parse(w.successes()[0].output).counts).to.deep.equal({ rowsRead: { rows: 5 }, rowsDropped: { rows: 1 }, rowsWritten: 4 });
    });

    it("a counts statement that fails fails the task with JobFailedError, publishing nothing", async () => {
      const w = await world(fakeAthena);
      w.fake.counts = { ...w.fake.counts!, state: "FAILED" };
      const runId = await started(w);
      w.stage(TASK_ID, { "part-0.parquet": "rows" });
      w.fake.setState(runId, "SUCCEEDED");
      await w.check();
      expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
      expect(w.failures()[0].cause).to.match(/COUNTS_FAILED/);
      expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
    });
  });

  for (const make of ENGINE_FAKES) {
    const { engine, states } = make();
    describe(engine, () => {
      /** One SendTaskSuccess, with the contract's output for the engine's succeeded run `runId`. */
      function expectSucceededOutput(w: World, runId: string) {
        expect(w.successes()).to.have.length(1);
        const output = JSON.parse(w.successes()[0].output);
        expect(output).to.deep.include({ jobName: w.fake.jobName, engine, runId, state: states.succeeded, ...w.fake.extraOutput(runId) });
        expect(output.startedOn).to.match(/^2026-11-23T12:00:\d\d\.000Z$/);
        expect(output.completedOn).to.equal("2026-11-23T12:05:00.000Z");
        expect(output.executionTime).to.be.a("number").and.above(0);
      }

      describe("starting", () => {
        it("starts the run with the task id as its idempotency key and records the run id", async () => {
          const w = await world(make);
          await w.accept();
          expect(w.fake.starts.map((s) => s.key)).to.deep.equal([TASK_ID]);
          const items = await w.items();
          expect(items).to.have.length(1);
          expect(items[0]).to.include({ jobName: w.fake.jobName, taskId: TASK_ID, status: "RUNNING", jobRunId: w.fake.runIds()[0], executionName: "exec-1" });
          expect(w.summary).to.include({ tasksReceived: 1, tasksStarted: 1, errors: 0 });
          expect(w.failures()).to.deep.equal([]);
        });

        it("a duplicate delivery of the same task starts nothing more", async () => {
          const w = await world(make);
          await w.accept();
          await w.accept();
          expect(w.fake.starts).to.have.length(1);
          expect(w.fake.runIds()).to.have.length(1);
          expect(await w.items()).to.have.length(1);
        });

        it("a start whose answer was lost is adopted by the check cycle once the claim is stale, never started twice", async () => {
          const w = await world(make);
          w.fake.nextStart = { kind: "lose-answer", created: true };
          await w.accept();
          expect((await w.items())[0]).to.include({ status: "STARTING" });
          expect(w.failures(), "the task is not failed: its run may exist").to.deep.equal([]);
          await w.check();
          expect(w.fake.starts, "a fresh claim is left to its holder").to.have.length(1);
          w.advance(STALE_CLAIM_MS);
          await w.check();
          expect(w.fake.runIds()).to.have.length(1);
          expect(w.fake.starts.length, "not started again").to.equal(1);
          expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: w.fake.runIds()[0] });
          expect(w.heartbeats().length).to.be.at.least(1);
          expect(w.fake.calls()[w.fake.perRunCall] ?? 0, "a run still in progress is not read again").to.equal(0);
        });

        it(`a lost start's run that has since ${states.succeeded} is adopted and answered with a recorded run's output (the engine's full read, not its listing)`, async () => {
          const w = await world(make);
          const runId = await lostStartEnded(w, states.succeeded);
          await w.check();
          expectSucceededOutput(w, runId);
          expect(w.fake.starts.filter((s) => s.key === TASK_ID), "not started again").to.have.length(1);
          expect(await w.items()).to.deep.equal([]);
        });

        it(`a lost start's run that has since ${states.succeeded}, not found by the full read lagging the listing: left recorded (heartbeat), answered next cycle`, async () => {
          const w = await world(make);
          const runId = await lostStartEnded(w, states.succeeded);
          const adapter = w.deps.engines.of(w.fake.jobName);
          const describeRun = adapter.describeRun.bind(adapter);
          adapter.describeRun = async () => {
            adapter.describeRun = describeRun;
            return "missing";
          };
          await w.check();
          expect([...w.successes(), ...w.failures()], "not failed as having no such run").to.deep.equal([]);
          expect(w.heartbeats().length).to.be.at.least(1);
          expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: runId });
          await w.check();
          expect(w.successes()).to.have.length(1);
          expect(JSON.parse(w.successes()[0].output)).to.include({ runId, state: states.succeeded });
          expect(await w.items()).to.deep.equal([]);
        });

        it(`a lost start's run that has since ${states.failed[0]} is adopted and fails the task with the engine's reason`, async () => {
          const w = await world(make);
          const runId = await lostStartEnded(w, states.failed[0], "it broke");
          await w.check();
          expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
          expect(JSON.parse(w.failures()[0].cause)).to.include({ runId, state: states.failed[0], errorMessage: "it broke" });
          expect(w.successes()).to.deep.equal([]);
        });

        it("a stale claim whose start never reached the engine is started again, with the same key", async () => {
          const w = await world(make);
          w.fake.nextStart = { kind: "lose-answer", created: false };
          await w.accept();
          expect(w.fake.runIds()).to.have.length(0);
          w.advance(STALE_CLAIM_MS);
          await w.check();
          expect(w.fake.starts.map((s) => s.key)).to.deep.equal([TASK_ID, TASK_ID]);
          expect(w.fake.runIds()).to.have.length(1);
          expect((await w.items())[0]).to.include({ status: "RUNNING", jobRunId: w.fake.runIds()[0] });
        });

        it("a stale claim of a task that is gone: its adopted run is stopped and the claim removed", async () => {
          const w = await world(make);
          w.fake.nextStart = { kind: "lose-answer", created: true };
          await w.accept();
          w.gone.add(TOKEN);
          w.advance(STALE_CLAIM_MS);
          await w.check();
          expect(w.fake.stopped).to.deep.equal(w.fake.runIds());
          expect(await w.items()).to.deep.equal([]);
          expect(w.fake.starts).to.have.length(1);
        });

        for (const error of make().retryableStartErrors)
          it(`start error ${error.name} (${(error as any).$metadata.httpStatusCode}) fails the task with JobRetryableError and removes the claim`, async () => {
            const w = await world(make);
            w.fake.nextStart = { kind: "refuse", error };
            await w.accept();
            expect(w.failures().map((f) => f.error)).to.deep.equal(["JobRetryableError"]);
            expect(w.failures()[0].cause).to.include(error.name).and.include(w.fake.jobName);
            expect(await w.items()).to.deep.equal([]);
          });

        for (const error of make().permanentStartErrors)
          it(`start error ${error.name} fails the task with JobStartError and removes the claim`, async () => {
            const w = await world(make);
            w.fake.nextStart = { kind: "refuse", error };
            await w.accept();
            expect(w.failures().map((f) => f.error)).to.deep.equal(["JobStartError"]);
            expect(w.failures()[0].cause).to.include(error.message);
            expect(await w.items()).to.deep.equal([]);
          });
      });

      describe("every state", () => {
        it(`${states.succeeded}: SendTaskSuccess with the contract's output, then the item is deleted`, async () => {
          const w = await world(make);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "rows" });
          w.fake.setState(runId, states.succeeded);
          await w.check();
          expectSucceededOutput(w, runId);
          expect(await w.items()).to.deep.equal([]);
          expect(w.summary).to.include({ closed: 1 });
        });

        for (const state of states.failed)
          it(`${state}: SendTaskFailure JobFailedError with a JSON cause, then the item is deleted`, async () => {
            const w = await world(make);
            const runId = await started(w);
            w.fake.setState(runId, state, `it went ${state}`);
            await w.check();
            expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
            expect(JSON.parse(w.failures()[0].cause)).to.include({ jobName: w.fake.jobName, engine, runId, state, errorMessage: `it went ${state}` });
            expect(w.successes()).to.deep.equal([]);
            expect(await w.items()).to.deep.equal([]);
          });

        for (const state of [...states.running, ...states.runningNotStoppable])
          it(`${state}: SendTaskHeartbeat, and the item stays`, async () => {
            const w = await world(make);
            const runId = await started(w);
            w.fake.setState(runId, state);
            await w.check();
            expect(w.heartbeats().map((h) => h.taskToken)).to.deep.equal([TOKEN]);
            expect([...w.successes(), ...w.failures()]).to.deep.equal([]);
            expect(await w.items()).to.have.length(1);
          });

        it("a run the engine does not know fails the task (NOT_FOUND)", async () => {
          const w = await world(make);
          await started(w);
          await w.deps.table.remove((await w.items())[0]);
          const item = { jobName: w.fake.jobName, taskId: "t-unknown", taskToken: "token-unknown", status: "STARTING" as const, taskInput: "{}", claimedAt: NOW.toISOString() };
          await w.deps.table.claim(item, NOW);
          await w.deps.table.markRunning(item, "run-nobody-started", NOW.toISOString());
          await w.check();
          expect(w.failures().map((f) => [f.error, JSON.parse(f.cause).state])).to.deep.equal([["JobFailedError", "NOT_FOUND"]]);
        });

        /** Step Functions refuses the next `command` once with a throttle, as it does under load. */
        function throttleOnce(w: World, command: typeof SendTaskSuccessCommand | typeof SendTaskFailureCommand | typeof SendTaskHeartbeatCommand) {
          let throttled = false;
          w.sfn.on(command as typeof SendTaskHeartbeatCommand).callsFake(async () => {
            if (throttled) return {};
            throttled = true;
            throw awsError("ThrottlingException", "Rate exceeded", 400);
          });
        }

        for (const [ended, command] of [[states.succeeded, SendTaskSuccessCommand], [states.failed[0], SendTaskFailureCommand]] as const)
          it(`${ended}: an answer refused by a throttle is given by the next cycle, not after the answer claim expires`, async () => {
            const w = await world(make);
            const runId = await started(w);
            w.stage(TASK_ID, { "part-0.parquet": "rows" });
            w.fake.setState(runId, ended, "boom");
            throttleOnce(w, command);
            await w.check();
            expect(w.summary.errors, "the throttle is counted").to.equal(1);
            expect((await w.items())[0], "the claim to answer is released").to.not.have.any.keys("answeringAt", "answerClaimUntil");
            w.advance(60_000);
            await w.check();
            expect(w.sfn.commandCalls(command as typeof SendTaskSuccessCommand), "refused once, answered next cycle").to.have.length(2);
            expect(await w.items()).to.deep.equal([]);
            if (ended === states.succeeded) expect(w.failures()).to.deep.equal([]);
          });

        it("a state-change event closes its task at once", async () => {
          const w = await world(make);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "rows" });
          w.fake.setState(runId, states.succeeded);
          const summary = await runRunner(w.deps, parseRunnerEvent(w.fake.stateChangeEvent(runId, TASK_ID, states.succeeded)), { workerName: "w", remainingMs: () => INVOCATION_LEFT_MS });
          expect(w.successes()).to.have.length(1);
          expect(summary).to.include({ closed: 1 });
        });

        it("many runs are described in one batch call, not one call per run", async () => {
          const w = await world(make);
          for (const token of ["a", "b", "c", "d"]) await w.accept(token);
          for (const runId of w.fake.runIds()) w.fake.setState(runId, states.running[0]);
          const before = w.fake.calls();
          await w.check();
          const after = w.fake.calls();
          expect((after[w.fake.batchCall] ?? 0) - (before[w.fake.batchCall] ?? 0)).to.equal(1);
          expect((after[w.fake.perRunCall] ?? 0) - (before[w.fake.perRunCall] ?? 0)).to.equal(0);
          expect(w.heartbeats()).to.have.length(4);
        });
      });

      describe("a task that is gone", () => {
        for (const state of states.running)
          it(`its ${state} run is stopped and its item removed`, async () => {
            const w = await world(make);
            const runId = await started(w);
            w.fake.setState(runId, state);
            w.gone.add(TOKEN);
            await w.check();
            expect(w.fake.stopped).to.deep.equal([runId]);
            expect(await w.items()).to.deep.equal([]);
          });

        for (const state of states.runningNotStoppable)
          it(`its ${state} run (already stopping) is not stopped again`, async () => {
            const w = await world(make);
            const runId = await started(w);
            w.fake.setState(runId, state);
            w.gone.add(TOKEN);
            await w.check();
            expect(w.fake.stopped).to.deep.equal([]);
            expect(await w.items()).to.deep.equal([]);
          });

        it("a claim that is lost before the run is recorded has its run stopped", async () => {
          const w = await world(make);
          const realMark = w.deps.table.markRunning.bind(w.deps.table);
          w.deps.table.markRunning = async () => false;
          await w.accept();
          w.deps.table.markRunning = realMark;
          expect(w.fake.stopped).to.deep.equal(w.fake.runIds());
        });
      });

      describe("Step Functions' limits", () => {
        it("keeps a long engine message within the 32,768-character cause, as valid JSON", async () => {
          const w = await world(make);
          const runId = await started(w);
          w.fake.setState(runId, states.failed[0], 'line "1"\n\t😀'.repeat(10_000));
          await w.check();
          const cause = w.failures()[0].cause as string;
          expect(cause.length).to.be.at.most(LIMITS.cause);
          expect(JSON.parse(cause)).to.include({ engine, runId });
        });

        it("fails the task with OutputTooLarge rather than lose it when the output exceeds 262,144 characters", async () => {
          const w = await world(make);
          w.fake.nextRunId = "r".repeat(LIMITS.output);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "rows" });
          w.fake.setState(runId, states.succeeded);
          await w.check();
          expect(w.successes()).to.deep.equal([]);
          expect(w.failures().map((f) => f.error)).to.deep.equal(["OutputTooLarge"]);
          expect(await w.items()).to.deep.equal([]);
        });
      });

      describe("publishing", () => {
        if (!make().spec) {
          it("a run on this engine writes its output itself: nothing is staged or published", async () => {
            const w = await world(make);
            const runId = await started(w);
            w.fake.setState(runId, states.succeeded);
            await w.check();
            expect(w.successes()).to.have.length(1);
            expect(w.s3.mock.calls()).to.have.length(0);
          });

          it("reads the counts object the run wrote beside its output (GLUE_COUNTS_URIS) into the task output; a missing or foreign one leaves them out", async () => {
            const counts = { rowsRead: { a: 9 }, rowsDropped: { a: 2 }, rowsWritten: 7 };
            for (const [object, expected] of [
              [{ taskId: TASK_ID, ...counts }, counts],
              [{ taskId: "another", ...counts }, undefined],
              [undefined, undefined],
            ] as const) {
              const w = await world(make);
              const key = `processed/${w.fake.jobName}/${COUNTS_OBJECT}`;
              w.deps.config.glueCountsUris = { [w.fake.jobName]: `s3://${DATA_BUCKET}/${key}` };
              if (object) w.s3.objects.set(`${DATA_BUCKET}/${key}`, JSON.stringify(object));
              const runId = await started(w);
              w.fake.setState(runId, states.succeeded);
              await w.check();
              expect(w.successes()).to.have.length(1);
              expect(JSON.parse(w.successes()[0].output).counts).to.deep.equal(expected);
            }
          });
          return;
        }

        it("reads the counts object the run staged (core/quality.ts COUNTS_OBJECT) into the task output, never publishing it, even when the publish is repeated", async () => {
          const w = await world(make);
          const runId = await started(w);
          const counts = { rowsRead: { a: 9, b: 3 }, rowsDropped: { a: 2, b: 0 }, rowsWritten: 5 };
          w.stage(TASK_ID, { "part-0.parquet": "new", [COUNTS_OBJECT]: JSON.stringify({ taskId: TASK_ID, ...counts }) });
          w.fake.setState(runId, states.succeeded);
          // The first publish stops after the marker (staged objects not deleted): the retry reports the same counts.
          w.s3.failures.push({ command: "DeleteObjects", when: (i) => i.Delete.Objects[0].Key.startsWith("staging/"), error: awsError("InternalError", "x", 500) });
          await w.check();
          expect(w.successes()).to.have.length(0);
          w.s3.objects.delete(`${DATA_BUCKET}/${w.staging(TASK_ID)}${COUNTS_OBJECT}`);
          await w.check();
          expect(w.successes()).to.have.length(1);
          const output = JSON.parse(w.successes()[0].output);
          // Athena's counts come from its counts statement (its fake's), the others' from the object.
          if (engine !== "athena") expect(output.counts).to.deep.equal(counts);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new" });
        });

        it("refuses a staged counts object written for another task (PUBLISH_FAILED), publishing nothing", async () => {
          const w = await world(make);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "new", [COUNTS_OBJECT]: JSON.stringify({ taskId: "another", rowsRead: {}, rowsDropped: {}, rowsWritten: 1 }) });
          w.fake.setState(runId, states.succeeded);
          await w.check();
          expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
          expect(w.failures()[0].cause).to.match(/PUBLISH_FAILED.*written for task another/);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({});
        });

        it("replaces the previous output with the staged result, then deletes the staging objects, before answering", async () => {
          const w = await world(make);
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}old-0.parquet`, "previous");
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}old-1.parquet`, "previous");
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "new 0", "part-1.parquet": "new 1", "nested/part-2.parquet": "new 2" });
          w.fake.setState(runId, states.succeeded);
          await w.check();
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new 0", "part-1.parquet": "new 1", "nested/part-2.parquet": "new 2" });
          expect(w.s3.under(DATA_BUCKET, "staging/"), "staging and the publish marker are gone").to.deep.equal({});
          expect(w.successes()).to.have.length(1);
        });

        it("repeats an interrupted publish safely (transient S3 errors): the task stays open, the next cycle finishes", async () => {
          const w = await world(make);
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "new" });
          w.fake.setState(runId, states.succeeded);
          // The previous output's delete fails once; then the staging delete fails once (after the marker).
          w.s3.failures.push({ command: "DeleteObjects", when: (i) => i.Delete.Objects[0].Key.startsWith(w.output), error: awsError("SlowDown", "reduce your request rate", 503) });
          w.s3.failures.push({ command: "DeleteObjects", when: (i) => i.Delete.Objects[0].Key.startsWith("staging/"), error: awsError("InternalError", "x", 500) });
          await w.check();
          expect(w.successes()).to.deep.equal([]);
          expect(w.heartbeats()).to.have.length(1);
          await w.check();
          expect(w.successes()).to.deep.equal([]);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new" });
          // A crash here must not touch the output again: the published output is final even if staging is empty.
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}written-later-by-nobody.parquet`, "x");
          await w.check();
          expect(w.successes()).to.have.length(1);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.have.keys("part-0.parquet", "written-later-by-nobody.parquet");
          expect(w.s3.under(DATA_BUCKET, "staging/")).to.deep.equal({});
          expect(await w.items()).to.deep.equal([]);
        });

        it("a retried publish whose heartbeat is throttled still releases the claim: the next cycle publishes and answers", async () => {
          const w = await world(make);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "new" });
          w.fake.setState(runId, states.succeeded);
          w.s3.failures.push({ command: "DeleteObjects", when: (i) => i.Delete.Objects[0].Key.startsWith("staging/"), error: awsError("InternalError", "x", 500) });
          w.sfn.on(SendTaskHeartbeatCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded", 400)).resolves({});
          await w.check();
          expect(w.successes()).to.deep.equal([]);
          expect(w.summary.errors).to.equal(1);
          w.advance(60_000);
          await w.check();
          expect(w.successes()).to.have.length(1);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new" });
          expect(await w.items()).to.deep.equal([]);
        });

        describe("two cycles over the same succeeded run at once (a schedule and a state-change event on AWS)", () => {
          /** A world whose SFN refuses any answer to a task already answered, as Step Functions does. */
          async function racing() {
            const w = await world(make);
            w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
            const runId = await started(w);
            w.stage(TASK_ID, { "part-0.parquet": "new 0", "part-1.parquet": "new 1" });
            w.fake.setState(runId, states.succeeded);
            for (const command of [SendTaskSuccessCommand, SendTaskFailureCommand])
              w.sfn.on(command as typeof SendTaskSuccessCommand).callsFake(async ({ taskToken }) => {
                if (w.gone.has(taskToken)) throw new TaskTimedOut({ message: "Task Timed Out", $metadata: {} });
                w.gone.add(taskToken);
                return {};
              });
            const cycles = {
              schedule: () => w.check(),
              event: () => runRunner(w.deps, parseRunnerEvent(w.fake.stateChangeEvent(runId, TASK_ID, states.succeeded)), { workerName: "w", remainingMs: () => INVOCATION_LEFT_MS }),
            };
            /** Holds the next cycle at its first copy (staged objects listed, no marker yet); resolves once it is there. */
            const holdAtCopy = (until: Promise<unknown>) => new Promise<void>((reached) => w.s3.holds.push({ command: "CopyObject", until, reached }));
            return { w, cycles, holdAtCopy };
          }

          for (const [first, second] of [["schedule", "event"], ["event", "schedule"], ["schedule", "schedule"]] as const)
            it(`${first} cycle held mid-publish while a ${second} cycle checks: published once, one SendTaskSuccess, no failure`, async () => {
              const { w, cycles, holdAtCopy } = await racing();
              let release!: () => void;
              const held = holdAtCopy(new Promise<void>((r) => (release = r)));
              const firstCycle = cycles[first]();
              await held;
              await cycles[second]();
              release();
              await firstCycle;
              expect(w.failures(), "no failure answered").to.deep.equal([]);
              expect(w.successes()).to.have.length(1);
              expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new 0", "part-1.parquet": "new 1" });
              expect(w.s3.under(DATA_BUCKET, "staging/"), "staging and the publish marker are gone").to.deep.equal({});
              expect(await w.items()).to.deep.equal([]);
            });

          it("a claim made by a runner before answerClaimUntil existed holds for ANSWER_CLAIM_MS", async () => {
            const { w, cycles } = await racing();
            const [item] = await w.items();
            // What an earlier runner wrote when it claimed the answer: the claim's time only.
            await dynamo.ddb.send(
              new UpdateItemCommand({
                TableName: w.deps.config.tableName,
                Key: { [RUNNER_TABLE.partitionKey]: { S: item.jobName }, [RUNNER_TABLE.sortKey]: { S: item.taskId } },
                UpdateExpression: "SET answeringAt = :at",
                ExpressionAttributeValues: { ":at": { S: w.deps.now().toISOString() } },
              }),
            );
            w.advance(ANSWER_CLAIM_MS - 1);
            await cycles.schedule();
            expect(w.successes(), "claim still held").to.have.length(0);
            w.advance(1);
            await cycles.schedule();
            expect(w.successes()).to.have.length(1);
            expect(await w.items()).to.deep.equal([]);
          });

          // A cycle whose Lambda timed out mid-publish: its claim holds until its invocation's end (a state-change event's
          // invocation), or ANSWER_CLAIM_MS without a Lambda context (w.check); then another cycle publishes and answers.
          for (const [dying, holdMs, held] of [["event", INVOCATION_LEFT_MS, "the invocation's end"], ["schedule", ANSWER_CLAIM_MS, "ANSWER_CLAIM_MS (no Lambda context)"]] as const)
            it(`the ${dying} cycle, dead mid-publish, holds its claim until ${held}: then another cycle publishes and answers`, async () => {
              const { w, cycles, holdAtCopy } = await racing();
              const stuck = holdAtCopy(new Promise(() => undefined)); // never resumes, as a Lambda that timed out
              void cycles[dying]();
              await stuck;
              w.advance(holdMs - 1);
              await cycles.schedule();
              expect(w.successes(), "claim still held").to.have.length(0);
              expect(w.heartbeats(), "the waiting cycle keeps the task alive").to.have.length(1);
              w.advance(1);
              await cycles.schedule();
              expect(w.failures()).to.deep.equal([]);
              expect(w.successes()).to.have.length(1);
              expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "part-0.parquet": "new 0", "part-1.parquet": "new 1" });
              expect(await w.items()).to.deep.equal([]);
            });

        });

        it("a run that staged nothing fails (NO_OUTPUT) and the previous output stays", async () => {
          const w = await world(make);
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
          const runId = await started(w);
          w.fake.setState(runId, states.succeeded);
          await w.check();
          expect(w.failures().map((f) => [f.error, JSON.parse(f.cause).state])).to.deep.equal([["JobFailedError", "NO_OUTPUT"]]);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "old.parquet": "previous" });
        });

        it("a failed run leaves the previous output untouched and its staged objects are deleted", async () => {
          const w = await world(make);
          w.s3.objects.set(`${DATA_BUCKET}/${w.output}old.parquet`, "previous");
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "half written" });
          w.fake.setState(runId, states.failed[0], "boom");
          await w.check();
          expect(w.failures().map((f) => f.error)).to.deep.equal(["JobFailedError"]);
          expect(w.s3.under(DATA_BUCKET, w.output)).to.deep.equal({ "old.parquet": "previous" });
          expect(w.s3.under(DATA_BUCKET, "staging/")).to.deep.equal({});
        });

        it("an S3 refusal (access denied) fails the task (PUBLISH_FAILED) instead of retrying forever", async () => {
          const w = await world(make);
          const runId = await started(w);
          w.stage(TASK_ID, { "part-0.parquet": "new" });
          w.fake.setState(runId, states.succeeded);
          w.s3.failures.push({ command: "CopyObject", error: awsError("AccessDenied", "Access Denied", 403) });
          await w.check();
          expect(w.failures().map((f) => [f.error, JSON.parse(f.cause).state])).to.deep.equal([["JobFailedError", "PUBLISH_FAILED"]]);
          expect(JSON.parse(w.failures()[0].cause).errorMessage).to.include("AccessDenied");
        });

        it("a missing job spec fails the start with JobStartError naming the spec", async () => {
          const w = await world(make);
          w.s3.objects.clear();
          await w.accept();
          expect(w.failures().map((f) => f.error)).to.deep.equal(["JobStartError"]);
          expect(w.failures()[0].cause).to.include(`${SPECS_URI}${w.fake.jobName}.json`).and.include("NoSuchKey");
          expect(w.fake.starts).to.deep.equal([]);
        });

        it("an unreadable job spec (S3 unavailable) fails the start with JobRetryableError", async () => {
          const w = await world(make);
          w.s3.failures.push({ command: "GetObject", error: awsError("ServiceUnavailable", "x", 503) });
          await w.accept();
          expect(w.failures().map((f) => f.error)).to.deep.equal(["JobRetryableError"]);
          expect(await w.items()).to.deep.equal([]);
        });
      });
    });
  }
});
