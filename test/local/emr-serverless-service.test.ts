import {
  CancelJobRunCommand,
  EMRServerlessClient,
  GetApplicationCommand,
  GetJobRunCommand,
  ListApplicationsCommand,
  ListJobRunsCommand,
  StartJobRunCommand,
  type JobRun,
} from "@aws-sdk/client-emr-serverless";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { COUNTS_OBJECT, parseCountsObject } from "../../core/quality";
import { loadConfig, resourceNames, scriptsDir, sqlPath } from "../../core/config";
import { jobArguments } from "../../core/job-arguments";
import { argumentMap, startLocalEmrServerless, type EmrJobRunStateChangeEvent, type LocalEmrServerlessOptions, type LocalEmrServerlessServer } from "../../local/emr-serverless-service";
import { runTransformation } from "../../local/etl-engine";
import { startLocalS3, type LocalS3 } from "../../local/s3";
import { sampleCsv } from "../support/samples";
import { workflowShape } from "../support/workflow";

const BUCKET = "data-lake-test";
const ROLE = "arn:aws:iam::000000000000:role/etl-test-emr-job";
const config = loadConfig();
// The configuration's job on EMR Serverless that reads one raw dataset, or else any job that does: the local
// EMR Serverless runs whatever job its arguments name.
const readsOneDataset = (id: string) => config.jobs[id].inputs.length === 1 && config.jobs[id].inputs[0].dataset !== undefined;
const job = workflowShape(config).jobsOn("emr-serverless").find(readsOneDataset) ?? workflowShape(config).jobs.find(readsOneDataset)!;
const JOB_NAME = resourceNames(config).glueJob(job);
const [{ name: VIEW, dataset: DATASET }] = config.jobs[job].inputs;
const RAW = config.datasets[DATASET!].prefix;
const SAMPLE = sampleCsv(config, DATASET!, { days: 365 });

describe("local/emr-serverless-service", () => {
  let s3: LocalS3;
  let server: LocalEmrServerlessServer | undefined;
  let emr: EMRServerlessClient;
  let events: EmrJobRunStateChangeEvent[];
  let applicationId: string;
  // waitForFinal checks again at each state change (woken by its event: no sleep between checks, no count of them).
  const waiters = new Set<() => void>();
  const nextChange = () =>
    new Promise<void>((resolve) => {
      const wake = () => (waiters.delete(wake), resolve());
      waiters.add(wake);
    });
  const recordEvent = (e: EmrJobRunStateChangeEvent) => {
    events.push(e);
    for (const wake of [...waiters]) wake();
  };

  beforeEach(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
  });

  async function start(options: Partial<LocalEmrServerlessOptions> = {}) {
    events = [];
    server = await startLocalEmrServerless({ s3: s3.client, scriptsDir: scriptsDir(config), transitionMs: 10, onStateChange: recordEvent, ...options });
    applicationId = server.emr.createApplication("etl-test-spark", "emr-7.9.0").applicationId;
    emr = new EMRServerlessClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1 });
  }

  afterEach(async () => {
    emr?.destroy();
    await server?.close();
    server = undefined;
    await s3.close();
  });

  const put = (Key: string, Body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  const keysUnder = async (Prefix: string) => ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!).sort();
  /** The job's arguments as the job spec carries them (no --etl_output), plus what the runner adds. */
  const runArguments = (output: string, taskId = "t".repeat(64)) => {
    const args = jobArguments(config, job, BUCKET);
    return ["--etl_inputs", args["--etl_inputs"], "--etl_sql", args["--etl_sql"], "--etl_output", output, "--etl_task_id", taskId];
  };
  const startRun = (clientToken: string, output: string, name = `${JOB_NAME}:${clientToken}`) =>
    emr.send(new StartJobRunCommand({ applicationId, clientToken, executionRoleArn: ROLE, name, jobDriver: { sparkSubmit: { entryPoint: `s3://artifacts/glue-scripts/${config.jobs[job].script}`, entryPointArguments: runArguments(output) } } }));

  async function waitForFinal(jobRunId: string): Promise<JobRun> {
    for (;;) {
      const changed = nextChange();
      const { jobRun } = await emr.send(new GetJobRunCommand({ applicationId, jobRunId }));
      if (["SUCCESS", "FAILED", "CANCELLED"].includes(jobRun!.state!)) return jobRun!;
      await changed;
    }
  }

  it("runs the job's transformation from its arguments through the real state sequence, writing Parquet to --etl_output", async () => {
    await start();
    await put(`${RAW}m.csv`, SAMPLE);
    const { jobRunId } = await startRun("token-1", `s3://${BUCKET}/staging/${JOB_NAME}/token-1/`);
    const done = await waitForFinal(jobRunId!);
    expect(done.state, done.stateDetails).to.equal("SUCCESS");
    expect(done.startedAt).to.be.instanceOf(Date);
    expect(done.endedAt).to.be.instanceOf(Date);
    const keys = await keysUnder(`staging/${JOB_NAME}/token-1/`);
    // The Parquet output, and the counts object beside it (read by the runner, never published).
    const parquet = keys.filter((k) => !k.endsWith(COUNTS_OBJECT));
    expect(parquet).to.have.length(1);
    const body = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: parquet[0] }));
    expect(Buffer.from(await body.Body!.transformToByteArray()).subarray(0, 4).toString()).to.equal("PAR1");
    // As many rows as the local engine writes from the same upload.
    const work = await mkdtemp(join(tmpdir(), "emr-test-"));
    try {
      await writeFile(join(work, "upload.csv"), SAMPLE);
      const engine = await runTransformation({ inputs: [{ name: VIEW, path: join(work, "upload.csv"), format: "csv", schema: config.datasets[DATASET!].schema }], sqlFile: sqlPath(config, config.jobs[job]), outputDir: join(work, "out"), scriptsDir: scriptsDir(config) });
      expect(server!.emr.allRuns()[0].rowsWritten).to.equal(engine.rowsWritten).and.be.greaterThan(0);
      const counts = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `staging/${JOB_NAME}/token-1/${COUNTS_OBJECT}` }));
      expect(parseCountsObject(await counts.Body!.transformToString(), COUNTS_OBJECT)).to.deep.include({ rowsWritten: engine.rowsWritten, rowsRead: engine.rowsRead, rowsDropped: engine.droppedRows });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const mine = events.filter((e) => e.detail.jobRunId === jobRunId);
    expect(mine.map((e) => e.detail.state)).to.deep.equal(["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS"]);
    expect(mine.map((e) => e.detail.previousState)).to.deep.equal([null, "SUBMITTED", "PENDING", "SCHEDULED", "RUNNING"]);
    expect(mine.every((e) => e.source === "aws.emr-serverless" && e["detail-type"] === "EMR Serverless Job Run State Change" && e.detail.applicationId === applicationId && e.detail.jobRunName === `${JOB_NAME}:token-1`)).to.equal(true);
  });

  it("returns the same run for the same clientToken", async () => {
    await start();
    await put(`${RAW}m.csv`, SAMPLE);
    const first = await startRun("token-2", `s3://${BUCKET}/staging/a/`);
    const second = await startRun("token-2", `s3://${BUCKET}/staging/a/`);
    expect(second.jobRunId).to.equal(first.jobRunId);
    await waitForFinal(first.jobRunId!);
    expect((await startRun("token-2", `s3://${BUCKET}/staging/a/`)).jobRunId).to.equal(first.jobRunId);
    expect(server!.emr.allRuns()).to.have.length(1);
  });

  it("fails a run whose transformation fails, with the reason in stateDetails, and writes nothing", async () => {
    await start();
    // No upload: the input is empty.
    const { jobRunId } = await startRun("token-3", `s3://${BUCKET}/staging/b/`);
    const done = await waitForFinal(jobRunId!);
    expect(done.state).to.equal("FAILED");
    expect(done.stateDetails).to.contain(`input '${VIEW}': no objects at s3://`);
    expect(await keysUnder("staging/b/")).to.deep.equal([]);
  });

  it("cancels through CANCELLING to CANCELLED and writes nothing; cancelling a finished run is refused", async () => {
    // 2 s in CANCELLING: time for a round trip to see it, even on a loaded machine.
    await start({ transitionMs: 2000 });
    await put(`${RAW}m.csv`, SAMPLE);
    const { jobRunId } = await startRun("token-4", `s3://${BUCKET}/staging/c/`);
    await emr.send(new CancelJobRunCommand({ applicationId, jobRunId }));
    expect((await emr.send(new GetJobRunCommand({ applicationId, jobRunId }))).jobRun?.state).to.equal("CANCELLING");
    const done = await waitForFinal(jobRunId!);
    expect(done.state).to.equal("CANCELLED");
    const error = await emr.send(new CancelJobRunCommand({ applicationId, jobRunId })).catch((e: Error) => e);
    expect(error).to.have.property("name", "ValidationException");
    // Once the service's work on the run has settled (close waits for it), nothing was written.
    await server!.close();
    server = undefined;
    expect(await keysUnder("staging/c/")).to.deep.equal([]);
    expect(events.filter((e) => e.detail.jobRunId === jobRunId).map((e) => e.detail.state)).to.deep.equal(["SUBMITTED", "CANCELLING", "CANCELLED"]);
  });

  it("lists runs newest first with pages and a state filter, and answers unknown applications and runs with ResourceNotFoundException", async () => {
    await start({ injectedFailure: (run) => (run.name?.startsWith(`${JOB_NAME}:`) ? `Injected failure: job ${JOB_NAME}` : undefined) });
    const a = await startRun("token-5", `s3://${BUCKET}/staging/d/`);
    const b = await startRun("token-6", `s3://${BUCKET}/staging/e/`, "other:token-6");
    expect((await waitForFinal(a.jobRunId!)).stateDetails).to.contain(`Injected failure: job ${JOB_NAME}`);
    await waitForFinal(b.jobRunId!);
    const page1 = await emr.send(new ListJobRunsCommand({ applicationId, maxResults: 1 }));
    expect(page1.jobRuns?.map((r) => [r.id, r.name])).to.deep.equal([[b.jobRunId, "other:token-6"]]);
    const page2 = await emr.send(new ListJobRunsCommand({ applicationId, maxResults: 1, nextToken: page1.nextToken }));
    expect(page2.jobRuns?.map((r) => r.id)).to.deep.equal([a.jobRunId]);
    expect(page2.nextToken).to.equal(undefined);
    const failed = await emr.send(new ListJobRunsCommand({ applicationId, states: ["FAILED", "CANCELLED"] }));
    expect(failed.jobRuns?.every((r) => r.state === "FAILED")).to.equal(true);
    expect((await emr.send(new GetApplicationCommand({ applicationId }))).application?.releaseLabel).to.equal("emr-7.9.0");
    const noApp = await emr.send(new GetJobRunCommand({ applicationId: "nope", jobRunId: a.jobRunId })).catch((e: Error) => e);
    expect(noApp).to.have.property("name", "ResourceNotFoundException");
    const noRun = await emr.send(new GetJobRunCommand({ applicationId, jobRunId: "nope" })).catch((e: Error) => e);
    expect(noRun).to.have.property("name", "ResourceNotFoundException");
  });

  it("validates StartJobRun: the role ARN and the entry point", async () => {
    await start();
    const error = await emr
      .send(new StartJobRunCommand({ applicationId, clientToken: "x", executionRoleArn: "role", jobDriver: { sparkSubmit: { entryPoint: "s3://a/b.py" } } }))
      .catch((e: Error) => e);
    expect(error).to.have.property("name", "ValidationException");
    expect(() => argumentMap(["--a", "1", "--b"])).to.throw(/--name value pairs/);
  });

  it("lists the applications in pages, so an operator finds the application's id by its name", async () => {
    await start();
    const other = server!.emr.createApplication("etl-test-other", "emr-7.9.0").applicationId;
    const all = await emr.send(new ListApplicationsCommand({}));
    expect(all.applications?.map((a) => [a.id, a.name, a.state, a.releaseLabel, a.type])).to.deep.equal([
      [applicationId, "etl-test-spark", "CREATED", "emr-7.9.0", "Spark"],
      [other, "etl-test-other", "CREATED", "emr-7.9.0", "Spark"],
    ]);
    expect(all.applications?.[0].createdAt).to.be.instanceOf(Date);
    const page1 = await emr.send(new ListApplicationsCommand({ maxResults: 1 }));
    const page2 = await emr.send(new ListApplicationsCommand({ maxResults: 1, nextToken: page1.nextToken }));
    expect([...page1.applications!, ...page2.applications!].map((a) => a.id)).to.deep.equal([applicationId, other]);
    expect(page2.nextToken).to.equal(undefined);
    expect((await emr.send(new ListApplicationsCommand({ states: ["STOPPED"] }))).applications).to.deep.equal([]);
    const badToken = await emr.send(new ListApplicationsCommand({ nextToken: "nope" })).catch((e: Error) => e);
    expect(badToken).to.have.property("name", "ValidationException");
    const noApp = await emr.send(new GetApplicationCommand({ applicationId: "nope" })).catch((e: Error) => e);
    expect(noApp).to.have.property("name", "ResourceNotFoundException");
  });
});
