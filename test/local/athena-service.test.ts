import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  AthenaClient,
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecution,
} from "@aws-sdk/client-athena";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { parquetRows } from "../support/parquet";
import { athenaCounts } from "../../core/athena-counts";
import { athenaCountsQuery, athenaQuery } from "../../core/athena-query";
import { checkQuality, DataQualityError, jobQualityLimits } from "../../core/quality";
import { CASES, sampleLines } from "../spark/cases";
import { catalogTables } from "../../core/catalog";
import { loadConfig, resourceNames, schemaPath, scriptsDir, sqlPath } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { startLocalAthena, type AthenaQueryStateChangeEvent, type LocalAthenaOptions, type LocalAthenaServer } from "../../local/athena-service";
import { runTransformation } from "../../local/etl-engine";
import { snakeCase } from "../../local/csv";
import { startLocalS3, type LocalS3 } from "../../local/s3";
import { splitCsvLine } from "../csv-line";
import { datasetSchema, sampleCsv } from "../support/samples";
import { workflowShape } from "../support/workflow";

const BUCKET = "data-lake-test";
const WORKGROUP = "etl-test-etl";
const config = loadConfig();
const TOKEN = "a".repeat(64);
// The configuration's job on Athena that reads one raw dataset, or else any job that does: the statement is
// generated from a job's SQL the same way whatever its engine.
const readsOneDataset = (id: string) => config.jobs[id].inputs.length === 1 && config.jobs[id].inputs[0].dataset !== undefined;
const job = workflowShape(config).jobsOn("athena").find(readsOneDataset) ?? workflowShape(config).jobs.find(readsOneDataset)!;
const JOB_NAME = resourceNames(config).glueJob(job);
const [{ name: VIEW, dataset: DATASET }] = config.jobs[job].inputs;
const RAW = config.datasets[DATASET!].prefix;
/** The dataset's sample data, as `npm start` generates it (a year of days where generated from its schema). */
const sample = () => sampleCsv(config, DATASET!, { days: 365 });


describe("local/athena-service", () => {
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
  const statementTo = (destination: string) => athenaQuery(config, job).split(STAGING_URI_MARKER).join(destination);
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
    // The sample data plus rows each drop rule removes (no such day, month 13, a number that is not one), from
    // the dataset's schema.
    const lines = sample().trimEnd().split("\n");
    const header = splitCsvLine(lines[0]);
    const typeAt = (i: number) => datasetSchema(config, DATASET!).columns.find((c) => snakeCase(c.source!) === snakeCase(header[i]))?.type;
    const withValue = (i: number, value: string) => splitCsvLine(lines[1]).map((f, j) => (j === i ? value : f)).map((f) => (/[",]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(",");
    const date = header.findIndex((_, i) => typeAt(i) === "date");
    const number = header.findIndex((_, i) => typeAt(i) === "bigint" || typeAt(i) === "double");
    const bad = [...(date >= 0 ? [withValue(date, "2/30/2013"), withValue(date, "13/1/2013")] : []), ...(number >= 0 ? [withValue(number, "12x")] : [])];
    expect(bad, "the schema has a date or a number column").to.not.be.empty;
    const csv = [...lines, ...bad].join("\n") + "\n";
    await put(`${RAW}upload.csv`, csv);
    const destination = `s3://${BUCKET}/staging/${JOB_NAME}/${TOKEN}/`;
    const { QueryExecutionId } = await startQuery(statementTo(destination), TOKEN);
    const done = await waitForFinal(QueryExecutionId!);
    expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
    expect(done.Statistics?.DataScannedInBytes).to.equal(Buffer.byteLength(csv));
    expect(done.Statistics?.EngineExecutionTimeInMillis).to.be.a("number");
    expect(done.Query).to.equal(statementTo(destination));

    const keys = await keysUnder(`staging/${JOB_NAME}/${TOKEN}/`);
    expect(keys).to.have.length(1);
    const athenaFile = join(work, "athena.parquet");
    const body = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    await writeFile(athenaFile, await body.Body!.transformToByteArray());

    const csvFile = join(work, "upload.csv");
    await writeFile(csvFile, csv);
    const engineOut = join(work, "engine");
    const engine = await runTransformation({ inputs: [{ name: VIEW, path: csvFile, format: "csv", schema: config.datasets[DATASET!].schema }], sqlFile: sqlPath(config, config.jobs[job]), outputDir: engineOut, scriptsDir: scriptsDir(config) });
    expect(engine.droppedRows[VIEW]).to.equal(bad.length);
    const expected = await parquetRows((await readdir(engineOut)).map((f) => join(engineOut, f)));
    const actual = await parquetRows([athenaFile]);
    expect(actual.length).to.equal(engine.rowsWritten).and.be.greaterThan(0);
    expect(actual).to.deep.equal(expected);
  });

  // The shared drop-rule and gate table (test/spark/cases.ts, which Spark and the local engine run too), on every job on
  // Athena that reads raw datasets: the same rows kept, the same rows read and dropped, the same gate verdict. Left out:
  // the cases of header checks and per-file column orders (Athena reads the raw table by position, with no header).
  const headerCases = /header|column order|missing column|empty file|hidden files/;
  for (const job of workflowShape().jobsOn("athena").filter((id) => config.jobs[id].inputs.every((i) => i.dataset !== undefined)))
    for (const testCase of CASES.filter((c) => !headerCases.test(c.name)))
      it(`${job}: drops and counts as the local engine does: ${testCase.name}`, async () => {
        await start({ transitionMs: 1 });
        const shape = workflowShape();
        const inputs = [];
        for (const input of config.jobs[job].inputs) {
          const dataset = input.dataset!;
          const schema = datasetSchema(config, dataset);
          const [header, ...lines] = sampleLines(dataset, schema, 40);
          const files = testCase.files({ dataset, schema, header: splitCsvLine(header), lines }, shape.datasets.indexOf(dataset));
          const dir = join(work, dataset);
          for (const [name, body] of Object.entries(files)) {
            await mkdir(dirname(join(dir, name)), { recursive: true });
            await writeFile(join(dir, name), body);
            await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${config.datasets[dataset].prefix}${name}`, Body: body }));
          }
          inputs.push({ name: input.name, path: dir, format: "csv" as const, schema: config.datasets[dataset].schema });
        }
        const catalogSchema = config.jobs[job].catalogSchema;
        const outputColumns = catalogSchema ? readSchemaFile(schemaPath(config, catalogSchema)).columns.map((c) => c.name) : [];
        const limits = testCase.quality?.(jobQualityLimits(config, job), { id: job, outputColumns }) ?? jobQualityLimits(config, job);
        const engineOut = join(work, "engine");
        const engine = await runTransformation({ inputs, sqlFile: sqlPath(config, config.jobs[job]), outputDir: engineOut, scriptsDir: scriptsDir(config), quality: limits }).catch((e: Error) => e);

        const run = async (statement: string, destination: string) => {
          const { QueryExecutionId } = await startQuery(statement.split(STAGING_URI_MARKER).join(`s3://${BUCKET}/${destination}`));
          const done = await waitForFinal(QueryExecutionId!);
          if (engine instanceof Error && !(engine instanceof DataQualityError)) {
            // A job the local engine refuses (e.g. notNull naming a column its output lacks) fails on Athena too, naming it.
            expect(done.Status?.State).to.equal("FAILED");
            expect(done.Status?.StateChangeReason).to.include(limits.notNull.find((c) => engine.message.includes(c)));
            return [];
          }
          expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
          const keys = await keysUnder(destination);
          return Promise.all(keys.map(async (key) => Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray())));
        };
        const [countsFile] = await run(athenaCountsQuery(config, job, limits), "staging/counts/");
        if (!countsFile) return;
        const counts = athenaCounts(gunzipSync(countsFile).toString("utf8").trim(), limits);
        const cause = checkQuality(counts, limits);
        if (engine instanceof Error) {
          expect(engine).to.be.instanceOf(DataQualityError);
          expect(cause, "the same gate verdict").to.equal((engine as DataQualityError).detail);
          return;
        }
        expect(cause, "the same gate verdict").to.equal(undefined);
        expect(Object.fromEntries(Object.entries(counts.inputs).map(([n, c]) => [n, c.read]))).to.deep.equal(engine.rowsRead);
        expect(Object.fromEntries(Object.entries(counts.inputs).map(([n, c]) => [n, c.dropped]))).to.deep.equal(engine.droppedRows);
        expect(counts.written).to.equal(engine.rowsWritten);
        const [parquet] = await run(athenaQuery(config, job), "staging/out/");
        await writeFile(join(work, "athena.parquet"), parquet);
        expect(await parquetRows([join(work, "athena.parquet")])).to.deep.equal(await parquetRows(engine.files));
      });

  it("goes QUEUED -> RUNNING -> SUCCEEDED and emits one state-change event per transition", async () => {
    await start();
    await put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await startQuery(statementTo(`s3://${BUCKET}/staging/x/`));
    await waitForFinal(QueryExecutionId!);
    const mine = events.filter((e) => e.detail.queryExecutionId === QueryExecutionId);
    expect(mine.map((e) => [e.detail.previousState, e.detail.currentState])).to.deep.equal([
      [null, "QUEUED"],
      ["QUEUED", "RUNNING"],
      ["RUNNING", "SUCCEEDED"],
    ]);
    expect(mine.every((e) => e.source === "aws.athena" && e["detail-type"] === "Athena Query State Change" && e.detail.workgroupName === WORKGROUP)).to.equal(true);
  });

  it("returns the same query for the same ClientRequestToken and refuses the token with another statement", async () => {
    await start();
    await put(`${RAW}a.csv`, sample());
    const statement = statementTo(`s3://${BUCKET}/staging/y/`);
    const first = await startQuery(statement, TOKEN);
    const second = await startQuery(statement, TOKEN);
    expect(second.QueryExecutionId).to.equal(first.QueryExecutionId);
    await waitForFinal(first.QueryExecutionId!);
    const third = await startQuery(statement, TOKEN);
    expect(third.QueryExecutionId).to.equal(first.QueryExecutionId);
    const error = await startQuery(statementTo(`s3://${BUCKET}/staging/z/`), TOKEN).catch((e: Error) => e);
    expect(error).to.have.property("name", "InvalidRequestException");
    const other = await startQuery(statement, "b".repeat(64));
    expect(other.QueryExecutionId).to.not.equal(first.QueryExecutionId);
  });

  it("fails an UNLOAD to a destination that holds data, as Athena does, and leaves that data alone", async () => {
    await start();
    await put(`${RAW}a.csv`, sample());
    await put("staging/full/old.parquet", "previous");
    const { QueryExecutionId } = await startQuery(statementTo(`s3://${BUCKET}/staging/full/`));
    const done = await waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("FAILED");
    expect(done.Status?.AthenaError?.ErrorMessage).to.match(/HIVE_PATH_ALREADY_EXISTS/);
    expect(done.Status?.StateChangeReason).to.match(/HIVE_PATH_ALREADY_EXISTS/);
    expect(await keysUnder("staging/full/")).to.deep.equal(["staging/full/old.parquet"]);
  });

  it("fails a query whose function the local dialect does not cover, and a statement that is not an UNLOAD, naming why", async () => {
    await start();
    const notUnload = await startQuery("SELECT 1");
    expect((await waitForFinal(notUnload.QueryExecutionId!)).Status?.StateChangeReason).to.match(/UNLOAD .* statements only/);
    const badTable = await startQuery(`UNLOAD (SELECT * FROM "${config.glue.databaseName}"."nope") TO 's3://${BUCKET}/staging/q/' WITH (format = 'PARQUET')`);
    expect((await waitForFinal(badTable.QueryExecutionId!)).Status?.StateChangeReason).to.match(/TABLE_NOT_FOUND.*nope/);
  });

  it("cancels a queued query on StopQueryExecution and writes nothing; stopping a finished query changes nothing", async () => {
    await start({ transitionMs: 300 });
    await put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await startQuery(statementTo(`s3://${BUCKET}/staging/c/`));
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId }));
    const done = await waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("CANCELLED");
    await new Promise((r) => setTimeout(r, 400));
    expect((await waitForFinal(QueryExecutionId!)).Status?.State).to.equal("CANCELLED");
    expect(await keysUnder("staging/c/")).to.deep.equal([]);
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId }));
    expect(events.filter((e) => e.detail.queryExecutionId === QueryExecutionId).map((e) => e.detail.currentState)).to.deep.equal(["QUEUED", "CANCELLED"]);
  });

  it("answers BatchGet with unknown ids as unprocessed, Get of an unknown id with not found, and lists a workgroup newest first", async () => {
    await start();
    const a = await startQuery("SELECT 1");
    const b = await startQuery("SELECT 2");
    const batch = await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [a.QueryExecutionId!, "missing-id"] }));
    expect(batch.QueryExecutions?.map((q) => q.QueryExecutionId)).to.deep.equal([a.QueryExecutionId]);
    expect(batch.UnprocessedQueryExecutionIds?.map((u) => u.QueryExecutionId)).to.deep.equal(["missing-id"]);
    const error = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: "missing-id" })).catch((e: Error) => e);
    expect(error).to.have.property("name", "InvalidRequestException");
    expect((error as Error).message).to.match(/not found/);
    const page1 = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP, MaxResults: 1 }));
    expect(page1.QueryExecutionIds).to.deep.equal([b.QueryExecutionId]);
    const page2 = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP, MaxResults: 1, NextToken: page1.NextToken }));
    expect(page2.QueryExecutionIds).to.deep.equal([a.QueryExecutionId]);
    expect(page2.NextToken).to.equal(undefined);
    const unknown = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: "other" })).catch((e: Error) => e);
    expect(unknown).to.have.property("name", "InvalidRequestException");
  });

  it("has the primary workgroup every AWS account has: listing without a workgroup answers, without the other workgroups' queries", async () => {
    await start();
    const { QueryExecutionId } = await startQuery("SELECT 1");
    expect((await athena.send(new ListQueryExecutionsCommand({}))).QueryExecutionIds).to.deep.equal([]);
    expect((await athena.send(new ListQueryExecutionsCommand({ WorkGroup: "primary" }))).QueryExecutionIds).to.deep.equal([]);
    expect((await athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP }))).QueryExecutionIds).to.deep.equal([QueryExecutionId]);
  });

  it("fails a query the injected-failure hook names, as --fail-job does", async () => {
    await start({ injectedFailure: (q) => (q.Query.includes(`/staging/${JOB_NAME}/`) ? `Injected failure: job ${JOB_NAME}` : undefined) });
    await put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await startQuery(statementTo(`s3://${BUCKET}/staging/${JOB_NAME}/${TOKEN}/`));
    const done = await waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("FAILED");
    expect(done.Status?.StateChangeReason).to.equal(`Injected failure: job ${JOB_NAME}`);
    expect(await keysUnder("staging/")).to.deep.equal([]);
  });
});
