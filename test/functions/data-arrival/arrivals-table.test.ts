// Integration: the data-arrivals key design against a real DynamoDB API (dynalite on 127.0.0.1).
import { QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { ARRIVAL_TABLE } from "../../../core/table-keys";
import type { Arrival } from "../../../functions/data-arrival/arrivals-table";
import { arrivalHarness, NOW, TABLE } from "./harness";

const EXEC = "arn:aws:states:us-east-1:123456789012:execution:etl-dev-workflow:run-1";
const arrival: Arrival = { dataset: "orders", bucket: "b", key: "raw/orders/a.csv", size: 10, eTag: "e", eventTime: "2026-11-23T12:01:00.000Z", sequencer: "0A" };
const wait = { dataset: "orders", executionArn: EXEC, dataSince: "2026-11-23T12:00:00.000Z", taskToken: "tok" };

describe("data-arrival table (dynalite)", () => {
  let h: Awaited<ReturnType<typeof arrivalHarness>>;
  beforeEach(async () => (h = await arrivalHarness()));
  afterEach(() => h.close());

  it("stores uploads and waits under the documented keys, each with the TTL attribute", async () => {
    await h.deps.table.recordArrival(arrival, NOW);
    await h.deps.table.parkWait(wait, NOW);
    const { Items } = await h.dynamo.ddb.send(new ScanCommand({ TableName: TABLE }));
    const byPk = Object.fromEntries(Items!.map((i) => [i[ARRIVAL_TABLE.partitionKey].S, i]));
    expect(byPk["ARRIVAL#orders"][ARRIVAL_TABLE.sortKey]).to.deep.equal({ S: "2026-11-23T12:01:00.000Z#raw/orders/a.csv#0A" });
    expect(byPk["WAIT#orders"][ARRIVAL_TABLE.sortKey]).to.deep.equal({ S: `2026-11-23T12:00:00.000Z#${EXEC}` });
    const ttl = { N: String(NOW.getTime() / 1000 + 30 * 86_400) };
    expect(byPk["ARRIVAL#orders"][ARRIVAL_TABLE.ttlAttribute]).to.deep.equal(ttl);
    expect(byPk["WAIT#orders"][ARRIVAL_TABLE.ttlAttribute]).to.deep.equal(ttl);
  });

  it("refuses a duplicate upload and a second claim of the same upload", async () => {
    expect(await h.deps.table.recordArrival(arrival, NOW)).to.equal("recorded");
    expect(await h.deps.table.recordArrival(arrival, NOW)).to.equal("duplicate");
    expect(await h.deps.table.claimArrival(arrival, EXEC)).to.equal(true);
    expect(await h.deps.table.claimArrival(arrival, "another execution")).to.equal(false);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(0);
  });

  it("claims only recorded uploads, and gives back only its own claim", async () => {
    expect(await h.deps.table.claimArrival(arrival, EXEC)).to.equal(false);
    await h.deps.table.recordArrival(arrival, NOW);
    await h.deps.table.claimArrival(arrival, EXEC);
    expect(await h.deps.table.unclaimArrival(arrival, "another execution")).to.equal(false);
    expect(await h.deps.table.unclaimArrival(arrival, EXEC)).to.equal(true);
    expect(await h.deps.table.unconsumedArrivals("orders", "2000")).to.have.length(1);
  });

  it("deletes a parked wait only for the token it holds", async () => {
    await h.deps.table.parkWait(wait, NOW);
    expect(await h.deps.table.deleteWait({ ...wait, taskToken: "other" })).to.equal(false);
    expect(await h.deps.table.deleteWait(wait)).to.equal(true);
    expect(await h.deps.table.deleteWait(wait)).to.equal(false);
  });

  it("records an upload whose S3 key has the maximum 1,024 bytes (the sort key then hashes it)", async () => {
    const longKey = `raw/orders/${"é".repeat(506)}x`; // 11 + 1,012 + 1 bytes
    const long = { ...arrival, key: longKey };
    expect(await h.deps.table.recordArrival(long, NOW)).to.equal("recorded");
    expect(await h.deps.table.recordArrival(long, NOW)).to.equal("duplicate");
    const [stored] = await h.deps.table.unconsumedArrivals("orders", "2000");
    expect(stored.key).to.equal(longKey);
    expect(await h.deps.table.claimArrival(stored, EXEC)).to.equal(true);
  });

  it("lists unconsumed uploads from a time on, oldest first, across pages", async () => {
    // ~100 KB items: the 12 uploads span more than one 1 MB Query page.
    const pad = "p".repeat(100_000);
    for (let i = 0; i < 12; i++)
      await h.deps.table.recordArrival({ ...arrival, eTag: pad, key: `raw/orders/${i}.csv`, eventTime: `2026-11-23T12:${String(10 + i)}:00.000Z` }, NOW);
    const firstPage = await h.dynamo.ddb.send(
      new QueryCommand({ TableName: TABLE, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: "ARRIVAL#orders" } } }),
    );
    expect(firstPage.LastEvaluatedKey, "the uploads must span several pages").to.not.equal(undefined);
    const since = await h.deps.table.unconsumedArrivals("orders", "2026-11-23T12:12:00.000Z");
    expect(since.map((a) => a.eventTime)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `2026-11-23T12:${12 + i}:00.000Z`));
  });
});
