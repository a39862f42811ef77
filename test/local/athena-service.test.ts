import { mkdir, readdir, writeFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { BatchGetQueryExecutionCommand, GetQueryExecutionCommand, ListQueryExecutionsCommand, StopQueryExecutionCommand } from "@aws-sdk/client-athena";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { whileDetachRefused } from "../support/duckdb";
import { parquetRows } from "../support/parquet";
import { BUCKET, localAthenaHarness, WORKGROUP } from "../support/local-athena";
import { athenaCounts } from "../../core/athena-counts";
import { athenaCountsQuery, athenaQuery, athenaRawInputs } from "../../core/athena-query";
import { bindRawRows } from "../../core/athena-inputs";
import { JobInputError } from "../../functions/etl-runner/engine";
import { checkRawInputs } from "../../functions/etl-runner/engines/athena-headers";
import { checkQuality, DataQualityError, jobQualityLimits } from "../../core/quality";
import { CASES, caseRows, sampleLines } from "../spark/cases";
import { rawTableName } from "../../core/catalog";
import { loadConfig, resourceNames, schemaPath, scriptsDir, sqlPath } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { runTransformation } from "../../local/etl-engine";
import { prunedPaths } from "../../local/athena-execution";
import { withConnection } from "../../local/duckdb-instance";
import { snakeCase } from "../../local/csv";
import { splitCsvLine } from "../csv-line";
import { datasetSchema, sampleCsv } from "../support/samples";
import { workflowShape } from "../support/workflow";

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
/** A dataset's sample lines for the shared cases, generated once per file (each case gets copies): as many data lines
 * as the cases need (a generator that makes more, such as the marketing one's 1,461 days, is cut). */
const caseSamples = new Map<string, string[]>();
const caseSampleLines = (dataset: string, schema: ReturnType<typeof datasetSchema>) => {
  if (!caseSamples.has(dataset)) caseSamples.set(dataset, sampleLines(dataset, schema, caseRows(schema)).slice(0, 1 + caseRows(schema)));
  return [...caseSamples.get(dataset)!];
};


describe("local/athena-service", () => {
  const h = localAthenaHarness(config);
  const statementTo = (destination: string) => athenaQuery(config, job).split(STAGING_URI_MARKER).join(destination);

  it("runs a job's generated statement as sent and writes the same rows as the local engine, dropping the same rows", async () => {
    await h.start();
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
    await h.put(`${RAW}upload.csv`, csv);
    const destination = `s3://${BUCKET}/staging/${JOB_NAME}/${TOKEN}/`;
    const { QueryExecutionId } = await h.startQuery(statementTo(destination), TOKEN);
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
    expect(done.Statistics?.DataScannedInBytes).to.equal(Buffer.byteLength(csv));
    expect(done.Statistics?.EngineExecutionTimeInMillis).to.be.a("number");
    expect(done.Query).to.equal(statementTo(destination));

    const keys = await h.keysUnder(`staging/${JOB_NAME}/${TOKEN}/`);
    expect(keys).to.have.length(1);
    const athenaFile = join(h.work, "athena.parquet");
    const body = await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    await writeFile(athenaFile, await body.Body!.transformToByteArray());

    const csvFile = join(h.work, "upload.csv");
    await writeFile(csvFile, csv);
    const engineOut = join(h.work, "engine");
    const engine = await runTransformation({ inputs: [{ name: VIEW, path: csvFile, format: "csv", schema: config.datasets[DATASET!].schema }], sqlFile: sqlPath(config, config.jobs[job]), outputDir: engineOut, scriptsDir: scriptsDir(config) });
    expect(engine.droppedRows[VIEW]).to.equal(bad.length);
    const expected = await parquetRows((await readdir(engineOut)).map((f) => join(engineOut, f)));
    const actual = await parquetRows([athenaFile]);
    expect(actual.length).to.equal(engine.rowsWritten).and.be.greaterThan(0);
    expect(actual).to.deep.equal(expected);
  });

  // The shared drop-rule, header and gate table (test/spark/cases.ts, which Spark and the local engine run too), on every
  // job on Athena that reads raw datasets, through the runner's header check (functions/etl-runner/engines/
  // athena-headers.ts, against the local S3) and statements bound to the files it checked: the same rows kept, the
  // same rows read and dropped, the same gate verdict, the same refusal of a header. The one difference: a file with a
  // column beyond the schema's, which Athena's raw table cannot read, is refused naming the file (Spark reads it).
  for (const job of workflowShape().jobsOn("athena").filter((id) => config.jobs[id].inputs.every((i) => i.dataset !== undefined)))
    for (const testCase of CASES)
      it(`${job}: reads, drops and counts as the local engine does: ${testCase.name}`, async () => {
        await h.start({ transitionMs: 1 });
        const shape = workflowShape();
        const inputs = [];
        const s3Paths: Array<[string, string]> = [];
        for (const input of config.jobs[job].inputs) {
          const dataset = input.dataset!;
          const schema = datasetSchema(config, dataset);
          const [header, ...lines] = caseSampleLines(dataset, schema);
          const files = testCase.files({ dataset, schema, header: splitCsvLine(header), lines }, shape.datasets.indexOf(dataset));
          const dir = join(h.work, dataset);
          for (const [name, body] of Object.entries(files)) {
            await mkdir(dirname(join(dir, name)), { recursive: true });
            await writeFile(join(dir, name), body);
            await h.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${config.datasets[dataset].prefix}${name}`, Body: body }));
          }
          inputs.push({ name: input.name, path: dir, format: "csv" as const, schema: config.datasets[dataset].schema });
          s3Paths.push([dir, `s3://${BUCKET}/${config.datasets[dataset].prefix.replace(/\/$/, "")}`]);
        }
        const catalogSchema = config.jobs[job].catalogSchema;
        const outputColumns = catalogSchema ? readSchemaFile(schemaPath(config, catalogSchema)).columns.map((c) => c.name) : [];
        const limits = testCase.quality?.(jobQualityLimits(config, job), { id: job, outputColumns }) ?? jobQualityLimits(config, job);
        const engineOut = join(h.work, "engine");
        const engine = await runTransformation({ inputs, sqlFile: sqlPath(config, config.jobs[job]), outputDir: engineOut, scriptsDir: scriptsDir(config), quality: limits }).catch((e: Error) => e);

        const raws = athenaRawInputs(config, job, BUCKET);
        const checked = await checkRawInputs(h.s3.client, raws).catch((e: Error) => e);
        if (checked instanceof Error) {
          expect(checked, checked.stack).to.be.instanceOf(JobInputError);
          if (!(engine instanceof Error)) {
            expect(testCase.name, `refused on Athena only: ${checked.message}`).to.match(/extra column/);
            expect(checked.message).to.match(/^s3:\/\/\S+: input '\w+': the header has \d+ columns, the schema \d+: on Athena .* holds exactly the schema's columns, in any order .*; remove column\(s\) "Notes"$/);
            return;
          }
          // The local engine's message, with the file's s3:// URI for its local path.
          expect(checked.message).to.equal(s3Paths.reduce((message, [dir, uri]) => message.split(dir).join(uri), engine.message));
          return;
        }
        const bind = (statement: string) => bindRawRows(statement, raws, checked);
        const run = async (statement: string, destination: string) => {
          const { QueryExecutionId } = await h.startQuery(statement.split(STAGING_URI_MARKER).join(`s3://${BUCKET}/${destination}`));
          const done = await h.waitForFinal(QueryExecutionId!);
          if (engine instanceof Error && !(engine instanceof DataQualityError)) {
            // A job the local engine refuses (e.g. notNull naming a column its output lacks) fails on Athena too, naming it.
            expect(done.Status?.State).to.equal("FAILED");
            expect(done.Status?.StateChangeReason).to.include(limits.notNull.find((c) => engine.message.includes(c)));
            return [];
          }
          expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
          const keys = await h.keysUnder(destination);
          return Promise.all(keys.map(async (key) => Buffer.from(await (await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray())));
        };
        const [countsFile] = await run(bind(athenaCountsQuery(config, job, limits)), "staging/counts/");
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
        const [parquet] = await run(bind(athenaQuery(config, job)), "staging/out/");
        await writeFile(join(h.work, "athena.parquet"), parquet);
        expect(await parquetRows([join(h.work, "athena.parquet")])).to.deep.equal(await parquetRows(engine.files));
      });

  it("gives each row of a raw table Athena's \"$path\" pseudo-column, its file's s3:// URI (a *.gz file, a subfolder; hidden files skipped)", async () => {
    await h.start();
    const lines = sample().trimEnd().split("\n");
    await h.put(`${RAW}a.csv`, lines.join("\n"));
    await h.put(`${RAW}part/b.csv.gz`, gzipSync(lines.slice(0, 3).join("\n")));
    await h.put(`${RAW}_SUCCESS`, "");
    const table = `"${config.glue.databaseName}"."${rawTableName(DATASET!)}"`;
    const { QueryExecutionId } = await h.startQuery(`UNLOAD (SELECT "$path", count(*) AS "rows" FROM ${table} GROUP BY "$path") TO 's3://${BUCKET}/staging/paths/' WITH (format = 'JSON', compression = 'GZIP')`);
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
    const [key] = await h.keysUnder("staging/paths/");
    const body = Buffer.from(await (await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const rows = gunzipSync(body).toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as { $path: string; rows: number });
    expect(rows.sort((a, b) => a.$path.localeCompare(b.$path))).to.deep.equal([
      { $path: `s3://${BUCKET}/${RAW}a.csv`, rows: lines.length - 1 },
      { $path: `s3://${BUCKET}/${RAW}part/b.csv.gz`, rows: 2 },
    ]);
  });

  it("reads only the files a bound statement lists at its scan's top level (\"$path\" IN): an unlisted file of the folder is neither read nor counted", async () => {
    await h.start();
    const [raw] = athenaRawInputs(config, job, BUCKET).filter((r) => r.input === VIEW);
    const [header, ...rows] = sample().trimEnd().split("\n");
    const fields = splitCsvLine(header);
    // Two column orders (the second file's reversed), and a file the runner did not check: corrupt gzip, which fails
    // any statement that reads it.
    const reversedCsv = [header, ...rows.slice(0, 5)].map((line) => splitCsvLine(line).reverse().map((f) => (/[",]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(",")).join("\n") + "\n";
    const plain = [header, ...rows].join("\n") + "\n";
    await h.put(`${RAW}a.csv`, plain);
    await h.put(`${RAW}b.csv`, reversedCsv);
    const unlisted = Buffer.concat([gzipSync(plain).subarray(0, 10), Buffer.alloc(64, 0xff)]);
    await h.put(`${RAW}late.csv.gz`, unlisted);
    const positions = (order: string[]) => raw.columns.map((c) => order.findIndex((f) => snakeCase(f) === snakeCase(c.source)));
    const files = { [raw.table]: [{ uri: `s3://${BUCKET}/${RAW}a.csv`, positions: positions(fields) }, { uri: `s3://${BUCKET}/${RAW}b.csv`, positions: positions([...fields].reverse()) }] };
    const statement = (destination: string) => bindRawRows(athenaCountsQuery(config, job), [raw], files).split(STAGING_URI_MARKER).join(`s3://${BUCKET}/${destination}`);
    expect(statement("x/")).to.include(`"etl_column_order" FROM "${raw.database}"."${raw.table}" WHERE "$path" IN ('s3://${BUCKET}/${RAW}a.csv', 's3://${BUCKET}/${RAW}b.csv')`);
    const pruned = await h.waitForFinal((await h.startQuery(statement("staging/pruned/"))).QueryExecutionId!);
    expect(pruned.Status?.State, JSON.stringify(pruned.Status)).to.equal("SUCCEEDED");
    expect(pruned.Statistics?.DataScannedInBytes).to.equal(Buffer.byteLength(plain) + Buffer.byteLength(reversedCsv));
    const [key] = await h.keysUnder("staging/pruned/");
    const counts = athenaCounts(gunzipSync(Buffer.from(await (await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray())).toString("utf8").trim(), jobQualityLimits(config, job));
    expect(counts.inputs[VIEW].read).to.equal(rows.length + 5);
    // The negative case: a scan filtered on anything but its top-level "$path" list (here, through the CASE result) reads every file.
    const onCase = statement("staging/unpruned/").replace(/ FROM ("[^"]+"\."[^"]+") WHERE "\$path" IN \([^)]*\)\)\)/g, (_, table) => ` FROM ${table}) WHERE "etl_column_order" IS NOT NULL)`);
    expect(onCase).to.not.include(`WHERE "$path" IN ('s3://${BUCKET}/${RAW}a.csv'`);
    const unpruned = await h.waitForFinal((await h.startQuery(onCase)).QueryExecutionId!);
    expect(unpruned.Status?.State).to.equal("FAILED");
    // The unlisted file's gzip error (zlib's message; the listed files alone were read above).
    expect(unpruned.Status?.StateChangeReason).to.match(/invalid block type|incorrect header check|unexpected end of file/);
  });

  it("prunes a table's files only when every scan of it has a top-level \"$path\" IN list as its whole WHERE", () => {
    const t = `"db"."t"`;
    expect([...prunedPaths(`SELECT * FROM (SELECT a FROM ${t} WHERE "$path" IN ('s3://b/x.csv', 's3://b/it''s.csv')) JOIN (SELECT a FROM db.t WHERE "$path" IN ('s3://b/y.csv'))`, "db", "t")!]).to.deep.equal(["s3://b/x.csv", "s3://b/it's.csv", "s3://b/y.csv"]);
    expect(prunedPaths(`SELECT * FROM (SELECT a FROM ${t} WHERE "$path" IN ('s3://b/x.csv')) JOIN (SELECT a FROM ${t})`, "db", "t"), "one scan unfiltered").to.equal(undefined);
    expect(prunedPaths(`(SELECT a FROM ${t} WHERE "$path" IN ('s3://b/x.csv') OR a = 1)`, "db", "t"), "more than the list").to.equal(undefined);
    expect(prunedPaths(`(SELECT a FROM ${t} WHERE "$path" IN ('s3://b/x.csv'))`, "db", "u"), "another table").to.equal(undefined);
    expect(prunedPaths(`(SELECT a FROM "db"."t_2" WHERE "$path" IN ('s3://b/x.csv')) JOIN ${t}`, "db", "t"), "a longer name is another table").to.equal(undefined);
  });

  it("goes QUEUED -> RUNNING -> SUCCEEDED and emits one state-change event per transition", async () => {
    await h.start();
    await h.put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await h.startQuery(statementTo(`s3://${BUCKET}/staging/x/`));
    await h.waitForFinal(QueryExecutionId!);
    const mine = h.events.filter((e) => e.detail.queryExecutionId === QueryExecutionId);
    expect(mine.map((e) => [e.detail.previousState, e.detail.currentState])).to.deep.equal([
      [null, "QUEUED"],
      ["QUEUED", "RUNNING"],
      ["RUNNING", "SUCCEEDED"],
    ]);
    expect(mine.every((e) => e.source === "aws.athena" && e["detail-type"] === "Athena Query State Change" && e.detail.workgroupName === WORKGROUP)).to.equal(true);
  });

  it("returns the same query for the same ClientRequestToken and refuses the token with another statement", async () => {
    await h.start();
    await h.put(`${RAW}a.csv`, sample());
    const statement = statementTo(`s3://${BUCKET}/staging/y/`);
    const first = await h.startQuery(statement, TOKEN);
    const second = await h.startQuery(statement, TOKEN);
    expect(second.QueryExecutionId).to.equal(first.QueryExecutionId);
    await h.waitForFinal(first.QueryExecutionId!);
    const third = await h.startQuery(statement, TOKEN);
    expect(third.QueryExecutionId).to.equal(first.QueryExecutionId);
    const error = await h.startQuery(statementTo(`s3://${BUCKET}/staging/z/`), TOKEN).catch((e: Error) => e);
    expect(error).to.have.property("name", "InvalidRequestException");
    const other = await h.startQuery(statement, "b".repeat(64));
    expect(other.QueryExecutionId).to.not.equal(first.QueryExecutionId);
  });

  it("fails an UNLOAD to a destination that holds data, as Athena does, and leaves that data alone", async () => {
    await h.start();
    await h.put(`${RAW}a.csv`, sample());
    await h.put("staging/full/old.parquet", "previous");
    const { QueryExecutionId } = await h.startQuery(statementTo(`s3://${BUCKET}/staging/full/`));
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("FAILED");
    expect(done.Status?.AthenaError?.ErrorMessage).to.match(/HIVE_PATH_ALREADY_EXISTS/);
    expect(done.Status?.StateChangeReason).to.match(/HIVE_PATH_ALREADY_EXISTS/);
    expect(await h.keysUnder("staging/full/")).to.deep.equal(["staging/full/old.parquet"]);
  });

  it("fails a query whose function the local dialect does not cover, and a statement that is not an UNLOAD, naming why", async () => {
    await h.start();
    const notUnload = await h.startQuery("SELECT 1");
    expect((await h.waitForFinal(notUnload.QueryExecutionId!)).Status?.StateChangeReason).to.match(/UNLOAD .* statements only/);
    const badTable = await h.startQuery(`UNLOAD (SELECT * FROM "${config.glue.databaseName}"."nope") TO 's3://${BUCKET}/staging/q/' WITH (format = 'PARQUET')`);
    expect((await h.waitForFinal(badTable.QueryExecutionId!)).Status?.StateChangeReason).to.match(/TABLE_NOT_FOUND.*nope/);
  });

  it("refuses a statement that holds more than one, as Athena does, and runs neither", async () => {
    await h.start();
    const statement = `UNLOAD (SELECT 1 AS x) TO '/tmp/j' (FORMAT csv); SET GLOBAL memory_limit='10MB'; --) TO 's3://${BUCKET}/staging/two/' WITH (format = 'PARQUET')`;
    const limit = () => withConnection(async (c) => (await c.runAndReadAll("SELECT current_setting('memory_limit') AS v")).getRowObjectsJson()[0].v);
    const before = await limit();
    const { QueryExecutionId } = await h.startQuery(statement);
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("FAILED");
    expect(done.Status?.StateChangeReason).to.equal(`local Athena: only one SQL statement is allowed, got: ${statement}`);
    expect(done.Status?.AthenaError?.ErrorCategory).to.equal(2);
    expect(await limit()).to.equal(before);
  });

  it("publishes a statement's output only once its scratch database is detached: a failed detach fails it, naming the database, and writes nothing", async () => {
    await h.start();
    await h.put(`${RAW}a.csv`, sample());
    const done = await whileDetachRefused(async () => h.waitForFinal((await h.startQuery(statementTo(`s3://${BUCKET}/staging/undetached/`))).QueryExecutionId!));
    expect(done.Status?.State).to.equal("FAILED");
    const reason = done.Status?.StateChangeReason ?? "";
    expect(reason).to.match(/^local DuckDB: could not detach scratch database scratch_[0-9a-f]{32}: detach refused$/);
    expect(await h.keysUnder("staging/undetached/")).to.deep.equal([]);
    await withConnection((c) => c.run(`DETACH DATABASE ${/scratch_\w+/.exec(reason)![0]}`));
  });

  it("cancels a queued query on StopQueryExecution and writes nothing; stopping a finished query changes nothing", async () => {
    // A minute in QUEUED: time for a round trip to stop it there on any machine; the stop ends that wait at once.
    await h.start({ transitionMs: 60_000 });
    await h.put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await h.startQuery(statementTo(`s3://${BUCKET}/staging/c/`));
    await h.athena.send(new StopQueryExecutionCommand({ QueryExecutionId }));
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("CANCELLED");
    // The service's own work on the query settles (its QUEUED wait ended with the stop; it must not run the query then).
    const closing = Date.now();
    await h.server.athena.close();
    expect(Date.now() - closing, "the stop ended the QUEUED wait").to.be.below(30_000);
    expect((await h.waitForFinal(QueryExecutionId!)).Status?.State).to.equal("CANCELLED");
    expect(await h.keysUnder("staging/c/")).to.deep.equal([]);
    await h.athena.send(new StopQueryExecutionCommand({ QueryExecutionId }));
    expect(h.events.filter((e) => e.detail.queryExecutionId === QueryExecutionId).map((e) => e.detail.currentState)).to.deep.equal(["QUEUED", "CANCELLED"]);
  });

  it("answers BatchGet with unknown ids as unprocessed, Get of an unknown id with not found, and lists a workgroup newest first", async () => {
    await h.start();
    const a = await h.startQuery("SELECT 1");
    const b = await h.startQuery("SELECT 2");
    const batch = await h.athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [a.QueryExecutionId!, "missing-id"] }));
    expect(batch.QueryExecutions?.map((q) => q.QueryExecutionId)).to.deep.equal([a.QueryExecutionId]);
    expect(batch.UnprocessedQueryExecutionIds?.map((u) => u.QueryExecutionId)).to.deep.equal(["missing-id"]);
    const error = await h.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: "missing-id" })).catch((e: Error) => e);
    expect(error).to.have.property("name", "InvalidRequestException");
    expect((error as Error).message).to.match(/not found/);
    const page1 = await h.athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP, MaxResults: 1 }));
    expect(page1.QueryExecutionIds).to.deep.equal([b.QueryExecutionId]);
    const page2 = await h.athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP, MaxResults: 1, NextToken: page1.NextToken }));
    expect(page2.QueryExecutionIds).to.deep.equal([a.QueryExecutionId]);
    expect(page2.NextToken).to.equal(undefined);
    const unknown = await h.athena.send(new ListQueryExecutionsCommand({ WorkGroup: "other" })).catch((e: Error) => e);
    expect(unknown).to.have.property("name", "InvalidRequestException");
  });

  it("has the primary workgroup every AWS account has: listing without a workgroup answers, without the other workgroups' queries", async () => {
    await h.start();
    const { QueryExecutionId } = await h.startQuery("SELECT 1");
    expect((await h.athena.send(new ListQueryExecutionsCommand({}))).QueryExecutionIds).to.deep.equal([]);
    expect((await h.athena.send(new ListQueryExecutionsCommand({ WorkGroup: "primary" }))).QueryExecutionIds).to.deep.equal([]);
    expect((await h.athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP }))).QueryExecutionIds).to.deep.equal([QueryExecutionId]);
  });

  it("fails a query the injected-failure hook names, as --fail-job does", async () => {
    await h.start({ injectedFailure: (q) => (q.Query.includes(`/staging/${JOB_NAME}/`) ? `Injected failure: job ${JOB_NAME}` : undefined) });
    await h.put(`${RAW}a.csv`, sample());
    const { QueryExecutionId } = await h.startQuery(statementTo(`s3://${BUCKET}/staging/${JOB_NAME}/${TOKEN}/`));
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State).to.equal("FAILED");
    expect(done.Status?.StateChangeReason).to.equal(`Injected failure: job ${JOB_NAME}`);
    expect(await h.keysUnder("staging/")).to.deep.equal([]);
  });
});
