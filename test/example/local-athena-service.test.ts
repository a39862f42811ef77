// The shipped example's PMD on the local Athena: its rows, one per kept input row, equal the local engine's, and a
// line with an unclosed quote is dropped (the raw table's RegexSerDe gives it no fields), as the other engines drop it. The local Athena's
// mechanisms, on whatever the configuration has, are in test/local/athena-service.test.ts.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  type QueryExecution,
} from "@aws-sdk/client-athena";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { parquetRows } from "../support/parquet";
import { athenaQuery } from "../../core/athena-query";
import { catalogTables } from "../../core/catalog";
import { loadConfig, scriptsDir, sqlPath } from "../../core/config";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { startLocalAthena, type AthenaQueryStateChangeEvent, type LocalAthenaOptions, type LocalAthenaServer } from "../../local/athena-service";
import { runTransformation } from "../../local/etl-engine";
import { generateMarketing } from "../../local/sample-data";
import { startLocalS3, type LocalS3 } from "../../local/s3";

const BUCKET = "data-lake-test";
const WORKGROUP = "etl-test-etl";
const config = loadConfig();
const TOKEN = "a".repeat(64);


describe("example: PMD on the local Athena", () => {
  let s3: LocalS3;
  let server: LocalAthenaServer | undefined;
  let athena: AthenaClient;
  let events: AthenaQueryStateChangeEvent[];
  let work: string;

  beforeEach(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
    work = await mkdtemp(join(tmpdir(), "athena-test-"));
  });

  async function start(options: Partial<LocalAthenaOptions> = {}) {
    events = [];
    server = await startLocalAthena({
      s3: s3.client,
      catalog: { database: config.glue.databaseName, bucket: BUCKET, tables: catalogTables(config) },
      workGroups: [WORKGROUP],
      transitionMs: 10,
      onStateChange: (e) => events.push(e),
      ...options,
    });
    athena = new AthenaClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1 });
  }

  afterEach(async () => {
    athena?.destroy();
    await server?.close();
    server = undefined;
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  const put = (Key: string, Body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  const keysUnder = async (Prefix: string) => ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!).sort();
  const pmdStatement = (destination: string) => athenaQuery(config, "PMD").split(STAGING_URI_MARKER).join(destination);
  /** Without a token, the SDK makes one up (the field is an idempotency token). */
  const startQuery = (QueryString: string, ClientRequestToken?: string) =>
    athena.send(new StartQueryExecutionCommand({ QueryString, WorkGroup: WORKGROUP, QueryExecutionContext: { Database: config.glue.databaseName }, ClientRequestToken }));

  async function waitForFinal(QueryExecutionId: string): Promise<QueryExecution> {
    for (let i = 0; i < 500; i++) {
      const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
      if (!["QUEUED", "RUNNING"].includes(QueryExecution!.Status!.State!)) return QueryExecution!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`query ${QueryExecutionId} did not finish`);
  }

  it("runs a job's generated statement as sent and writes the same rows as the local engine, dropping the same rows", async () => {
    await start();
    // The sample data plus rows each drop rule removes, and a row with an empty string column.
    const marketing = generateMarketing().trimEnd().split("\n");
    const width = marketing[0].split(",").length;
    const bad = [
      ["2/30/2013", ...Array(width - 1).fill("1")].join(","),
      ["13/1/2013", ...Array(width - 1).fill("1")].join(","),
      ["1/1/2013", "12x", ...Array(width - 2).fill("1")].join(","),
    ];
    const csv = [...marketing, ...bad].join("\n") + "\n";
    const rawPrefix = config.datasets.marketing.prefix;
    await put(`${rawPrefix}upload.csv`, csv);
    const destination = `s3://${BUCKET}/staging/etl-dev-PMD/${TOKEN}/`;
    const { QueryExecutionId } = await startQuery(pmdStatement(destination), TOKEN);
    const done = await waitForFinal(QueryExecutionId!);
    expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
    expect(done.Statistics?.DataScannedInBytes).to.equal(Buffer.byteLength(csv));
    expect(done.Statistics?.EngineExecutionTimeInMillis).to.be.a("number");
    expect(done.Query).to.equal(pmdStatement(destination));

    const keys = await keysUnder(`staging/etl-dev-PMD/${TOKEN}/`);
    expect(keys).to.have.length(1);
    const athenaFile = join(work, "athena.parquet");
    const body = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    await writeFile(athenaFile, await body.Body!.transformToByteArray());

    const csvFile = join(work, "marketing.csv");
    await writeFile(csvFile, csv);
    const engineOut = join(work, "engine");
    const engine = await runTransformation({ inputs: [{ name: "marketing", path: csvFile, format: "csv", schema: config.datasets.marketing.schema }], sqlFile: sqlPath(config, config.jobs.PMD), outputDir: engineOut, scriptsDir: scriptsDir(config) });
    expect(engine.droppedRows.marketing).to.equal(bad.length);
    const expected = await parquetRows((await readdir(engineOut)).map((f) => join(engineOut, f)));
    const actual = await parquetRows([athenaFile]);
    expect(actual).to.have.length(marketing.length - 1);
    expect(actual).to.deep.equal(expected);
  });

  it("drops a line with an unclosed quote, as Spark and the local engine do (the raw table's RegexSerDe gives it no fields)", async () => {
    await start();
    const lines = generateMarketing().trimEnd().split("\n");
    lines[5] = lines[5].replace(/,[^,]*$/, ',"open');
    await put(`${config.datasets.marketing.prefix}a.csv`, lines.join("\n") + "\n");
    const { QueryExecutionId } = await startQuery(pmdStatement(`s3://${BUCKET}/staging/open/`));
    expect((await waitForFinal(QueryExecutionId!)).Status?.State).to.equal("SUCCEEDED");
    const [key] = await keysUnder("staging/open/");
    const file = join(work, "open.parquet");
    await writeFile(file, await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const rows = await parquetRows([file]);
    expect(rows, "the header and the malformed line are not rows").to.have.length(lines.length - 2);
    expect(rows.filter((r) => r.some((v) => typeof v === "string" && v.includes("open")))).to.have.length(0);
  });
});
