// The Athena adapter checks every raw file's header before the job's statement (mocked Athena and S3): the rules of
// the other engines, the same messages naming the file, and both statements bound to the files it checked.
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { AthenaClient, BatchGetQueryExecutionCommand, GetQueryExecutionCommand, StartQueryExecutionCommand } from "@aws-sdk/client-athena";
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException, type S3ClientResolvedConfig, type ServiceInputTypes, type ServiceOutputTypes } from "@aws-sdk/client-s3";
import { SendTaskFailureCommand } from "@aws-sdk/client-sfn";
import { mockClient, type AwsStub } from "aws-sdk-client-mock";
import { expect } from "chai";
import { ATHENA_QUERY_LIMIT, bindRawRows, rawRows } from "../../../core/athena-inputs";
import { athenaCountsQuery, athenaQuery, athenaRawInputs } from "../../../core/athena-query";
import { loadConfig } from "../../../core/config";
import { duplicateColumnError } from "../../../core/csv-header";
import { STAGING_URI_MARKER, type AthenaJobSpec } from "../../../core/job-spec";
import { jobQualityLimits } from "../../../core/quality";
import { emptySummary, RUNNER_ERRORS } from "../../../functions/etl-runner/deps";
import { JobInputError, JobInputReadError, STALE_CLAIM_MS, StartDeferredError } from "../../../functions/etl-runner/engine";
import { AthenaEngine } from "../../../functions/etl-runner/engines/athena";
import { checkRawInputs, HEADER_CHECK_FLOOR_MS, HEADER_CHECK_MS } from "../../../functions/etl-runner/engines/athena-headers";
import { engineRegistry } from "../../../functions/etl-runner/engines/registry";
import type { JobSpecs } from "../../../functions/etl-runner/job-specs";
import { parseS3Uri, statementsRunUri } from "../../../functions/etl-runner/s3-uri";
import { START_OUTCOME_MARGIN_MS, startRun } from "../../../functions/etl-runner/start";
import { silentLogger } from "../fakes";
import { runnerHarness } from "./harness";
import { datasetSchema } from "../../support/samples";
import { workflowShape } from "../../support/workflow";

const config = loadConfig();
const shape = workflowShape(config);
// The configuration's job on Athena that reads a raw dataset, or else any job that does (the statements are the same).
const job = shape.jobsOn("athena").find((id) => shape.datasetJobs.includes(id)) ?? shape.datasetJobs[0];
const JOB_NAME = `etl-test-${job}`;
const BUCKET = "data-lake-test";
const TASK = "f".repeat(64);
const raws = athenaRawInputs(config, job, BUCKET);
const [raw] = raws;
const dataset = config.jobs[job].inputs.find((i) => i.name === raw.input)!.dataset!;
const prefix = config.datasets[dataset].prefix;
const spec: AthenaJobSpec = {
  engine: "athena",
  jobName: JOB_NAME,
  workGroup: "wg",
  database: config.glue.databaseName,
  query: athenaQuery(config, job),
  countsQuery: athenaCountsQuery(config, job),
  quality: jobQualityLimits(config, job),
  outputUri: `s3://${BUCKET}/out/`,
  stagingUri: `s3://${BUCKET}/staging/${JOB_NAME}/`,
  rawInputs: raws,
};
const sources = datasetSchema(config, dataset).columns.map((c) => c.source!);
const csv = (header: string[]) => `${header.join(",")}\n${header.map(() => "1").join(",")}\n`;

describe("functions/etl-runner: Athena header checks", () => {
  let objects: Map<string, Buffer>;
  let s3: S3Client;
  let s3Mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>;
  let athena: AthenaClient;
  let athenaMock: ReturnType<typeof mockClient>;
  let engine: AthenaEngine;
  /** The spec the runner reads (a test redeploys the job by replacing it). */
  let current: AthenaJobSpec;

  beforeEach(() => {
    objects = new Map();
    s3 = new S3Client({ region: "us-east-1" });
    s3Mock = mockClient(s3);
    s3Mock.on(ListObjectsV2Command).callsFake(async ({ Bucket, Prefix }) => ({
      Contents: [...objects].filter(([k]) => k.startsWith(`${Bucket}/${Prefix}`)).map(([k, v]) => ({ Key: k.slice(Bucket.length + 1), Size: v.length })),
      IsTruncated: false,
    }));
    s3Mock.on(GetObjectCommand).callsFake(async ({ Bucket, Key, Range }) => {
      const body = objects.get(`${Bucket}/${Key}`)!;
      const [, from, to] = /bytes=(\d+)-(\d+)/.exec(Range ?? `bytes=0-${body.length - 1}`)!.map(Number);
      const bytes = body.subarray(from, to + 1);
      return { Body: Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes), transformToString: async () => bytes.toString("utf8") }) };
    });
    s3Mock.on(PutObjectCommand).callsFake(async ({ Bucket, Key, Body }) => void objects.set(`${Bucket}/${Key}`, Buffer.from(Body as string)));
    athena = new AthenaClient({ region: "us-east-1" });
    athenaMock = mockClient(athena);
    athenaMock.on(StartQueryExecutionCommand).callsFake(async ({ ClientRequestToken }) => ({ QueryExecutionId: `q-${ClientRequestToken}` }));
    current = spec;
    const specs = { get: async () => current } as unknown as JobSpecs;
    engine = new AthenaEngine(athena, specs, silentLogger(), () => s3);
  });

  const upload = (name: string, body: string | Buffer) => objects.set(`${BUCKET}/${prefix}${name}`, Buffer.from(body));
  const uri = (name: string) => `s3://${BUCKET}/${prefix}${name}`;
  const started = () => athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString as string);
  const start = () => engine.start({ jobName: JOB_NAME, taskId: TASK, input: { JobName: JOB_NAME } });

  it("refuses a header naming a required column twice before any statement, naming the column, both positions and the file", async () => {
    upload("a.csv", csv(sources));
    const twice = [...sources, ` ${sources[0].toUpperCase()}`];
    upload("b.csv", csv(twice));
    const error = await start().catch((e: Error) => e);
    expect(error).to.be.instanceOf(JobInputError);
    expect((error as Error).message).to.equal(duplicateColumnError(twice, datasetSchema(config, dataset).columns, raw.input, uri("b.csv")));
    expect((error as Error).message).to.include(`at positions 1 and ${sources.length + 1}`);
    expect(started()).to.deep.equal([]);
  });

  it("a clean file: the job's statement reads exactly the files checked, by the schema's order", async () => {
    upload("a.csv", csv(sources));
    upload("_SUCCESS", "");
    expect(await start()).to.equal(`q-${TASK}`);
    const [statement] = started();
    expect(statement).to.include(`WHERE "$path" IN ('${uri("a.csv")}')`).and.include(`${spec.stagingUri}${TASK}/`);
    expect(statement).to.not.include("etl_column_order");
  });

  it("reordered columns (a gzip file): read by the file's own header; a folder whose files order them differently: each file by its own", async () => {
    const reversed = [...sources].reverse();
    upload("a.csv.gz", gzipSync(csv(reversed)));
    await start();
    const positions = sources.map((s) => reversed.indexOf(s));
    expect(started()[0]).to.include(`"${raw.columns[positions[0]].name}" AS "${raw.columns[0].name}"`).and.include(`"$path" IN ('${uri("a.csv.gz")}')`);

    athenaMock.resetHistory();
    upload("part/b.csv", csv(sources));
    await engine.start({ jobName: JOB_NAME, taskId: "e".repeat(64), input: { JobName: JOB_NAME } });
    expect(started()[0]).to.include(`CASE WHEN "$path" IN ('${uri("part/b.csv")}') THEN 1 ELSE 0 END AS "etl_column_order" FROM "${raw.database}"."${raw.table}" WHERE "$path" IN ('${uri("a.csv.gz")}', '${uri("part/b.csv")}')`);
  });

  it("refuses a file with columns beyond the table's, a missing column, an empty folder and a non-text file, naming each", async () => {
    const refusal = async () => ((await start().catch((e: Error) => e)) as Error).message;
    expect(await refusal()).to.equal(`input '${raw.input}': ${uri("").replace(/\/$/, "")}: no data file (names starting with '_' or '.' are skipped) in the folder`);
    upload("wide.csv", csv([...sources, "Notes"]));
    expect(await refusal()).to.match(new RegExp(`^${uri("wide.csv")}: input '${raw.input}': the header has ${sources.length + 1} columns`));
    objects.clear();
    if (sources.length > 1) {
      upload("narrow.csv", csv(sources.slice(1)));
      expect(await refusal()).to.include(`${uri("narrow.csv")}: input '${raw.input}' lacks required column(s) ${JSON.stringify(sources[0])}`);
      objects.clear();
    }
    upload("packed.csv", gzipSync(csv(sources)));
    expect(await refusal()).to.equal(`${uri("packed.csv")}: not a CSV text file: it holds gzip data; name it *.gz to have it decompressed`);
    expect(started()).to.deep.equal([]);
  });

  const statementsKept = () => objects.get(`${BUCKET}/${parseS3Uri(statementsRunUri(spec.stagingUri, TASK)).key}`);
  const headerReads = () => s3Mock.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key!.startsWith(prefix)).length;

  it("a restart of the task after a new upload sends the statement kept at its first start, under the same token", async () => {
    upload("a.csv", csv(sources));
    await start();
    const kept = JSON.parse(statementsKept()!.toString("utf8"));
    expect(kept.job).to.equal(started()[0]);
    expect(kept.counts).to.include(`TO '${spec.stagingUri}${TASK}.counts/'`).and.include(`"$path" IN ('${uri("a.csv")}')`);
    const reads = headerReads();
    upload("late.csv", csv(sources));
    await start();
    const calls = athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.ClientRequestToken)).to.deep.equal([TASK, TASK]);
    expect(calls[1].QueryString).to.equal(calls[0].QueryString).and.not.include("late.csv");
    expect(headerReads(), "no header read again").to.equal(reads);
  });

  it("the counts statement is the one kept at the start: the files the job read, even after a new upload and a redeploy with other SQL", async () => {
    upload("a.csv", csv(sources));
    await start();
    const [statement] = started();
    const kept = JSON.parse(statementsKept()!.toString("utf8"));
    upload("late.csv", csv(sources));
    current = { ...spec, query: spec.query.replace("UNLOAD (", "UNLOAD ( "), countsQuery: spec.countsQuery.replace("UNLOAD (", "UNLOAD ( ") };
    athenaMock.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }) => ({
      QueryExecution: { QueryExecutionId, Query: QueryExecutionId === `q-${TASK}` ? statement : "counts", Status: { State: QueryExecutionId === `q-${TASK}` ? "SUCCEEDED" : "RUNNING" } },
    }));
    const run = await engine.describeRun(JOB_NAME, `q-${TASK}`);
    expect(run).to.include({ state: "COUNTING" });
    const counts = started()[1];
    expect(counts).to.equal(kept.counts).and.not.include("late.csv");
  });

  it("a run whose statements were not kept cannot be counted: it fails naming where they should be", async () => {
    athenaMock.on(GetQueryExecutionCommand).resolves({ QueryExecution: { QueryExecutionId: `q-${TASK}`, Query: `UNLOAD (SELECT 1) TO '${spec.stagingUri}${TASK}/'`, Status: { State: "SUCCEEDED" } } });
    const run = await engine.describeRun(JOB_NAME, `q-${TASK}`);
    expect(run).to.include({ state: "COUNTS_FAILED", status: "failed" });
    expect((run as { errorMessage: string }).errorMessage).to.include(statementsRunUri(spec.stagingUri, TASK));
    expect(started()).to.deep.equal([]);
  });

  describe("a run started by a runner before the kept statements (its item has no runnerVersion)", () => {
    const files = () => ({ [raw.table]: [{ uri: uri("a.csv"), positions: raw.columns.map((_, j) => j) }, { uri: uri("b.csv"), positions: raw.columns.map((_, j) => raw.columns.length - 1 - j) }] });
    const template = (statement: string, uriOf: string) => statement.split(STAGING_URI_MARKER).join(uriOf);
    /** The job statement that runner sent: bound to the files it checked, in its own form of the expression. */
    const boundByEarlierRunner = rawRows(raw, files()[raw.table]).replace(/ ELSE 0 END/, ` WHEN "$path" IN ('x') THEN 0 END`);
    const executedByEarlierRunner = template(spec.query, `${spec.stagingUri}${TASK}/`).split(rawRows(raw)).join(boundByEarlierRunner);
    const logged: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const succeeded = (query: string) =>
      athenaMock.on(GetQueryExecutionCommand).callsFake(async ({ QueryExecutionId }) => ({
        QueryExecution: { QueryExecutionId, Query: QueryExecutionId === `q-${TASK}` ? query : "counts", Status: { State: QueryExecutionId === `q-${TASK}` ? "SUCCEEDED" : "RUNNING" } },
      }));
    beforeEach(() => {
      logged.length = 0;
      const logger = Object.assign(silentLogger(), { info: (message: string, fields: Record<string, unknown> = {}) => void logged.push({ message, fields }) });
      engine = new AthenaEngine(athena, { get: async () => current } as unknown as JobSpecs, logger, () => s3);
    });

    it("is counted by the counts statement bound as its executed statement (as that runner counted), the fallback named in the logs", async () => {
      succeeded(executedByEarlierRunner);
      const run = await engine.describeRun(JOB_NAME, `q-${TASK}`, true);
      expect(run).to.include({ state: "COUNTING", status: "running" });
      const expected = template(spec.countsQuery, `${spec.stagingUri}${TASK}.counts/`).split(rawRows(raw)).join(boundByEarlierRunner);
      expect(expected).to.not.equal(template(spec.countsQuery, `${spec.stagingUri}${TASK}.counts/`));
      expect(started()).to.deep.equal([expected]);
      expect(started()[0]).to.include(`WHEN "$path" IN ('x') THEN 0 END`).and.include(`TO '${spec.stagingUri}${TASK}.counts/'`);
      expect(logged.map((l) => l.fields.fallback)).to.deep.equal(["countsAsExecuted"]);
      // Through the batch path as well, told by the run query.
      athenaMock.on(BatchGetQueryExecutionCommand).resolves({ QueryExecutions: [{ QueryExecutionId: `q-${TASK}`, Query: executedByEarlierRunner, Status: { State: "SUCCEEDED" } }] });
      const listing = await engine.describeRuns([{ jobName: JOB_NAME, runIds: new Set([`q-${TASK}`]), taskIds: new Set(), earlierRunnerRunIds: new Set([`q-${TASK}`]) }], 1);
      expect(listing.runs.get(`q-${TASK}`)).to.include({ state: "COUNTING" });
    });

    it("whose statement is not the spec's bound (redeployed with other SQL since) fails COUNTS_FAILED saying so, starting nothing", async () => {
      current = { ...spec, query: spec.query.replace("UNLOAD (", "UNLOAD ( ") };
      succeeded(executedByEarlierRunner);
      const run = await engine.describeRun(JOB_NAME, `q-${TASK}`, true);
      expect(run).to.include({ state: "COUNTS_FAILED", status: "failed" });
      expect((run as { errorMessage: string }).errorMessage).to.equal(`query q-${TASK}, started by an earlier runner, is not the job's statement as its spec now gives it (the job was redeployed while it ran): its rows cannot be counted`);
      expect(started()).to.deep.equal([]);
      expect(logged.map((l) => [l.fields.fallback, l.fields.aligned])).to.deep.equal([["countsAsExecuted", false]]);
    });

    it("with kept statements (restarted by this runner) uses them; a run of this runner without them gets no fallback", async () => {
      upload("a.csv", csv(sources));
      await start();
      const kept = JSON.parse(statementsKept()!.toString("utf8"));
      succeeded(kept.job);
      await engine.describeRun(JOB_NAME, `q-${TASK}`, true);
      expect(started()[1]).to.equal(kept.counts);
      objects.delete(`${BUCKET}/${parseS3Uri(statementsRunUri(spec.stagingUri, TASK)).key}`);
      athenaMock.resetHistory();
      succeeded(executedByEarlierRunner);
      expect(await engine.describeRun(JOB_NAME, `q-${TASK}`, false)).to.include({ state: "COUNTS_FAILED" });
      expect(await engine.describeRun(JOB_NAME, `q-${TASK}`)).to.include({ state: "COUNTS_FAILED" });
      expect(started()).to.deep.equal([]);
      expect(logged).to.deep.equal([]);
    });
  });

  it("refuses statements over Athena's limit in UTF-8 bytes (non-ASCII keys), though their characters are fewer, starting and keeping nothing", async () => {
    const names = Array.from({ length: 600 }, (_, i) => `${"€".repeat(100)}-${i}.csv`);
    for (const name of names) upload(name, csv(sources));
    const files = { [raw.table]: names.map((name) => ({ uri: uri(name), positions: raw.columns.map((_, j) => j) })) };
    const counts = bindRawRows(spec.countsQuery.split(STAGING_URI_MARKER).join(`${spec.stagingUri}${TASK}.counts/`), spec.rawInputs!, files);
    expect(counts.length, "the characters are within the limit").to.be.below(ATHENA_QUERY_LIMIT);
    const error = (await start().catch((e: Error) => e)) as Error;
    expect(error).to.be.instanceOf(JobInputError);
    expect(error.message).to.equal(
      `the job's statements would be ${Buffer.byteLength(counts, "utf8")} bytes long, over Athena's limit of ${ATHENA_QUERY_LIMIT}: they name every file they read (600 files under ${raw.uri}); merge the files into fewer parts`,
    );
    expect(started()).to.deep.equal([]);
    expect(statementsKept()).to.equal(undefined);
  });

  it("the limit counts the scan's list of every file checked with several column orders (each file of a smaller order named twice)", async () => {
    const reversed = [...sources].reverse();
    const names = Array.from({ length: 400 }, (_, i) => `${"€".repeat(100)}-${String(i).padStart(3, "0")}.csv`);
    names.forEach((name, i) => upload(name, csv(i % 2 ? reversed : sources)));
    const files = { [raw.table]: names.map((name, i) => ({ uri: uri(name), positions: i % 2 ? sources.map((s) => reversed.indexOf(s)) : sources.map((_, j) => j) })) };
    const counts = bindRawRows(spec.countsQuery.split(STAGING_URI_MARKER).join(`${spec.stagingUri}${TASK}.counts/`), spec.rawInputs!, files);
    const scans = counts.split(`WHERE "$path" IN (${names.map((n) => `'${uri(n)}'`).join(", ")})`).length - 1;
    expect(scans, "every scan of the table lists every file").to.equal(2);
    const error = (await start().catch((e: Error) => e)) as Error;
    expect(error).to.be.instanceOf(JobInputError);
    expect(error.message).to.match(new RegExp(`^the job's statements would be ${Buffer.byteLength(counts, "utf8")} bytes long, over Athena's limit`));
    expect(started()).to.deep.equal([]);
  });

  it("the runner fails the task as a failed job (JobFailedError, the message in the cause), starting nothing", async () => {
    upload("a.csv", csv([...sources, sources[0]]));
    const h = runnerHarness();
    const deps = { ...h.deps, engines: engineRegistry({ [JOB_NAME]: "athena" }, { athena: () => engine }) };
    const item = { jobName: JOB_NAME, taskId: TASK, taskToken: "token", status: "STARTING" as const, taskInput: "{}", claimedAt: new Date().toISOString() };
    await startRun(deps, item, { JobName: JOB_NAME }, emptySummary());
    const [failure] = h.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
    expect(failure.error).to.equal(RUNNER_ERRORS.jobFailed);
    const cause = JSON.parse(failure.cause!);
    expect(cause).to.include({ jobName: JOB_NAME, engine: "athena", state: "INPUT_REFUSED" });
    expect(cause.errorMessage).to.include(uri("a.csv")).and.include(`at positions 1 and ${sources.length + 1}`);
    expect(started()).to.deep.equal([]);
  });

  const startError = async () => (await start().catch((e: Error) => e)) as Error;
  /** The task failure startRun sends when the start throws. */
  const taskFailure = async () => {
    const h = runnerHarness();
    const deps = { ...h.deps, engines: engineRegistry({ [JOB_NAME]: "athena" }, { athena: () => engine }) };
    const item = { jobName: JOB_NAME, taskId: TASK, taskToken: "token", status: "STARTING" as const, taskInput: "{}", claimedAt: new Date().toISOString() };
    await startRun(deps, item, { JobName: JOB_NAME }, emptySummary());
    return h.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)[0];
  };
  const reset = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  const getsOf = (name: string) => s3Mock.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === `${prefix}${name}`);

  it("a body that fails mid-read (ranged path): retryable, naming the file, not a refused input", async () => {
    upload("a.csv", csv(sources));
    s3Mock.on(GetObjectCommand).resolves({ Body: Object.assign(new Readable({ read() {} }), { transformToByteArray: () => Promise.reject(reset()) }) } as never);
    const error = await startError();
    expect(error).to.be.instanceOf(JobInputReadError).and.include({ retryable: true });
    expect(error.message).to.equal(`${uri("a.csv")}: cannot read the file's header: Error: read ECONNRESET`);
    const failure = await taskFailure();
    expect(failure.error).to.equal(RUNNER_ERRORS.retryable);
    expect(failure.cause).to.include(uri("a.csv")).and.not.include("StartQueryExecution");
    expect(started()).to.deep.equal([]);
  });

  it("a gzip body that fails mid-stream: retryable, naming the file, no hang and no uncaught error; the body destroyed", async function () {
    this.timeout(5_000);
    upload("a.csv.gz", gzipSync(csv(sources)));
    const bodies: Readable[] = [];
    s3Mock.on(GetObjectCommand).callsFake(async () => {
      // The gzip header only (no line yet), then the connection drops.
      const body = new Readable({ read() {} });
      body.push(objects.get(`${BUCKET}/${prefix}a.csv.gz`)!.subarray(0, 10));
      setTimeout(() => body.destroy(reset()), 5);
      bodies.push(body);
      return { Body: body };
    });
    const error = await startError();
    expect(error).to.be.instanceOf(JobInputReadError).and.include({ retryable: true });
    expect(error.message).to.equal(`${uri("a.csv.gz")}: cannot read the file's header: Error: read ECONNRESET`);
    expect(bodies.every((b) => b.destroyed)).to.equal(true);
  });

  it("a gzip file read only up to its first line: the rest of the body is destroyed, not drained", async () => {
    upload("a.csv.gz", gzipSync(csv(sources) + "1,2\n".repeat(200_000)));
    const bodies: Readable[] = [];
    s3Mock.on(GetObjectCommand).callsFake(async () => {
      const bytes = objects.get(`${BUCKET}/${prefix}a.csv.gz`)!;
      // In 1 KiB chunks, as a socket delivers them.
      const body = Readable.from(Array.from({ length: Math.ceil(bytes.length / 1024) }, (_, i) => bytes.subarray(i * 1024, (i + 1) * 1024)));
      bodies.push(body);
      return { Body: body };
    });
    expect(await start()).to.equal(`q-${TASK}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(bodies.map((b) => b.destroyed)).to.deep.equal([true]);
  });

  it("a corrupt gzip file is the input's fault: refused, naming the file", async () => {
    const packed = gzipSync(csv(sources));
    upload("bad.csv.gz", Buffer.concat([packed.subarray(0, 10), Buffer.alloc(64, 0xff)]));
    const error = await startError();
    expect(error).to.be.instanceOf(JobInputError);
    expect(error.message).to.match(new RegExp(`^${uri("bad.csv.gz").replace(/[.]/g, "\\.")}: cannot read the CSV file \\(not valid gzip data`));
    const failure = await taskFailure();
    expect(failure.error).to.equal(RUNNER_ERRORS.jobFailed);
    expect(JSON.parse(failure.cause!)).to.include({ state: "INPUT_REFUSED" });
  });

  it("a file deleted (NoSuchKey) or shrunk (416 InvalidRange) since the listing: retryable, naming the file; access denied: permanent, naming it", async () => {
    upload("a.csv", csv(sources));
    upload("b.csv", csv(sources));
    const answers: Array<[Error, boolean]> = [
      [new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } }), true],
      [new S3ServiceException({ name: "InvalidRange", $fault: "client", message: "The requested range is not satisfiable", $metadata: { httpStatusCode: 416 } }), true],
      [new S3ServiceException({ name: "AccessDenied", $fault: "client", message: "Access Denied", $metadata: { httpStatusCode: 403 } }), false],
    ];
    for (const [answer, retryable] of answers) {
      s3Mock.on(GetObjectCommand, { Key: `${prefix}b.csv` }).rejects(answer);
      const error = await startError();
      expect(error, answer.name).to.be.instanceOf(JobInputReadError).and.include({ retryable });
      expect(error.message).to.equal(`${uri("b.csv")}: cannot read the file's header: ${answer.name}: ${answer.message}`);
      athenaMock.resetHistory();
      const failure = await taskFailure();
      expect(failure.error).to.equal(retryable ? RUNNER_ERRORS.retryable : RUNNER_ERRORS.start);
      expect(failure.cause).to.equal(`Athena job ${JOB_NAME} not started: ${error.message}`);
    }
    expect(started()).to.deep.equal([]);
  });

  it("follows a listing's continuation tokens and asks for url-encoded keys (decoded: a space, '+', a character XML cannot carry)", async () => {
    const names = ["a b.csv", "c+d.csv", "e\u0001.csv", "f.csv"];
    for (const name of names) upload(name, csv(sources));
    s3Mock.on(ListObjectsV2Command).callsFake(async ({ Bucket, Prefix, ContinuationToken, EncodingType }) => {
      const keys = [...objects.keys()].filter((k) => k.startsWith(`${Bucket}/${Prefix}`)).map((k) => k.slice(Bucket.length + 1));
      const at = Number(ContinuationToken ?? 0);
      const encode = (key: string) => (EncodingType === "url" ? encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+") : key);
      const page = keys.slice(at, at + 1).map((k) => ({ Key: encode(k), Size: objects.get(`${Bucket}/${k}`)!.length }));
      const more = at + 1 < keys.length;
      return { Contents: page, EncodingType, IsTruncated: more, NextContinuationToken: more ? String(at + 1) : undefined };
    });
    await start();
    // The raw folder's listing (a start also looks for the statements it kept in staging).
    const lists = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input).filter((l) => l.Prefix === prefix);
    expect(lists.map((l) => l.ContinuationToken)).to.deep.equal([undefined, "1", "2", "3"]);
    expect(lists.every((l) => l.EncodingType === "url")).to.equal(true);
    expect(s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).to.have.members(names.map((n) => `${prefix}${n}`));
    for (const name of names) expect(started()[0]).to.include(`'${uri(name)}'`);
  });

  it("a header over 64 KiB is read by a second ranged read; one over the 1 MiB limit is refused, plain or gzip, naming the file", async () => {
    // Padding inside the header line: names are matched trimmed.
    const padded = (bytes: number) => csv([`${sources[0]}${" ".repeat(bytes)}`, ...sources.slice(1)]);
    upload("long.csv", padded(70 * 1024));
    expect(await start()).to.equal(`q-${TASK}`);
    const size = objects.get(`${BUCKET}/${prefix}long.csv`)!.length;
    expect(getsOf("long.csv").map((c) => c.args[0].input.Range)).to.deep.equal(["bytes=0-65535", `bytes=0-${size - 1}`]);
    athenaMock.resetHistory();
    objects.clear();
    upload("huge.csv", padded(1 << 20));
    expect((await startError()).message).to.equal(`${uri("huge.csv")}: malformed CSV header: the header is longer than 1048576 bytes`);
    objects.clear();
    upload("huge.csv.gz", gzipSync(padded(1 << 20)));
    expect((await startError()).message).to.equal(`${uri("huge.csv.gz")}: malformed CSV header: the header is longer than 1048576 bytes`);
    expect(started()).to.deep.equal([]);
  });

  it("reports the refusal of the first file in order whatever the timing, and starts no read after a failure", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `f${String(i).padStart(3, "0")}.csv`);
    for (const name of names) upload(name, csv(sources));
    const twice = [...sources, sources[0]];
    upload(names[5], csv(twice));
    upload(names[30], csv(twice));
    const answer = s3Mock.commandCalls(GetObjectCommand).length; // none yet
    s3Mock.on(GetObjectCommand).callsFake(async ({ Bucket, Key, Range }) => {
      // The first bad file answers last: the later one fails first in time.
      if (Key === `${prefix}${names[5]}`) await new Promise((resolve) => setTimeout(resolve, 50));
      const [, from, to] = /bytes=(\d+)-(\d+)/.exec(Range!)!.map(Number);
      const bytes = objects.get(`${Bucket}/${Key}`)!.subarray(from, to + 1);
      return { Body: Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }) };
    });
    const error = await startError();
    expect(error).to.be.instanceOf(JobInputError);
    expect(error.message).to.include(uri(names[5])).and.not.include(uri(names[30]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Reads stop once file 30 failed: at most the workers' reads in flight beyond it.
    expect(s3Mock.commandCalls(GetObjectCommand).length - answer).to.be.within(31, 31 + 16);
  });

  it("stops at its deadline (by default half the stale-claim window) with a retryable error saying how many files were checked", async () => {
    expect(HEADER_CHECK_MS).to.equal(STALE_CLAIM_MS / 2);
    const names = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, "0")}.csv`);
    for (const name of names) upload(name, csv(sources));
    let clock = 0;
    const answer = s3Mock.commandCalls(GetObjectCommand);
    s3Mock.on(GetObjectCommand).callsFake(async ({ Bucket, Key }) => {
      clock += 1_000; // each read takes a second
      const bytes = objects.get(`${Bucket}/${Key}`)!;
      return { Body: Object.assign(Readable.from([bytes]), { transformToByteArray: async () => new Uint8Array(bytes) }) };
    });
    const error = (await checkRawInputs(s3, raws, { deadline: 20_000, now: () => clock }).catch((e: Error) => e)) as Error;
    expect(error).to.be.instanceOf(JobInputReadError).and.include({ retryable: true });
    const [, checked] = /: (\d+) of 40 files checked; /.exec(error.message) ?? [];
    expect(Number(checked)).to.be.within(20, 36);
    expect(s3Mock.commandCalls(GetObjectCommand).length - answer.length).to.be.below(40);
    expect(error.message).to.match(/^the header check of the job's raw input files reached the start's deadline in the Lambda invocation: /);
    // The invocation's end says nothing about the files: no advice to merge them.
    expect(error.message).to.match(/; the invocation's time ran out, a retry checks them again$/).and.not.include("merge");
    // An invocation deadline later than the check's own limit: the limit still ends the check.
    clock = 0;
    const limited = (await checkRawInputs(s3, raws, { deadline: 10 * HEADER_CHECK_MS, now: () => clock * (HEADER_CHECK_MS / 20_000) }).catch((e: Error) => e)) as Error;
    expect(limited).to.be.instanceOf(JobInputReadError);
    expect(limited.message).to.match(new RegExp(`reached its limit of ${HEADER_CHECK_MS / 1000} s: \\d+ of 40 files checked; merge the files into fewer parts if this repeats$`));
    clock = 0;
    const listing = s3Mock.commandCalls(ListObjectsV2Command).length;
    s3Mock.on(ListObjectsV2Command).callsFake(async () => {
      clock += HEADER_CHECK_FLOOR_MS; // the listing outlasts the time left, then is cut off
      throw new Error("aborted");
    });
    const listedOnly = (await checkRawInputs(s3, raws, { deadline: HEADER_CHECK_FLOOR_MS, now: () => clock }).catch((e: Error) => e)) as Error;
    expect(listedOnly.message).to.include("0 of 0 files checked (the listing unfinished)");
    expect(s3Mock.commandCalls(ListObjectsV2Command).length - listing).to.equal(1);
  });

  it(`with less than ${HEADER_CHECK_FLOOR_MS / 1000} s before the start's deadline, the check is not begun (StartDeferredError): nothing listed or read`, async () => {
    upload("f00.csv", csv(sources));
    for (const left of [HEADER_CHECK_FLOOR_MS - 1, 0, -3_000]) {
      const error = (await checkRawInputs(s3, raws, { deadline: 1_000_000 + left, now: () => 1_000_000 }).catch((e: Error) => e)) as Error;
      expect(error, `${left} ms left`).to.be.instanceOf(StartDeferredError);
      expect(error.message).to.include(`under the header check's floor of ${HEADER_CHECK_FLOOR_MS / 1000} s`);
    }
    expect(s3Mock.commandCalls(ListObjectsV2Command)).to.have.length(0);
    expect(s3Mock.commandCalls(GetObjectCommand)).to.have.length(0);
    expect(await checkRawInputs(s3, raws, { deadline: 1_000_000 + HEADER_CHECK_FLOOR_MS, now: () => 1_000_000 })).to.have.property(raws[0].table);
  });

  /** startRun of the Athena job, in an invocation with `remainingMs` left (none: no Lambda context). */
  const startInInvocation = async (remainingMs?: () => number) => {
    const h = runnerHarness();
    const deps = { ...h.deps, engines: engineRegistry({ [JOB_NAME]: "athena" }, { athena: () => engine }), remainingMs };
    const item = { jobName: JOB_NAME, taskId: TASK, taskToken: "token", status: "STARTING" as const, taskInput: "{}", claimedAt: new Date().toISOString() };
    const summary = emptySummary();
    await startRun(deps, item, { JobName: JOB_NAME }, summary);
    return { failure: h.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)[0], summary };
  };

  it("a start too late in the Lambda invocation for its header check is not begun: the task is not failed (no ASL retry spent), its claim left for the check cycle to restart", async () => {
    const names = Array.from({ length: 64 }, (_, i) => `f${String(i).padStart(2, "0")}.csv`);
    for (const name of names) upload(name, csv(sources));
    // Less than the floor left beyond the margin (the invocation's deadline at or before now included).
    for (const left of [HEADER_CHECK_FLOOR_MS - 1_000, 60, -5_000]) {
      const late = await startInInvocation(() => START_OUTCOME_MARGIN_MS + left);
      expect(late.failure, `${left} ms left`).to.equal(undefined);
      expect(late.summary).to.include({ tasksStarted: 0, errors: 0 });
    }
    expect(started()).to.deep.equal([]);
    expect(s3Mock.commandCalls(GetObjectCommand)).to.have.length(0);
    // Without a Lambda context (remaining time unknown, or infinite as the handler reports it then): checked and started.
    for (const remainingMs of [undefined, () => Number.POSITIVE_INFINITY]) {
      athenaMock.resetHistory();
      const free = await startInInvocation(remainingMs);
      expect(free.failure).to.equal(undefined);
      expect(free.summary.tasksStarted).to.equal(1);
      expect(started()).to.have.length(1);
      objects.delete(`${BUCKET}/${parseS3Uri(statementsRunUri(spec.stagingUri, TASK)).key}`);
    }
    // Plenty of time left: the same.
    athenaMock.resetHistory();
    expect((await startInInvocation(() => 300_000)).summary.tasksStarted).to.equal(1);
  });
});
