import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GetActivityTaskCommand, SFNClient } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, loadConfig, PROJECT_ROOT, resourceNames, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { writeDatasetSamples } from "../../local/dataset-samples";
import { startInputCopies, type InputCopies, type PreparedObject } from "../../local/input-copies";
import { checkedWorkflow, finalJobs, InputError, outputSubfolders, runLocalWorkflow, startLocalServices, type ProgressEvent, type RuntimeOptions } from "../../local/runtime";
import { KICKS } from "../../core/kicks";
import { kickSource } from "../../core/topology";
import { LOCK_FILE, MANIFEST_FILE } from "../../local/output-folder";
import { readParquet } from "../../local/parquet";
import { folderSnapshot } from "../folder-snapshot";
import { listening } from "../listening";
import { jobStateName } from "../support/asl-states";
import { workflowShape } from "../support/workflow";

const config = loadConfig();
const shape = workflowShape(config);
const names = resourceNames(config);
/** The jobs that read `job`'s output. */
const readersOf = (job: string) => shape.jobs.filter((id) => config.jobs[id].inputs.some((i) => i.job === job));
/** The job whose failure the tests inject: the join when there is one (it runs last), else the last job. */
const lastJob = shape.joinJobs[0] ?? shape.jobs[shape.jobs.length - 1];
/** A job that another job reads, when there is one: its failure leaves its readers unrun. */
const upstreamJob = shape.datasetJobs.find((id) => readersOf(id).length > 0) ?? shape.datasetJobs[0];
const [firstDataset] = shape.datasets;
const lastDataset = shape.datasets[shape.datasets.length - 1];


describe("local/runtime", () => {
  let dir: string;
  let inputs: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-runtime-test-"));
    inputs = await writeDatasetSamples(config, join(dir, "data"), undefined, { salesRows: 3000, days: 400 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function run(options: Partial<RuntimeOptions> = {}) {
    const events: ProgressEvent[] = [];
    const report = await runLocalWorkflow({
      config,
      inputs,
      outDir: join(dir, "out"),
      glueTransitionMs: 20,
      timeoutMs: 150_000, // only a hang: the schedule-only run was measured near 30 s at load 13-16 (below mocha's 180 s)
      onProgress: (e) => events.push(e),
      ...options,
    });
    const endpoints = Object.values((events.find((e) => e.type === "services") as Extract<ProgressEvent, { type: "services" }> | undefined)?.endpoints ?? {});
    const triggers = events.filter((e): e is Extract<ProgressEvent, { type: "invocation" }> => e.type === "invocation").map((e) => `${e.functionName}:${e.trigger}`);
    return { report, events, endpoints, triggers };
  }

  /**
   * One event-driven run that succeeds (no fallback schedule), into its own folder: started by the first test that
   * reads it, then shared by the tests that only read its result (each still starts it when run alone).
   */
  let succeeded: Promise<Awaited<ReturnType<typeof run>> & { sfnEndpointBefore: string | undefined }> | undefined;
  const succeededRun = () =>
    (succeeded ??= (async () => {
      const sfnEndpointBefore = process.env.AWS_ENDPOINT_URL_SFN;
      return { ...(await run({ fallbackPeriodMs: 3_600_000, outDir: join(dir, "succeeded") })), sfnEndpointBefore };
    })());

  /**
   * One run that uploads before the start, into a folder holding a file of another kind and the lock of a run that is
   * gone: shared by the three tests that read it (each starts it when run alone).
   */
  let prepared: Promise<Awaited<ReturnType<typeof run>> & { outDir: string }> | undefined;
  const preparedRun = () =>
    (prepared ??= (async () => {
      const outDir = join(dir, "prepared");
      await mkdir(outDir, { recursive: true });
      await writeFile(join(outDir, "notes.txt"), "notes");
      // A crashed run's lock: its pid is gone.
      const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
      await writeFile(join(outDir, LOCK_FILE), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), startedAt: "2026-12-01T00:00:00.000Z" }));
      return { outDir, ...(await run({ outDir, uploadBeforeStart: true })) };
    })());

  /**
   * One run that fails the last job, moved to EMR Serverless as one configuration line does, in the folder of the
   * succeeded run (snapshotted before it starts): shared by the two tests that read it (each starts it when run alone).
   */
  let emrFailed: Promise<Awaited<ReturnType<typeof run>> & { first: Awaited<ReturnType<typeof succeededRun>>; before: Record<string, string> }> | undefined;
  const emrFailedRun = () =>
    (emrFailed ??= (async () => {
      const first = await succeededRun();
      expect(first.report.status, first.report.error).to.equal("SUCCEEDED");
      const before = await folderSnapshot(first.report.output.dir);
      const { workerType: _w, numberOfWorkers: _n, ...job } = config.jobs[lastJob];
      const emrConfig: EtlConfig = { ...config, jobs: { ...config.jobs, [lastJob]: { ...job, engine: "emr-serverless" } } };
      return { first, before, ...(await run({ config: emrConfig, outDir: first.report.output.dir, failJobs: [lastJob] })) };
    })());

  it("takes every job no other job reads as a final job; each gets its own subfolder of the output only when there are several", () => {
    expect(finalJobs(config)).to.deep.equal(shape.finalJobs);
    const dataset = config.jobs[shape.datasetJobs[0]];
    const twoSinks = { ...config, jobs: { A: dataset, B: dataset } };
    expect(finalJobs(twoSinks)).to.deep.equal(["A", "B"]);
    expect(outputSubfolders(twoSinks)).to.deep.equal({ A: "A", B: "B" });
    const oneSink = { ...config, jobs: { A: dataset, B: { ...dataset, inputs: [{ name: "a", job: "A" }] } } };
    expect(finalJobs(oneSink)).to.deep.equal(["B"]);
    expect(outputSubfolders(oneSink)).to.deep.equal({ B: "" });
  });

  it("reports every job's counts (rows read and dropped per input, rows written) on every engine, in the report and its progress lines", async () => {
    const { report, events } = await succeededRun();
    expect(report.status, report.error).to.equal("SUCCEEDED");
    for (const job of report.jobs) {
      const id = Object.keys(config.jobs).find((j) => `${config.project}-${config.environment}-${j}` === job.jobName)!;
      const inputs = config.jobs[id].inputs.map((i) => i.name).sort();
      expect(Object.keys(job.rowsRead ?? {}).sort(), `${job.jobName} (${job.engine}) rows read`).to.deep.equal(inputs);
      expect(job.rowsWritten, `${job.jobName} (${job.engine}) rows written`).to.be.a("number").and.above(0);
      const csvInputs = config.jobs[id].inputs.filter((i) => i.dataset !== undefined).map((i) => i.name);
      expect(Object.keys(job.droppedRows ?? {}), `${job.jobName} (${job.engine}) rows dropped`).to.include.members(csvInputs);
      const lines = events.filter((e): e is Extract<ProgressEvent, { type: "job" }> => e.type === "job" && e.runId === job.runId && e.state === "SUCCEEDED");
      expect(lines, `${job.jobName}: one SUCCEEDED progress line`).to.have.length(1);
      expect(lines[0]).to.deep.include({ rowsRead: job.rowsRead, rowsWritten: job.rowsWritten });
    }
  });

  it("runs event-driven without the fallback schedule, and closes every server and restores the environment", async () => {
    const { report, endpoints, triggers, sfnEndpointBefore } = await succeededRun();
    expect(report.status, report.error).to.equal("SUCCEEDED");
    expect(report.jobs.map((j) => [j.jobName, j.state]).sort()).to.deep.equal(shape.jobs.map((id) => [names.glueJob(id), "SUCCEEDED"]).sort());
    expect(report.output.rows).to.be.greaterThan(0);
    // The result's Parquet files and the manifest that lists them (output-folder.ts), nothing else.
    expect((await readdir(report.output.dir)).sort()).to.deep.equal([MANIFEST_FILE, ...report.output.files].sort());
    expect(report.output.files.length).to.be.greaterThan(0);
    expect(report.output.files.every((f) => f.endsWith(".parquet"))).to.equal(true);
    expect(report.output.written).to.equal(true);
    expect(triggers.some((t) => t.endsWith(":Scheduled Event"))).to.equal(false);
    // The workflow's RUNNING status change wakes both functions; the functions' own RunnerTaskScheduled wakes the runner.
    expect(triggers).to.include.members([
      `${names.dataArrivalFunction}:Step Functions Execution Status Change`,
      `${names.runnerFunction}:Step Functions Execution Status Change`,
      `${names.runnerFunction}:RunnerTaskScheduled`,
      `${names.dataArrivalFunction}:S3 notification`,
    ]);
    expect(triggers.some((t) => t.endsWith(":WaitTaskScheduled")), "no kick in the workflow").to.equal(false);
    expect(report.states.every((s) => s.exitedAt !== null)).to.equal(true);
    expect(report.notifications).to.deep.equal([]);
    // S3, DynamoDB, Step Functions, EventBridge and one service per engine in use.
    expect(endpoints).to.have.length(4 + new Set(Object.values(config.jobs).map((j) => j.engine).concat("glue")).size);
    for (const endpoint of endpoints) expect(await listening(endpoint), endpoint).to.equal(false);
    // Each run is reported with its job's engine and that engine's run id.
    for (const job of report.jobs) {
      const id = Object.keys(config.jobs).find((j) => `${config.project}-${config.environment}-${j}` === job.jobName)!;
      expect(job.engine, job.jobName).to.equal(config.jobs[id].engine);
      expect(job.runId, job.jobName).to.be.a("string").and.not.equal("");
    }
    const stateChanges = { glue: "Glue Job State Change", athena: "Athena Query State Change", "emr-serverless": "EMR Serverless Job Run State Change" } as const;
    for (const engine of new Set(Object.values(config.jobs).map((j) => j.engine))) expect(triggers).to.include(`${names.runnerFunction}:${stateChanges[engine]}`);
    expect(process.env.AWS_ENDPOINT_URL_SFN).to.equal(sfnEndpointBefore);
  });

  it("still finishes on the fallback schedule alone (schedule-only mode)", async () => {
    const { report, triggers } = await run({ eventDriven: false, fallbackPeriodMs: 250, longPollMs: 200 });
    expect(report.status, report.error).to.equal("SUCCEEDED");
    expect(new Set(triggers.map((t) => t.split(":")[1]))).to.deep.equal(new Set(["Scheduled Event", "S3 notification"]));
  });

  it("uploads before the start with dataSince in the input, and the run still succeeds", async () => {
    const { report, events } = await preparedRun();
    expect(report.status, report.error).to.equal("SUCCEEDED");
    const order = events.filter((e) => e.type === "upload" || (e.type === "execution" && e.status === "RUNNING")).map((e) => e.type);
    expect(order).to.deep.equal([...shape.datasets.map(() => "upload"), "execution"]);
  });

  it("stores the inputs from the copies made ahead that it is given (inputCopies), closes them, and reads the same rows as a run without", async () => {
    const copies = startInputCopies(Object.values(inputs), { minBytes: 0 });
    const taken: Array<PreparedObject | undefined> = [];
    const spy: InputCopies = { take: async (file) => (taken[taken.push(await copies.take(file)) - 1]), close: () => copies.close() };
    const [{ report }, shared] = [await run({ inputCopies: spy, outDir: join(dir, "copies") }), await succeededRun()];
    expect(report.status, report.error).to.equal("SUCCEEDED");
    expect(taken).to.have.length(shape.datasets.length);
    expect(taken.every((copy) => copy !== undefined)).to.equal(true);
    // Renamed into the store, then the rest removed by close.
    for (const copy of taken) expect(existsSync(dirname(copy!.path)), copy!.path).to.equal(false);
    const counts = (r: typeof report) => r.jobs.map((j) => [j.jobName, j.rowsRead, j.droppedRows, j.rowsWritten]).sort();
    expect(counts(report)).to.deep.equal(counts(shared.report));
    expect(report.output.rows).to.equal(shared.report.output.rows);
  });

  it("a failed job fails the execution at that job: FAILED report with the notification and no output", async () => {
    const { report } = await run({ failJobs: [upstreamJob], outDir: join(dir, "failed-out") });
    expect(report.status).to.equal("FAILED");
    expect(report.error).to.contain("JobFailedError");
    expect(report.jobs.find((j) => j.jobName === names.glueJob(upstreamJob))!.state).to.equal("FAILED");
    for (const reader of readersOf(upstreamJob)) expect(report.jobs.some((j) => j.jobName === names.glueJob(reader)), reader).to.equal(false);
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.contain(names.glueJob(upstreamJob));
    expect(report.notifications[0].message).to.match(/^Execution arn:aws:states:\S+ ended FAILED with JobFailedError: /);
    expect(report.states.find((s) => s.name === jobStateName(upstreamJob))!.status).to.equal("FAILED");
    expect(report.output).to.deep.equal({ dir: join(dir, "failed-out"), files: [], rows: 0, written: false });
    expect(await readdir(report.output.dir)).to.deep.equal([]);
  });

  it("a failed run leaves the previous result in place, and the report says what is on disk", async () => {
    const { first, before, report } = await emrFailedRun();
    const outDir = first.report.output.dir;
    expect(report.status).to.equal("FAILED");
    expect(await folderSnapshot(outDir)).to.deep.equal(before);
    expect(report.output).to.deep.equal({ dir: outDir, files: first.report.output.files, rows: first.report.output.rows, written: false });
  });

  it("refuses an output folder holding Parquet files it did not write, and leaves them and every other file alone", async () => {
    const outDir = join(dir, "users");
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, "mine.parquet"), "the user's data");
    await writeFile(join(outDir, "notes.txt"), "notes");
    const error = await runLocalWorkflow({ config, inputs, outDir }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.contain(outDir).and.contain("mine.parquet").and.contain("did not write");
    expect(await folderSnapshot(outDir)).to.deep.equal({ "mine.parquet": "the user's data", "notes.txt": "notes" });

    // Files of another kind do not matter and are never touched: a run into a folder holding one.
    const prepared = await preparedRun();
    expect(prepared.report.status, prepared.report.error).to.equal("SUCCEEDED");
    expect((await folderSnapshot(prepared.outDir))["notes.txt"]).to.equal("notes");
  });

  it("refuses a second run on an output folder in use, and takes over the lock of a run that is gone", async () => {
    const outDir = join(dir, "locked");
    await mkdir(outDir, { recursive: true });
    // A live process holds it (this one's parent, which outlives the test).
    await writeFile(join(outDir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: "2026-12-01T00:00:00.000Z" }));
    const error = await runLocalWorkflow({ config, inputs, outDir }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.contain(outDir).and.contain("another run").and.contain(`pid ${process.ppid}`);
    // A crashed run's lock (its pid is gone) in the folder of a run: taken over.
    const prepared = await preparedRun();
    expect(prepared.report.status, prepared.report.error).to.equal("SUCCEEDED");
    expect(await readdir(prepared.outDir)).to.not.include(LOCK_FILE);
  });

  it("fails a job on EMR Serverless by --fail-job, delivering its state changes to the runner as the rule would", async () => {
    const { report, triggers } = await emrFailedRun();
    expect(report.status).to.equal("FAILED");
    const failed = report.jobs.find((j) => j.jobName === names.glueJob(lastJob))!;
    expect(failed).to.deep.include({ engine: "emr-serverless", state: "FAILED" });
    expect(failed.errorMessage).to.contain(`Injected failure: job ${names.glueJob(lastJob)}`);
    expect(triggers).to.include(`${names.runnerFunction}:EMR Serverless Job Run State Change`);
    expect(report.notifications[0].message).to.contain("JobFailedError").and.contain(names.glueJob(lastJob));
  });

  it("gives up at its time limit, and on an abort, closing everything", async () => {
    const timedOut = await run({ timeoutMs: 500, uploadDelaysMs: { [firstDataset]: 60_000 } });
    expect(timedOut.report.status).to.equal("FAILED");
    expect(timedOut.report.error).to.contain("did not finish within 500 ms");
    for (const endpoint of timedOut.endpoints) expect(await listening(endpoint)).to.equal(false);

    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const started = Date.now();
    const aborted = await run({ signal: abort.signal, uploadDelaysMs: { [lastDataset]: 60_000 } });
    expect(aborted.report.status).to.equal("FAILED");
    expect(aborted.report.error).to.contain("interrupted");
    expect(Date.now() - started).to.be.below(30_000); // the abort, not the upload 60 s later
  });

  it("an interrupt while the inputs and the output folder are checked ends the run before any server starts, leaving no lock", async () => {
    const abort = new AbortController();
    abort.abort();
    const events: ProgressEvent[] = [];
    const outDir = join(dir, "interrupted-early");
    const error = await runLocalWorkflow({ config, inputs, outDir, signal: abort.signal, onProgress: (e) => events.push(e) }).catch((e: Error) => e);
    expect((error as Error).message).to.contain("interrupted while");
    expect(events).to.deep.equal([]);
    expect(await readdir(outDir).catch(() => [])).to.deep.equal([]);
  });

  it("shuts down with invocations in flight: Step Functions answers them until they settle, then nothing listens", async () => {
    const events: ProgressEvent[] = [];
    const cleanups: Array<() => Promise<void>> = [];
    const services = await startLocalServices({
      config,
      stateMachine: await checkedWorkflow(config, config.region),
      bucket: `${config.dataLake.bucketPrefix}local`,
      eventDriven: true,
      fallbackPeriodMs: 3_600_000,
      progress: (e) => events.push(e as ProgressEvent),
      cleanups,
    });
    const endpoints = Object.values((events.find((e) => e.type === "services") as Extract<ProgressEvent, { type: "services" }>).endpoints);
    // The invocation's long-poll is held until Step Functions has ended its work (the shutdown under way): it reaches
    // Step Functions only then, whatever the machine's speed. (The handler's SDK is this process's, not reloaded.)
    let shutdownBegun!: () => void;
    const shutdown = new Promise<void>((resolve) => (shutdownBegun = resolve));
    const endWork = services.sfn.endWork.bind(services.sfn);
    services.sfn.endWork = async () => {
      await endWork();
      shutdownBegun();
    };
    const send = SFNClient.prototype.send;
    let heldPolls = 0;
    SFNClient.prototype.send = async function (this: SFNClient, ...args: Parameters<SFNClient["send"]>) {
      if (args[0] instanceof GetActivityTaskCommand) {
        heldPolls++;
        await shutdown;
      }
      return (send as (...a: unknown[]) => unknown).apply(this, args);
    } as SFNClient["send"];
    try {
      // The runner's rule takes it: the invocation starts now.
      const kick = { version: "0", id: "kick-1", "detail-type": KICKS.runner, source: kickSource(names), account: "000000000000", time: new Date().toISOString(), region: config.region, resources: [], detail: {} };
      expect(services.bus.put(kick)).to.have.length(1);
      expect(events.filter((e) => e.type === "invocation")).to.have.length(1);
      const started = Date.now();
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      expect(heldPolls, "the invocation polled, after the shutdown began").to.be.at.least(1);
      // Only a hang: the shutdown gives invocations 15 s to settle (settleWithin), then closes regardless.
      expect(Date.now() - started).to.be.below(30_000);
    } finally {
      SFNClient.prototype.send = send;
    }
    // Before: Step Functions closed first, and the poll got ECONNREFUSED ("... failed on RunnerTaskScheduled").
    expect(events.filter((e) => e.type === "invocation-error")).to.deep.equal([]);
    for (const endpoint of endpoints) expect(await listening(endpoint), endpoint).to.equal(false);
  });

  it("rejects a malformed header before starting any server, naming the file and the missing columns", async () => {
    const bad = join(dir, "bad.csv");
    // The first column of the dataset's schema alone: the others are missing.
    const { columns } = readSchemaFile(schemaPath(config, config.datasets[firstDataset].schema));
    expect(columns.length, "a schema with more than one column").to.be.greaterThan(1);
    await writeFile(bad, `${columns[0].source}\nx\n`);
    const events: ProgressEvent[] = [];
    const error = await runLocalWorkflow({ config, inputs: { ...inputs, [firstDataset]: bad }, outDir: join(dir, "out"), onProgress: (e) => events.push(e) }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.contain(bad).and.contain(`"${columns[1].source}"`).and.contain(`"${columns[columns.length - 1].source}"`);
    expect(events).to.deep.equal([]);
  });

  it("rejects an output folder that is a file, naming it", async () => {
    const file = join(dir, "not-a-folder");
    await writeFile(file, "x");
    const error = await runLocalWorkflow({ config, inputs, outDir: file }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.contain(file);
  });

  it("rejects an input for an unknown dataset", async () => {
    const error = await runLocalWorkflow({ config, inputs: { ...inputs, no_such_dataset: inputs[firstDataset] } as never, outDir: join(dir, "out") }).catch((e: Error) => e);
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.contain("unknown dataset no_such_dataset");
  });

  describe("with several final jobs (the three-datasets fixture)", () => {
    const fixture = loadConfig(join(PROJECT_ROOT, "test", "fixtures", "three-datasets", "etl.config.json"));
    const finals = workflowShape(fixture).finalJobs;
    /** A configuration with one final job: the active one, or the shipped example. */
    const single = [config, loadConfig(DEFAULT_CONFIG_FILE)].find((c) => workflowShape(c).finalJobs.length === 1)!;
    let fixtureInputs: Record<string, string>;
    let outDir: string;

    before(async () => {
      expect(finals.length, "the fixture has more than one final job").to.be.greaterThan(1);
      expect(single, "a configuration with one final job").to.not.equal(undefined);
      fixtureInputs = await writeDatasetSamples(fixture, join(dir, "fixture-data"), undefined, { salesRows: 1000, days: 60 });
      outDir = join(dir, "final-jobs");
    });

    const runFixture = (options: Partial<RuntimeOptions> = {}) => run({ config: fixture, inputs: fixtureInputs, outDir, ...options });
    /** The Parquet files directly in a folder. */
    const parquetIn = async (folder: string) => (await readdir(folder)).filter((f) => f.endsWith(".parquet")).sort();

    it("writes each final job's output to the subfolder named after it, and the report and the manifest describe them", async () => {
      const { report } = await runFixture();
      expect(report.status, report.error).to.equal("SUCCEEDED");
      expect((await readdir(outDir)).sort()).to.deep.equal([MANIFEST_FILE, ...finals].sort());
      expect(Object.keys(report.output.byJob ?? {}).sort()).to.deep.equal([...finals].sort());
      const fixtureNames = resourceNames(fixture);
      let total = 0;
      for (const job of finals) {
        const folder = join(outDir, job);
        const part = report.output.byJob![job];
        const files = await parquetIn(folder);
        expect(files, job).to.not.be.empty;
        expect(await readdir(folder), `${job}: Parquet files only`).to.have.length(files.length);
        const rows = (await readParquet(folder, 0)).rows;
        expect(part).to.deep.equal({ dir: folder, files, rows });
        // The job's own output, whole: as many rows as its run wrote.
        expect(rows, job).to.equal(report.jobs.find((j) => j.jobName === fixtureNames.glueJob(job))!.rowsWritten).and.above(0);
        total += rows;
      }
      const paths = finals.flatMap((job) => report.output.byJob![job].files.map((f) => `${job}/${f}`)).sort();
      expect(report.output).to.deep.include({ dir: outDir, files: paths, rows: total, written: true });
      expect(JSON.parse(await readFile(join(outDir, MANIFEST_FILE), "utf8"))).to.deep.include({ files: paths, rows: total });
    });

    it("a failed run leaves every final job's previous output in place, and the report says what is on disk", async () => {
      const before = Object.fromEntries(await Promise.all(finals.map(async (job) => [job, await folderSnapshot(join(outDir, job))] as const)));
      const previous = JSON.parse(await readFile(join(outDir, MANIFEST_FILE), "utf8"));
      const { report } = await runFixture({ failJobs: [finals[0]] });
      expect(report.status).to.equal("FAILED");
      for (const job of finals) expect(await folderSnapshot(join(outDir, job)), job).to.deep.equal(before[job]);
      expect(report.output).to.deep.include({ dir: outDir, files: previous.files, rows: previous.rows, written: false });
      expect(Object.keys(report.output.byJob ?? {}).sort()).to.deep.equal([...finals].sort());
    });

    it("refuses Parquet files it did not write in a final job's subfolder, and leaves them alone", async () => {
      const users = join(dir, "final-jobs-users");
      await mkdir(join(users, finals[1]), { recursive: true });
      await writeFile(join(users, finals[1], "mine.parquet"), "the user's data");
      const error = await runLocalWorkflow({ config: fixture, inputs: fixtureInputs, outDir: users }).catch((e: Error) => e);
      expect(error).to.be.instanceOf(InputError);
      expect((error as Error).message).to.contain(users).and.contain(`${finals[1]}/mine.parquet`).and.contain("did not write");
      expect(await folderSnapshot(join(users, finals[1]))).to.deep.equal({ "mine.parquet": "the user's data" });
      expect((await readdir(users)).sort()).to.deep.equal([finals[1]]);
    });

    it("the same folder then used with one final job holds that job's files directly, and the subfolders are gone (and back)", async () => {
      const { report } = await run({ config: single, outDir, inputs: single === config ? inputs : undefined });
      expect(report.status, report.error).to.equal("SUCCEEDED");
      expect(report.output.byJob).to.equal(undefined);
      expect((await readdir(outDir)).sort()).to.deep.equal([MANIFEST_FILE, ...report.output.files].sort());
      expect(report.output.files.every((f) => f.endsWith(".parquet") && !f.includes("/"))).to.equal(true);

      const again = await runFixture();
      expect(again.report.status, again.report.error).to.equal("SUCCEEDED");
      expect((await readdir(outDir)).sort()).to.deep.equal([MANIFEST_FILE, ...finals].sort());
    });
  });
});
