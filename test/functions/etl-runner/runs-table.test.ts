// Integration: the active-job-runs key design against a real DynamoDB API (dynalite on 127.0.0.1).
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetJobRunsCommand } from "@aws-sdk/client-glue";
import { SendTaskHeartbeatCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { RUNNER_TABLE } from "../../../core/table-keys";
import { checkAllRuns } from "../../../functions/etl-runner/check";
import { emptySummary } from "../../../functions/etl-runner/deps";
import { RunsTable, type RunItem } from "../../../functions/etl-runner/runs-table";
import { startDynalite, type LocalDynamo } from "../fakes";
import { NOW, runnerHarness } from "./harness";

const TABLE = "etl-dev-active-job-runs";

function claimItem(taskId: string, extra: Partial<RunItem> = {}): RunItem {
  return { jobName: "etl-dev-LoadOrders", taskId, taskToken: `token-${taskId}`, status: "STARTING", taskInput: '{"JobName":"etl-dev-LoadOrders"}', claimedAt: NOW.toISOString(), ...extra };
}

describe("etl-runner runs table (dynalite)", () => {
  let dynamo: LocalDynamo;
  let table: RunsTable;

  beforeEach(async () => {
    dynamo = await startDynalite();
    await dynamo.createTable(TABLE, RUNNER_TABLE);
    table = new RunsTable(dynamo.ddb, TABLE, 14);
  });
  afterEach(() => dynamo.close());

  it("refuses a second claim of the same task", async () => {
    expect(await table.claim(claimItem("t1"), NOW)).to.equal(true);
    expect(await table.claim(claimItem("t1", { taskToken: "other" }), NOW)).to.equal(false);
    const { items } = await table.scanAll();
    expect(items).to.have.length(1);
    expect(items[0].taskToken).to.equal("token-t1");
  });

  it("sets the TTL attribute to now + RUN_TTL_DAYS in epoch seconds", async () => {
    await table.claim(claimItem("t1"), NOW);
    const raw = await dynamo.ddb.send(new ScanCommand({ TableName: TABLE }));
    expect(raw.Items![0][RUNNER_TABLE.ttlAttribute]).to.deep.equal({ N: String(Math.floor(NOW.getTime() / 1000) + 14 * 86_400) });
  });

  it("records the run only for an existing claim", async () => {
    const item = claimItem("t1");
    expect(await table.markRunning(item, "jr_1", NOW.toISOString())).to.equal(false);
    await table.claim(item, NOW);
    expect(await table.markRunning(item, "jr_1", NOW.toISOString())).to.equal(true);
    const [stored] = await table.queryJob("etl-dev-LoadOrders");
    expect(stored).to.include({ status: "RUNNING", jobRunId: "jr_1", startedAt: NOW.toISOString() });
  });

  it("lets one caller at a time claim answering a task: a claim is taken over once expired, released only by its holder, never made on a gone item", async () => {
    const item = claimItem("t1", { status: "RUNNING", jobRunId: "jr_1" });
    const [at, later, until] = ["2026-11-23T12:00:00.000Z", "2026-11-23T12:00:01.000Z", "2026-11-23T12:00:01.000Z"];
    const legacy = "2026-11-23T11:45:00.000Z";
    expect(await table.claimAnswer(item, at, until, legacy), "gone").to.equal(false);
    await table.claim(item, NOW);
    expect(await table.claimAnswer(item, at, until, legacy)).to.equal(true);
    expect(await table.claimAnswer(item, "2026-11-23T12:00:00.999Z", until, legacy), "held until its end").to.equal(false);
    expect(await table.releaseAnswer(item, later), "not the holder").to.equal(false);
    expect(await table.claimAnswer(item, later, "2026-11-23T12:15:01.000Z", legacy), "expired at its end").to.equal(true);
    expect(await table.releaseAnswer(item, at), "taken over").to.equal(false);
    expect(await table.releaseAnswer(item, later)).to.equal(true);
    const [released] = await table.queryJob(item.jobName);
    expect(released, "released").to.not.have.any.keys("answeringAt", "answerClaimUntil");
    expect(await table.claimAnswer(item, later, until, legacy), "released").to.equal(true);
    const [stored] = await table.queryJob(item.jobName);
    expect(stored, "the item otherwise unchanged").to.include({ status: "RUNNING", jobRunId: "jr_1", taskToken: "token-t1" });
  });

  it("records the run only while the caller still holds its claim", async () => {
    const item = claimItem("t1");
    await table.claim(item, NOW);
    expect(await table.reclaim(item, "2026-11-23T12:05:00.000Z")).to.equal(true);
    expect(await table.markRunning(item, "jr_late", NOW.toISOString()), "the old claim").to.equal(false);
    const mine = { ...item, claimedAt: "2026-11-23T12:05:00.000Z" };
    expect(await table.markRunning(mine, "jr_2", NOW.toISOString())).to.equal(true);
    expect(await table.markRunning(item, "jr_late", NOW.toISOString()), "after another run was recorded").to.equal(false);
    expect(await table.markRunning(item, "jr_2", NOW.toISOString()), "the same run again").to.equal(true);
    expect((await table.queryJob("etl-dev-LoadOrders"))[0]).to.include({ jobRunId: "jr_2", status: "RUNNING" });
  });

  it("lets exactly one invocation take over a stale claim", async () => {
    const item = claimItem("t1");
    await table.claim(item, NOW);
    const results = await Promise.all([table.reclaim(item, "2026-11-23T12:05:00.000Z"), table.reclaim(item, "2026-11-23T12:05:00.001Z")]);
    expect(results.filter(Boolean)).to.have.length(1);
    const holder = { ...item, claimedAt: (await table.queryJob("etl-dev-LoadOrders"))[0].claimedAt };
    expect(await table.markRunning(holder, "jr_1", NOW.toISOString())).to.equal(true);
    expect(await table.reclaim(holder, "later")).to.equal(false);
  });

  it("checks every active run when the table needs more than one Scan page", async () => {
    // 12 items of ~100 KB exceed Scan's 1 MB page.
    const big = "x".repeat(100_000);
    for (let i = 0; i < 12; i++) {
      await table.claim(claimItem(`t${i}`, { taskInput: JSON.stringify({ JobName: "etl-dev-LoadOrders", Arguments: { "--pad": big } }) }), NOW);
      await table.markRunning(claimItem(`t${i}`), `jr_${i}`, NOW.toISOString());
    }
    const firstPage = await dynamo.ddb.send(new ScanCommand({ TableName: TABLE }));
    expect(firstPage.LastEvaluatedKey, "the table must span several pages").to.not.equal(undefined);
    expect(firstPage.Items!.length).to.be.below(12);

    const h = runnerHarness();
    h.deps.table = table;
    h.glue.on(GetJobRunsCommand).resolves({ JobRuns: Array.from({ length: 12 }, (_, i) => ({ Id: `jr_${i}`, JobRunState: "RUNNING" as const })) });
    const summary = emptySummary();
    await checkAllRuns(h.deps, summary);
    const tokens = h.sfn.commandCalls(SendTaskHeartbeatCommand).map((c) => c.args[0].input.taskToken).sort();
    expect(tokens).to.deep.equal(Array.from({ length: 12 }, (_, i) => `token-t${i}`).sort());
    expect(summary).to.include({ runsChecked: 12, heartbeats: 12 });
  });
});
