import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { BatchStopJobRunCommand, GlueClient, StartJobRunCommand } from "@aws-sdk/client-glue";
import { SendTaskFailureCommand, TaskTimedOut } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { emptySummary } from "../../../functions/etl-runner/deps";
import { acceptTask, startErrorName, taskIdOf } from "../../../functions/etl-runner/start";
import { STALE_CLAIM_MS } from "../../../functions/etl-runner/engine";
import { createGlueClient, createGlueClients, GLUE_MAX_ATTEMPTS, GLUE_REQUEST_TIMEOUT_MS } from "../../../functions/etl-runner/clients";
import { RUNNER_VERSION, RunsTable } from "../../../functions/etl-runner/runs-table";
import { RUNNER_TABLE } from "../../../core/table-keys";
import { awsError, silentLogger, startDynalite, withFakePauses } from "../fakes";
import { GlueEngine } from "../../../functions/etl-runner/engines/glue";
import { glueEngines, NOW, runnerHarness } from "./harness";

const TOKEN = "token-1";
const GLUE = new GlueEngine({ glue: new GlueClient({ region: "us-east-1" }) }, silentLogger());

describe("etl-runner start", () => {
  it("claims the task, starts the run with --etl_task_id and records the run id", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_1" });
    const summary = emptySummary();
    const input = { JobName: "etl-dev-LoadOrders", Arguments: { "--etl_execution": "exec-1" }, WorkerType: "G.1X", NumberOfWorkers: 3 };
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify(input) }, summary);

    const taskId = taskIdOf(TOKEN);
    expect(taskId).to.match(/^[0-9a-f]{64}$/);
    const put = h.ddb.commandCalls(PutItemCommand)[0].args[0].input;
    expect(put.ConditionExpression).to.equal("attribute_not_exists(#sk)");
    expect(put.Item).to.deep.include({ jobName: { S: "etl-dev-LoadOrders" }, taskId: { S: taskId }, taskToken: { S: TOKEN }, status: { S: "STARTING" } });
    expect(put.Item!.expiresAt).to.deep.equal({ N: String(NOW.getTime() / 1000 + 14 * 86_400) });
    // This runner's version: a run it claimed is never read as an earlier runner left it.
    expect(put.Item!.runnerVersion).to.deep.equal({ N: String(RUNNER_VERSION) });
    // --etl_execution is the execution's NAME ($$.Execution.Name): recorded and logged as such, never as an ARN.
    expect(put.Item!.executionName).to.deep.equal({ S: "exec-1" });
    expect(put.Item!.executionArn).to.equal(undefined);

    const start = h.glue.commandCalls(StartJobRunCommand)[0].args[0].input;
    expect(start).to.deep.equal({
      JobName: "etl-dev-LoadOrders",
      Arguments: { "--etl_execution": "exec-1", "--etl_task_id": taskId },
      WorkerType: "G.1X",
      NumberOfWorkers: 3,
    });
    const update = h.ddb.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(update.ExpressionAttributeValues).to.deep.include({ ":running": { S: "RUNNING" }, ":run": { S: "jr_1" } });
    expect(update.ConditionExpression).to.equal("(#status = :starting AND claimedAt = :mine) OR jobRunId = :run");
    expect(update.ExpressionAttributeValues).to.deep.include({ ":starting": { S: "STARTING" }, ":mine": { S: NOW.toISOString() } });
    expect(h.sfn.calls()).to.have.length(0);
    expect(summary).to.include({ tasksReceived: 1, tasksStarted: 1, tasksRejected: 0 });
  });

  it("sends StartJobRun once, never retried by the SDK (a retry after a lost answer could start a second run)", async () => {
    let starts = 0;
    const server = createServer((req, res) => {
      req.resume().on("end", () => {
        if (String(req.headers["x-amz-target"]).endsWith(".StartJobRun")) starts++;
        res.statusCode = 503; // transient: the SDK's standard strategy would retry it
        res.setHeader("content-type", "application/x-amz-json-1.1");
        res.end(JSON.stringify({ __type: "InternalServiceException", message: "try later" }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const saved = process.env.AWS_ENDPOINT_URL_GLUE;
    process.env.AWS_ENDPOINT_URL_GLUE = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const h = runnerHarness();
      const clients = createGlueClients();
      h.sfn.on(SendTaskFailureCommand).resolves({});
      await acceptTask({ ...h.deps, engines: glueEngines(clients) }, { taskToken: TOKEN, input: JSON.stringify({ JobName: "etl-dev-LoadOrders" }) }, emptySummary());
      clients.glue.destroy();
      clients.glueStart.destroy();
      expect(starts).to.equal(1);
      // Reported as retryable, so the ASL's Retry (not the SDK) tries again.
      expect(h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input.error).to.equal("JobRetryableError");
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_GLUE;
      else process.env.AWS_ENDPOINT_URL_GLUE = saved;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("records and logs the optional executionArn of the input, and the execution name apart", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_1" });
    const logged: Array<Record<string, unknown>> = [];
    h.deps.logger.info = ((message: string, extra: Record<string, unknown>) => void logged.push({ message, ...extra })) as typeof h.deps.logger.info;
    const executionArn = "arn:aws:states:us-east-1:123456789012:execution:etl-dev-workflow:exec-1";
    const input = { JobName: "etl-dev-LoadOrders", Arguments: { "--etl_execution": "exec-1" }, executionArn };
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify(input) }, emptySummary());
    const put = h.ddb.commandCalls(PutItemCommand)[0].args[0].input;
    expect(put.Item).to.deep.include({ executionArn: { S: executionArn }, executionName: { S: "exec-1" } });
    expect(logged.find((l) => l.message === "run started")).to.include({ engine: "glue", executionArn, executionName: "exec-1", jobRunId: "jr_1" });
  });

  const badInputs: Array<[string, string, RegExp]> = [
    ["missing JobName", JSON.stringify({ Arguments: {} }), /JobName/],
    ["JobName of the wrong type", JSON.stringify({ JobName: 7 }), /JobName: .*expected string/],
    ["a non-string argument", JSON.stringify({ JobName: "j", Arguments: { "--x": 1 } }), /Arguments\.--x/],
    ["NumberOfWorkers as a string", JSON.stringify({ JobName: "j", NumberOfWorkers: "2" }), /NumberOfWorkers/],
    ["an unknown field", JSON.stringify({ JobName: "j", JobNmae: "typo" }), /JobNmae/],
    ["an array", "[]", /expected object/],
    ["input that is not JSON", "{not json", /not JSON/],
    ["an empty input", "", /not JSON/],
  ];
  for (const [name, input, cause] of badInputs) {
    it(`fails a task with ${name} at once with InvalidTaskInput naming the field`, async () => {
      const h = runnerHarness();
      const summary = emptySummary();
      await acceptTask(h.deps, { taskToken: TOKEN, input }, summary);
      const failure = h.sfn.commandCalls(SendTaskFailureCommand);
      expect(failure).to.have.length(1);
      expect(failure[0].args[0].input).to.include({ taskToken: TOKEN, error: "InvalidTaskInput" });
      expect(failure[0].args[0].input.cause).to.match(cause);
      expect(h.ddb.calls()).to.have.length(0);
      expect(h.glue.calls()).to.have.length(0);
      expect(summary.tasksRejected).to.equal(1);
    });
  }

  it("does not throw when the rejected task is already gone", async () => {
    const h = runnerHarness();
    h.sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: "gone", $metadata: {} }));
    await acceptTask(h.deps, { taskToken: TOKEN, input: "{}" }, emptySummary());
    expect(h.sfn.commandCalls(SendTaskFailureCommand)).to.have.length(1);
  });

  it("retries the InvalidTaskInput report when SFN is throttling, so the token is not orphaned", async () => {
    const h = runnerHarness();
    h.sfn.on(SendTaskFailureCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded")).resolves({});
    const attempts = () => h.sfn.commandCalls(SendTaskFailureCommand).length;
    const pauses = await withFakePauses(() => acceptTask(h.deps, { taskToken: TOKEN, input: "{}" }, emptySummary()), attempts);
    expect(pauses, "sendFinalTaskFailure's first default pause").to.deep.equal([200]);
    expect(h.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input.error)).to.deep.equal(["InvalidTaskInput", "InvalidTaskInput"]);
  });

  it("retries the report of a failed claim a bounded number of times, then throws", async () => {
    const h = runnerHarness();
    h.ddb.on(PutItemCommand).rejects(awsError("InternalServerError", "DynamoDB is down", 500));
    h.sfn.on(SendTaskFailureCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    // Each attempt after the first waits for a pause (on a fake clock, not waited out).
    const attempts = () => h.sfn.commandCalls(SendTaskFailureCommand).length;
    let thrown: unknown;
    const pauses = await withFakePauses(() => acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary()).catch((e) => (thrown = e)), attempts);
    expect((thrown as Error).name).to.equal("ThrottlingException");
    expect(h.sfn.commandCalls(SendTaskFailureCommand)).to.have.length(3);
    expect(pauses, "sendFinalTaskFailure's default pauses").to.deep.equal([200, 800]);
  });

  const startErrors: Array<[string, number, string]> = [
    ["ConcurrentRunsExceededException", 400, "JobRetryableError"],
    ["ThrottlingException", 400, "JobRetryableError"],
    ["InternalServiceException", 500, "JobRetryableError"],
    ["OperationTimeoutException", 400, "JobRetryableError"],
    ["ServiceUnavailableException", 503, "JobRetryableError"],
    ["EntityNotFoundException", 400, "JobStartError"],
    ["InvalidInputException", 400, "JobStartError"],
    ["AccessDeniedException", 403, "JobStartError"],
    ["ResourceNumberLimitExceededException", 400, "JobRetryableError"],
    ["SomeNewRateLimitException", 429, "JobRetryableError"],
  ];
  for (const [name, status, expected] of startErrors) {
    it(`reports StartJobRun ${name} as ${expected}, then deletes the claim`, async () => {
      const h = runnerHarness();
      h.glue.on(StartJobRunCommand).rejects(awsError(name, "no can do", status));
      await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "etl-dev-LoadOrders" }) }, emptySummary());
      const failure = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
      expect(failure.error).to.equal(expected);
      expect(failure.cause).to.include(name).and.include("no can do").and.include("etl-dev-LoadOrders");
      const deleted = h.ddb.commandCalls(DeleteItemCommand);
      expect(deleted).to.have.length(1);
      expect(deleted[0].args[0].input.Key).to.deep.equal({ jobName: { S: "etl-dev-LoadOrders" }, taskId: { S: taskIdOf(TOKEN) } });
      expect(startErrorName(GLUE, awsError(name, "x", status))).to.equal(expected);
    });
  }

  it("treats an error the SDK marks $retryable as retryable", () => {
    const error = Object.assign(awsError("SomeTransientException", "x", 400), { $retryable: { throttling: false } });
    expect(startErrorName(GLUE, error)).to.equal("JobRetryableError");
    expect(startErrorName(GLUE, awsError("SomeTransientException", "x", 400))).to.equal("JobStartError");
  });

  it("keeps the claim when SFN refuses the start-error report (throttled)", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).rejects(awsError("EntityNotFoundException"));
    h.sfn.on(SendTaskFailureCommand).rejects(awsError("ThrottlingException", "slow down"));
    let thrown: unknown;
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary()).catch((e) => (thrown = e));
    // Not deleted: the stale-claim recovery will retry the start and report again.
    expect((thrown as Error).name).to.equal("ThrottlingException");
    expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
  });

  it("fails the task with a retryable error when the claim cannot be written", async () => {
    const h = runnerHarness();
    h.ddb.on(PutItemCommand).rejects(awsError("InternalServerError", "DynamoDB is down", 500));
    const summary = emptySummary();
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, summary);
    const failure = h.sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(failure.error).to.equal("JobRetryableError");
    expect(failure.cause).to.include("etl-dev-active-job-runs").and.include("DynamoDB is down");
    expect(h.glue.calls()).to.have.length(0);
    expect(summary.errors).to.equal(1);
  });

  it("starts nothing when the task was already claimed", async () => {
    const h = runnerHarness();
    h.ddb.on(PutItemCommand).rejects(awsError("ConditionalCheckFailedException"));
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary());
    expect(h.glue.calls()).to.have.length(0);
    expect(h.sfn.calls()).to.have.length(0);
  });

  it("keeps the claim for recovery when StartJobRun gets no answer", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).rejects(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));
    const summary = emptySummary();
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, summary);
    expect(h.sfn.calls()).to.have.length(0);
    expect(h.ddb.commandCalls(DeleteItemCommand)).to.have.length(0);
    expect(summary).to.include({ tasksStarted: 0, errors: 1 });
  });

  it("stops the run when the claim vanished before the run id was recorded", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_9" });
    h.glue.on(BatchStopJobRunCommand).resolves({ SuccessfulSubmissions: [{ JobName: "j", JobRunId: "jr_9" }] });
    h.ddb.on(UpdateItemCommand).rejects(awsError("ConditionalCheckFailedException"));
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary());
    expect(h.glue.commandCalls(BatchStopJobRunCommand)[0].args[0].input).to.deep.equal({ JobName: "j", JobRunIds: ["jr_9"] });
  });

  it("stops its own run when StartJobRun answered after another invocation re-claimed the task (dynalite)", async () => {
    const dynamo = await startDynalite();
    try {
      await dynamo.createTable("etl-dev-active-job-runs", RUNNER_TABLE);
      const h = runnerHarness();
      h.deps.table = new RunsTable(dynamo.ddb, "etl-dev-active-job-runs", 14);
      h.glue.on(BatchStopJobRunCommand).resolves({});
      // StartJobRun hangs; meanwhile the check cycle re-claims the task and records a second run.
      h.glue.on(StartJobRunCommand).callsFake(async () => {
        const [claim] = await h.deps.table.queryJob("j");
        const later = "2026-11-23T12:02:30.000Z";
        expect(await h.deps.table.reclaim(claim, later)).to.equal(true);
        expect(await h.deps.table.markRunning({ ...claim, claimedAt: later }, "jr_second", later)).to.equal(true);
        return { JobRunId: "jr_late" };
      });
      await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary());
      const [stored] = await h.deps.table.queryJob("j");
      expect(stored).to.include({ status: "RUNNING", jobRunId: "jr_second" });
      expect(h.glue.commandCalls(BatchStopJobRunCommand).map((c) => c.args[0].input)).to.deep.equal([{ JobName: "j", JobRunIds: ["jr_late"] }]);
    } finally {
      await dynamo.close();
    }
  });

  it("keeps its run when the re-claiming invocation adopted that same run (dynalite)", async () => {
    const dynamo = await startDynalite();
    try {
      await dynamo.createTable("etl-dev-active-job-runs", RUNNER_TABLE);
      const h = runnerHarness();
      h.deps.table = new RunsTable(dynamo.ddb, "etl-dev-active-job-runs", 14);
      h.glue.on(StartJobRunCommand).callsFake(async () => {
        const [claim] = await h.deps.table.queryJob("j");
        const later = "2026-11-23T12:02:30.000Z";
        await h.deps.table.reclaim(claim, later);
        await h.deps.table.markRunning({ ...claim, claimedAt: later }, "jr_late", later);
        return { JobRunId: "jr_late" };
      });
      await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, emptySummary());
      expect((await h.deps.table.queryJob("j"))[0]).to.include({ status: "RUNNING", jobRunId: "jr_late" });
      expect(h.glue.commandCalls(BatchStopJobRunCommand)).to.have.length(0);
    } finally {
      await dynamo.close();
    }
  });

  it("gives the Glue client a request timeout well within STALE_CLAIM_MS", async () => {
    const client = createGlueClient();
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<{ requestTimeout?: number; socketTimeout?: number }> };
    const options = await handler.configProvider;
    expect(options.requestTimeout).to.equal(GLUE_REQUEST_TIMEOUT_MS);
    expect(options.socketTimeout).to.equal(GLUE_REQUEST_TIMEOUT_MS);
    expect(await client.config.maxAttempts()).to.equal(GLUE_MAX_ATTEMPTS);
    expect(GLUE_MAX_ATTEMPTS * GLUE_REQUEST_TIMEOUT_MS).to.be.below(STALE_CLAIM_MS - 20_000);
    client.destroy();
  });

  it("leaves a started run whose record failed to the check cycle (no failure, no stop)", async () => {
    const h = runnerHarness();
    h.glue.on(StartJobRunCommand).resolves({ JobRunId: "jr_9" });
    h.ddb.on(UpdateItemCommand).rejects(awsError("InternalServerError", "down", 500));
    const summary = emptySummary();
    await acceptTask(h.deps, { taskToken: TOKEN, input: JSON.stringify({ JobName: "j" }) }, summary);
    expect(h.sfn.calls()).to.have.length(0);
    expect(h.glue.commandCalls(BatchStopJobRunCommand)).to.have.length(0);
    expect(summary).to.include({ tasksStarted: 1, errors: 1 });
  });
});
