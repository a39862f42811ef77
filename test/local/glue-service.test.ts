import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BatchStopJobRunCommand,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
  type JobRun as SdkJobRun,
} from "@aws-sdk/client-glue";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { loadConfig, resourceNames, sqlPath, type EtlConfig, type JobConfig } from "../../core/config";
import { COUNTS_OBJECT, jobQualityLimits } from "../../core/quality";
import { startLocalGlue, type GlueJobStateChangeEvent, type LocalGlueOptions, type LocalGlueServer, type Transformation } from "../../local/glue-service";
import { startLocalS3, type LocalS3 } from "../../local/s3";
import { workflowShape } from "../support/workflow";

const BUCKET = "data-lake-test";
// Every job on Glue, whatever the shipped configuration puts elsewhere: these tests exercise the local Glue.
const shipped = loadConfig();
const baseConfig: EtlConfig = { ...shipped, jobs: Object.fromEntries(Object.entries(shipped.jobs).map(([id, job]) => [id, { ...job, engine: "glue" as const }])) };
const shape = workflowShape(baseConfig);
const names = resourceNames(baseConfig);
/** Where a job's input is read: its dataset's upload prefix, or the output of the job it reads. */
const inputPrefix = (input: JobConfig["inputs"][number]) => (input.dataset !== undefined ? baseConfig.datasets[input.dataset].prefix : baseConfig.jobs[input.job!].output);
// Read from the configuration: a job that reads raw datasets only (the tests upload its inputs), another job
// (itself when it is the only one), and the job reading the most inputs.
const job = shape.jobs.find((id) => baseConfig.jobs[id].inputs.every((i) => i.dataset !== undefined))!;
const other = shape.datasetJobs.find((id) => id !== job) ?? job;
const reader = [...shape.jobs].sort((a, b) => baseConfig.jobs[b].inputs.length - baseConfig.jobs[a].inputs.length)[0];
const [JOB, OTHER, READER] = [job, other, reader].map(names.glueJob);
const RAW = inputPrefix(baseConfig.jobs[job].inputs[0]);
const OTHER_RAW = inputPrefix(baseConfig.jobs[other].inputs.find((i) => i.dataset !== undefined)!);
const OUTPUT = baseConfig.jobs[job].output;

/** Concatenates every input file into one output file, and records what it was asked. */
function recordingTransformation(calls: Array<Parameters<Transformation>[0]>, delayMs = 0): Transformation {
  return async (request) => {
    calls.push(request);
    await new Promise((r) => setTimeout(r, delayMs));
    const parts: string[] = [];
    for (const input of request.inputs) for (const file of (await readdir(input.path)).sort()) parts.push(await readFile(join(input.path, file), "utf8"));
    const file = join(request.outputDir, "part-0.parquet");
    await writeFile(file, parts.join("|"));
    return { rowsWritten: parts.length, rowsRead: {}, droppedRows: {}, files: [file] };
  };
}

describe("local/glue-service", () => {
  let s3: LocalS3;
  let server: LocalGlueServer | undefined;
  let glue: GlueClient;
  let events: GlueJobStateChangeEvent[];
  let states: string[];
  let calls: Array<Parameters<Transformation>[0]>;
  // waitForFinal checks again at each run change (woken by it: no sleep between checks, no count of them).
  const waiters = new Set<() => void>();
  const nextChange = () =>
    new Promise<void>((resolve) => {
      const wake = () => (waiters.delete(wake), resolve());
      waiters.add(wake);
    });
  const recordChange = (run: Readonly<{ JobName: string; JobRunState: string }>) => {
    states.push(`${run.JobName}:${run.JobRunState}`);
    for (const wake of [...waiters]) wake();
  };

  // A fresh bucket per test, so no test sees another's objects.
  beforeEach(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
  });

  async function start(options: Partial<LocalGlueOptions> = {}, config: EtlConfig = baseConfig) {
    events = [];
    states = [];
    calls = [];
    server = await startLocalGlue({
      config,
      bucket: BUCKET,
      s3: s3.client,
      transformation: recordingTransformation(calls),
      transitionMs: 20,
      onJobStateChange: (e) => events.push(e),
      onRunChange: recordChange,
      ...options,
    });
    glue = new GlueClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1 });
  }

  afterEach(async () => {
    glue?.destroy();
    await server?.close();
    server = undefined;
    await s3.close();
  });

  const put = (Key: string, Body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  const keysUnder = async (Prefix: string) => ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key).sort();

  async function waitForFinal(JobName: string, RunId: string): Promise<SdkJobRun> {
    for (;;) {
      const changed = nextChange();
      const { JobRun } = await glue.send(new GetJobRunCommand({ JobName, RunId }));
      if (!["STARTING", "RUNNING", "STOPPING"].includes(JobRun!.JobRunState!)) return JobRun!;
      await changed;
    }
  }

  it("runs STARTING -> RUNNING -> SUCCEEDED, moves data through S3, overwrites the output and emits a state-change event", async () => {
    await start({ transitionMs: 1000 }); // long enough to observe STARTING on a loaded machine
    await put(`${RAW}a.csv`, "A");
    await put(`${RAW}b.csv`, "B");
    const others = baseConfig.jobs[job].inputs.slice(1).map(inputPrefix);
    for (const prefix of others) await put(`${prefix}c.csv`, "C");
    await put(`${OUTPUT}stale.parquet`, "old");
    const before = Date.now();
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: JOB, Arguments: { "--etl_execution": "exec-1" } }));
    expect(JobRunId).to.match(/^jr_[0-9a-f]{64}$/);
    const first = await glue.send(new GetJobRunCommand({ JobName: JOB, RunId: JobRunId }));
    expect(first.JobRun!.JobRunState).to.equal("STARTING");

    const run = await waitForFinal(JOB, JobRunId!);
    expect(run.JobRunState).to.equal("SUCCEEDED");
    expect(run.StartedOn!.getTime()).to.be.within(before - 1000, Date.now());
    expect(run.CompletedOn!.getTime()).to.be.at.least(run.StartedOn!.getTime());
    expect(run.LastModifiedOn!.getTime()).to.equal(run.CompletedOn!.getTime());
    expect(run.ExecutionTime).to.be.a("number");
    expect(run.ErrorMessage).to.equal(undefined);
    expect(states).to.deep.equal([`${JOB}:STARTING`, `${JOB}:RUNNING`, `${JOB}:SUCCEEDED`]);

    // DefaultArguments from stacks/job-arguments.ts, merged with the run's own.
    const sql = baseConfig.jobs[job].script.replace(/\.py$/, ".sql");
    const countsKey = `${baseConfig.dataLake.stagingPrefix}${JOB}/${COUNTS_OBJECT}`;
    expect(run.Arguments).to.include({ "--etl_execution": "exec-1", "--etl_output": `s3://${BUCKET}/${OUTPUT}`, "--etl_sql": sql, "--etl_counts": `s3://${BUCKET}/${countsKey}` });
    expect(calls).to.have.length(1);
    expect(calls[0].inputs.map((i) => [i.name, i.format, i.schema])).to.deep.equal(baseConfig.jobs[job].inputs.map((i) => [i.name, "csv", baseConfig.datasets[i.dataset!].schema]));
    expect(calls[0].sqlFile).to.equal(sqlPath(baseConfig, baseConfig.jobs[job]));
    // The job's data-quality limits reach the engine from --etl_quality, as they reach the Glue script.
    expect(calls[0].quality).to.deep.equal(jobQualityLimits(baseConfig, job));

    // The output folder holds the result only; the counts object is in the job's staging folder, beside it (--etl_counts).
    expect(await keysUnder(OUTPUT)).to.deep.equal([`${OUTPUT}part-0.parquet`]);
    const counts = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: countsKey }));
    expect(JSON.parse(await counts.Body!.transformToString())).to.have.property("rowsWritten").that.is.a("number");
    const body = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${OUTPUT}part-0.parquet` }));
    expect(await body.Body!.transformToString()).to.equal(["A", "B", ...others.map(() => "C")].join("|"));

    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ source: "aws.glue", "detail-type": "Glue Job State Change", region: "us-east-1" });
    expect(events[0].detail).to.deep.equal({ jobName: JOB, severity: "INFO", state: "SUCCEEDED", jobRunId: JobRunId, message: "Job run succeeded" });
  });

  it("lets a run's Arguments override the job's DefaultArguments", async () => {
    await start();
    await put("elsewhere/x.csv", "X");
    const { JobRunId } = await glue.send(
      new StartJobRunCommand({ JobName: JOB, Arguments: { "--etl_inputs": JSON.stringify([{ name: baseConfig.jobs[job].inputs[0].name, path: `s3://${BUCKET}/elsewhere/`, format: "csv" }]) } }),
    );
    expect((await waitForFinal(JOB, JobRunId!)).JobRunState).to.equal("SUCCEEDED");
    expect(calls[0].inputs[0].schema).to.equal(undefined);
  });

  it("describes a job with its DefaultArguments and MaxConcurrentRuns", async () => {
    await start();
    const { Job } = await glue.send(new GetJobCommand({ JobName: READER }));
    expect(Job!.ExecutionProperty!.MaxConcurrentRuns).to.equal(baseConfig.glue.maxConcurrentRuns);
    expect(JSON.parse(Job!.DefaultArguments!["--etl_inputs"]).map((i: { path: string }) => i.path)).to.deep.equal(
      baseConfig.jobs[reader].inputs.map((i) => `s3://${BUCKET}/${inputPrefix(i)}`),
    );
  });

  it("rejects a Timeout of zero or less with InvalidInputException, as Glue", async () => {
    await start({ transformation: recordingTransformation([], 0) });
    for (const Timeout of [0, -5]) {
      const error = await glue.send(new StartJobRunCommand({ JobName: OTHER, Timeout })).catch((e: Error) => e);
      expect((error as Error).name, String(Timeout)).to.equal("InvalidInputException");
      expect((error as Error).message).to.contain("Timeout");
    }
  });

  it("rejects a start beyond MaxConcurrentRuns with ConcurrentRunsExceededException", async () => {
    await start({ transformation: recordingTransformation([], 300) });
    await put(`${OTHER_RAW}m.csv`, "M");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: OTHER }));
    const error = await glue.send(new StartJobRunCommand({ JobName: OTHER })).catch((e: Error) => e);
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).name).to.equal("ConcurrentRunsExceededException");
    expect((error as Error).message).to.contain(OTHER);
    // Another job is not limited by it, and once the run ends a new one may start.
    await waitForFinal(OTHER, JobRunId!);
    const second = await glue.send(new StartJobRunCommand({ JobName: OTHER }));
    expect(second.JobRunId).to.not.equal(JobRunId);
  });

  it("answers EntityNotFoundException for an unknown job or run", async () => {
    await start();
    const unknownJob = await glue.send(new StartJobRunCommand({ JobName: "etl-dev-NOPE" })).catch((e: Error) => e);
    expect((unknownJob as Error).name).to.equal("EntityNotFoundException");
    expect((unknownJob as Error).message).to.contain("etl-dev-NOPE");
    const unknownRun = await glue.send(new GetJobRunCommand({ JobName: JOB, RunId: "jr_missing" })).catch((e: Error) => e);
    expect((unknownRun as Error).name).to.equal("EntityNotFoundException");
  });

  it("ends a run of an injected failure FAILED with an ErrorMessage, writes nothing, and emits an ERROR event", async () => {
    await start({ injectedFailure: (run) => (run.JobName === OTHER ? `Injected failure: job ${OTHER} is in failJobs` : undefined) });
    await put(`${OTHER_RAW}m.csv`, "M");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: OTHER }));
    const run = await waitForFinal(OTHER, JobRunId!);
    expect(run.JobRunState).to.equal("FAILED");
    expect(run.ErrorMessage).to.contain(OTHER);
    expect(calls).to.have.length(0);
    expect(await keysUnder(baseConfig.jobs[other].output)).to.deep.equal([]);
    expect(events.map((e) => [e.detail.state, e.detail.severity, e.detail.message])).to.deep.equal([["FAILED", "ERROR", run.ErrorMessage]]);
  });

  it("asks injectedFailure once per run, as it starts: a job whose first run fails runs the next time (--fail-job-once)", async () => {
    const { datasetJobs, config } = workflowShape(baseConfig);
    const job = datasetJobs[0];
    const jobName = resourceNames(config).glueJob(job);
    const asked: string[] = [];
    await start({
      injectedFailure: (run) => {
        asked.push(run.Id);
        return asked.length === 1 ? `Injected failure: the first run of job ${run.JobName} fails` : undefined;
      },
    });
    for (const input of config.jobs[job].inputs) await put(`${config.datasets[input.dataset!].prefix}a.csv`, "A");
    const first = await glue.send(new StartJobRunCommand({ JobName: jobName }));
    const failed = await waitForFinal(jobName, first.JobRunId!);
    expect([failed.JobRunState, failed.ErrorMessage]).to.deep.equal(["FAILED", `Injected failure: the first run of job ${jobName} fails`]);
    expect(calls).to.have.length(0);
    const second = await glue.send(new StartJobRunCommand({ JobName: jobName }));
    expect((await waitForFinal(jobName, second.JobRunId!)).JobRunState).to.equal("SUCCEEDED");
    expect(calls).to.have.length(1);
    expect(asked).to.deep.equal([first.JobRunId, second.JobRunId]);
  });

  it("fails a run whose input prefix is empty, naming the input", async () => {
    await start();
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: READER, Arguments: { "--etl_output": `s3://${BUCKET}/curated/x/` } }));
    const run = await waitForFinal(READER, JobRunId!);
    expect(run.JobRunState).to.equal("FAILED");
    const [first] = baseConfig.jobs[reader].inputs;
    expect(run.ErrorMessage).to.contain(`input '${first.name}': no objects at s3://data-lake-test/${inputPrefix(first)}`);
  });

  it("fails a run whose transformation throws, with its message", async () => {
    await start({
      transformation: async () => {
        throw new Error("a.csv: missing columns Date");
      },
    });
    await put(`${RAW}a.csv`, "A");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: JOB }));
    const run = await waitForFinal(JOB, JobRunId!);
    expect([run.JobRunState, run.ErrorMessage]).to.deep.equal(["FAILED", "a.csv: missing columns Date"]);
  });

  it("pages GetJobRuns newest first with NextToken, and rejects a bad token", async () => {
    const config = { ...baseConfig, glue: { ...baseConfig.glue, maxConcurrentRuns: 10 } };
    await start({ transformation: recordingTransformation([], 200) }, config);
    await put(`${RAW}a.csv`, "A");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await glue.send(new StartJobRunCommand({ JobName: JOB }))).JobRunId!);
    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await glue.send(new GetJobRunsCommand({ JobName: JOB, MaxResults: 2, NextToken }));
      seen.push(...page.JobRuns!.map((r) => r.Id!));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...ids].reverse());
    const bad = await glue.send(new GetJobRunsCommand({ JobName: JOB, NextToken: "nope" })).catch((e: Error) => e);
    expect((bad as Error).name).to.equal("InvalidInputException");
    for (const id of ids) await waitForFinal(JOB, id);
  });

  it("stops a running run through STOPPING to STOPPED without writing its output", async () => {
    // The transformation is under way (RUNNING) until the test lets it finish, after the stop.
    let entered!: () => void;
    const transforming = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const transformation = recordingTransformation([]);
    await start({ transformation: async (request) => (entered(), await released, transformation(request)) });
    await put(`${RAW}a.csv`, "A");
    await put(`${OUTPUT}keep.parquet`, "previous");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: JOB }));
    await transforming;
    const stop = await glue.send(new BatchStopJobRunCommand({ JobName: JOB, JobRunIds: [JobRunId!, "jr_missing"] }));
    expect(stop.SuccessfulSubmissions).to.deep.equal([{ JobName: JOB, JobRunId }]);
    expect(stop.Errors!.map((e) => [e.JobRunId, e.ErrorDetail!.ErrorCode])).to.deep.equal([["jr_missing", "EntityNotFoundException"]]);
    const run = await waitForFinal(JOB, JobRunId!);
    expect(run.JobRunState).to.equal("STOPPED");
    expect(states).to.deep.equal([`${JOB}:STARTING`, `${JOB}:RUNNING`, `${JOB}:STOPPING`, `${JOB}:STOPPED`]);
    expect(events.map((e) => e.detail.state)).to.deep.equal(["STOPPED"]);
    const again = await glue.send(new BatchStopJobRunCommand({ JobName: JOB, JobRunIds: [JobRunId!] }));
    expect(again.Errors![0].ErrorDetail!.ErrorCode).to.equal("InvalidInputException");
    // The transformation finishes after the stop; once the server has let it settle (close waits), nothing was written.
    release();
    await server!.close();
    server = undefined;
    expect(await keysUnder(OUTPUT)).to.deep.equal([`${OUTPUT}keep.parquet`]);
  });

  it("keeps running a run whose listener throws", async () => {
    await start({
      onJobStateChange: () => {
        throw new Error("listener bug");
      },
    });
    await put(`${RAW}a.csv`, "A");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: JOB }));
    expect((await waitForFinal(JOB, JobRunId!)).JobRunState).to.equal("SUCCEEDED");
  });

  it("ends a run that outlives its timeout TIMEOUT", async () => {
    await start({ transformation: recordingTransformation([], 400), msPerTimeoutMinute: 50 });
    await put(`${RAW}a.csv`, "A");
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: JOB, Timeout: 1 }));
    const run = await waitForFinal(JOB, JobRunId!);
    expect(run.JobRunState).to.equal("TIMEOUT");
    expect(run.ErrorMessage).to.contain("timed out");
    expect(events.map((e) => e.detail.state)).to.deep.equal(["TIMEOUT"]);
  });
});
