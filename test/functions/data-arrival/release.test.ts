import { SendTaskSuccessCommand, TaskDoesNotExist, TaskTimedOut } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { emptySummary } from "../../../functions/data-arrival/deps";
import { releaseWaits } from "../../../functions/data-arrival/release";
import { handleS3Records } from "../../../functions/data-arrival/uploads";
import { acceptWaitTask } from "../../../functions/data-arrival/wait-task";
import { awsError } from "../fakes";
import { arrivalHarness, s3Record, waitTask } from "./harness";

const exec = (n: number) => `arn:aws:states:us-east-1:123456789012:execution:etl-dev-workflow:run-${n}`;
const wait = (n: number, dataSince: string) => waitTask(`tok-${n}`, { dataset: "orders", executionArn: exec(n), dataSince });
const upload = (key: string, eventTime: string, sequencer = key) => s3Record({ key, eventTime, sequencer });
const releasedTokens = (h: Awaited<ReturnType<typeof arrivalHarness>>) => h.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken);

describe("data-arrival release", () => {
  let h: Awaited<ReturnType<typeof arrivalHarness>>;
  beforeEach(async () => (h = await arrivalHarness()));
  afterEach(() => h.close());

  it("a duplicate event does not release a later execution's wait", async () => {
    const first = upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z");
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
    await handleS3Records(h.deps, [first], emptySummary());
    expect(releasedTokens(h)).to.deep.equal(["tok-1"]);
    // Execution 2 uses an earlier dataSince on purpose, so the old upload would count if it were unused.
    await acceptWaitTask(h.deps, "orders", wait(2, "2026-11-23T11:00:00.000Z"), emptySummary());
    const summary = emptySummary();
    await handleS3Records(h.deps, [first], summary);
    expect(summary).to.include({ duplicates: 1, released: 0 });
    expect(releasedTokens(h)).to.deep.equal(["tok-1"]);
    expect(await h.deps.table.waits("orders")).to.have.length(1);
  });

  it("one upload releases one wait; the next upload releases the next", async () => {
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
    await acceptWaitTask(h.deps, "orders", wait(2, "2026-11-23T12:00:00.000Z"), emptySummary());
    await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z")], emptySummary());
    expect(releasedTokens(h)).to.have.length(1);
    await handleS3Records(h.deps, [upload("raw/orders/b.csv", "2026-11-23T12:02:00.000Z")], emptySummary());
    expect(releasedTokens(h).sort()).to.deep.equal(["tok-1", "tok-2"]);
  });

  for (const [name, error] of [
    ["TaskTimedOut", () => new TaskTimedOut({ message: "expired", $metadata: {} })],
    ["TaskDoesNotExist", () => new TaskDoesNotExist({ message: "stopped", $metadata: {} })],
  ] as const) {
    it(`${name}: deletes the dead wait and gives its upload to the next parked wait`, async () => {
      await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
      await acceptWaitTask(h.deps, "orders", wait(2, "2026-11-23T12:00:00.001Z"), emptySummary());
      h.sfn.on(SendTaskSuccessCommand, { taskToken: "tok-1" }).rejects(error());
      const summary = emptySummary();
      await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z")], summary);
      expect(releasedTokens(h)).to.deep.equal(["tok-1", "tok-2"]);
      expect(summary.released).to.equal(1);
      expect(await h.deps.table.waits("orders")).to.have.length(0);
      expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(0);
    });
  }

  it("an upload given back by a dead wait never releases a wait whose dataSince is later", async () => {
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T11:00:00.000Z"), emptySummary());
    await acceptWaitTask(h.deps, "orders", wait(2, "2026-11-23T12:00:00.000Z"), emptySummary());
    h.sfn.on(SendTaskSuccessCommand, { taskToken: "tok-1" }).rejects(new TaskTimedOut({ message: "expired", $metadata: {} }));
    await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T11:30:00.000Z")], emptySummary());
    expect(releasedTokens(h)).to.deep.equal(["tok-1"]);
    expect((await h.deps.table.waits("orders")).map((w) => w.executionArn)).to.deep.equal([exec(2)]);
  });

  it("a dead wait with no other taker leaves its upload unconsumed", async () => {
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
    h.sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: "expired", $metadata: {} }));
    await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z")], emptySummary());
    expect(await h.deps.table.waits("orders")).to.have.length(0);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(1);
  });

  it("parks the wait again and keeps the upload when SFN is throttling", async () => {
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
    h.sfn.on(SendTaskSuccessCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded"));
    const summary = emptySummary();
    await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z")], summary);
    expect(summary).to.include({ released: 0, errors: 1 });
    expect(await h.deps.table.waits("orders")).to.have.length(1);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(1);
    // The next attempt (here: the fallback's re-match) releases it.
    await releaseWaits(h.deps, "orders", summary);
    expect(summary.released).to.equal(1);
  });

  it("gives the upload back when deleting the parked wait fails (DynamoDB error), so a later match releases it", async () => {
    await acceptWaitTask(h.deps, "orders", wait(1, "2026-11-23T12:00:00.000Z"), emptySummary());
    const deleteWait = h.deps.table.deleteWait.bind(h.deps.table);
    h.deps.table.deleteWait = async () => {
      throw awsError("InternalServerError", "DynamoDB is down", 500);
    };
    const summary = emptySummary();
    await handleS3Records(h.deps, [upload("raw/orders/a.csv", "2026-11-23T12:01:00.000Z")], summary);
    expect(summary).to.include({ released: 0, errors: 1 });
    expect(releasedTokens(h)).to.deep.equal([]);
    expect(await h.deps.table.waits("orders")).to.have.length(1);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(1);
    h.deps.table.deleteWait = deleteWait;
    await releaseWaits(h.deps, "orders", summary);
    expect(releasedTokens(h)).to.deep.equal(["tok-1"]);
  });

  describe("the arrival/wait race", () => {
    it("arrival recorded, wait parked, both sides matching at once: exactly one release", async () => {
      for (let round = 0; round < 10; round++) {
        const since = `2026-11-23T12:00:00.0${String(round).padStart(2, "0")}Z`;
        await h.deps.table.recordArrival(
          { dataset: "orders", bucket: "b", key: `raw/orders/${round}.csv`, size: 1, eTag: "e", eventTime: "2026-11-23T13:00:00.000Z", sequencer: String(round) },
          new Date(),
        );
        await h.deps.table.parkWait({ dataset: "orders", executionArn: exec(round), dataSince: new Date(since).toISOString(), taskToken: `tok-${round}` }, new Date());
        await Promise.all([releaseWaits(h.deps, "orders", emptySummary()), releaseWaits(h.deps, "orders", emptySummary())]);
        expect(releasedTokens(h)).to.have.length(round + 1);
      }
      expect(new Set(releasedTokens(h)).size).to.equal(10);
    });

    for (const order of ["upload first", "wait first"] as const) {
      it(`concurrent S3 event and wait task (${order}): released exactly once`, async () => {
        for (let round = 0; round < 10; round++) {
          const s3 = () => handleS3Records(h.deps, [upload(`raw/orders/${round}.csv`, "2026-11-23T13:00:00.000Z")], emptySummary());
          const poll = () => acceptWaitTask(h.deps, "orders", wait(round, "2026-11-23T12:00:00.000Z"), emptySummary());
          await Promise.all(order === "upload first" ? [s3(), poll()] : [poll(), s3()]);
          expect(releasedTokens(h), `round ${round}`).to.have.length(round + 1);
          expect(await h.deps.table.waits("orders")).to.have.length(0);
        }
      });
    }
  });
});
