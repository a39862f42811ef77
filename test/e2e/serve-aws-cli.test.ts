// End to end: `npm run serve` driven by the real AWS CLI (the pinned awscli of .venv/, `npm run python:setup`), as a
// data engineer would run the walkthrough: start an execution, upload the datasets with `aws s3 cp`, follow it,
// read its history, download the result; and with --fail-job-once (that execution started and its datasets uploaded
// from the test, as the walkthrough showed), see it fail, redrive it and see only the failed job run again.
// `npm run watch` follows the same executions.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { loadConfig, resourceNames } from "../../core/config";
import { readParquet } from "../../local/parquet";
import { finalJobs } from "../../local/runtime";
import { writeDatasetSamples } from "../../local/dataset-samples";
import { listening } from "../listening";
import { jobStateName } from "../support/asl-states";
import { scriptArgs } from "../support/scripts";
import { awsCli, cliEnv, executionSettled, literal, runCommand, sdkSetup, startServe, type AwsCli, type SdkSetup, type Served } from "../support/serve-cli";

const config = loadConfig();
const names = resourceNames(config);
const CLI_ENV = cliEnv(config.region);
const run = (file: string, args: string[]) => runCommand(file, args, CLI_ENV);

describe("npm run serve with the real AWS CLI", function () {
  this.timeout(240_000);
  let dir: string;
  let data: Record<string, string>;
  let cli: AwsCli | undefined;
  const served: Served[] = [];
  const setups: SdkSetup[] = [];

  before(async () => {
    cli = awsCli(CLI_ENV);
    dir = await mkdtemp(join(tmpdir(), "etl-serve-cli-"));
    data = await writeDatasetSamples(config, join(dir, "data"), undefined, { salesRows: 2000, days: 400 });
  });
  afterEach(async () => {
    for (const setup of setups.splice(0)) setup.close();
    for (const s of served.splice(0)) await s.stop().catch(() => undefined);
  });
  after(async () => {
    await cli?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function serve(args: string[] = [], options: { viaNpm?: boolean } = {}) {
    const s = await startServe(args, CLI_ENV, options);
    served.push(s);
    /** The AWS CLI against the endpoint; the parsed JSON answer. */
    const aws = async (...args: string[]) => {
      const result = await cli!.run(["--endpoint-url", s.endpoint, "--output", "json", ...args]);
      if (result.code !== 0) throw new Error(`aws ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
      return result.stdout.trim() ? JSON.parse(result.stdout) : undefined;
    };
    const key = (dataset: string) => `${config.datasets[dataset].prefix}${dataset}.csv`;
    const upload = (dataset: string) => aws("s3", "cp", data[dataset], `s3://${s.bucket}/${key(dataset)}`, "--only-show-errors");
    /** What only sets a test up, through the endpoint from this process (the walkthrough does it with the AWS CLI). */
    const setup = sdkSetup(s.endpoint, config.region);
    setups.push(setup);
    const uploadInProcess = (dataset: string) => setup.upload(data[dataset], s.bucket, key(dataset));
    /** Waits for the execution to end (asking Step Functions in-process, no AWS CLI process per poll): its description, whose status is `wanted`. */
    const settledTo = async (executionArn: string, wanted: string, settled?: (d: DescribeExecutionCommandOutput) => boolean) => {
      const description = await executionSettled(s.endpoint, config.region, executionArn, settled);
      expect(description.status, s.output()).to.equal(wanted);
      return description;
    };
    /** As settledTo; the AWS CLI then describes it: its description, whose status is `wanted`. */
    const waitFor = async (executionArn: string, wanted: string) => {
      await settledTo(executionArn, wanted);
      const description = await aws("stepfunctions", "describe-execution", "--execution-arn", executionArn);
      expect(description.status, s.output()).to.equal(wanted);
      return description;
    };
    /** The states of a job's runs, asked of its engine's own API through the endpoint. */
    const jobRuns = async (jobId: string): Promise<string[]> => {
      const engine = config.jobs[jobId].engine;
      if (engine === "glue") return (await aws("glue", "get-job-runs", "--job-name", names.glueJob(jobId))).JobRuns.map((r: { JobRunState: string }) => r.JobRunState);
      if (engine !== "athena") throw new Error(`job ${jobId}: this test reads runs of Glue and Athena jobs only (engine ${engine})`);
      const { QueryExecutionIds: ids } = await aws("athena", "list-query-executions", "--work-group", names.athenaWorkGroup);
      if (!ids?.length) return [];
      const { QueryExecutions: queries } = await aws("athena", "batch-get-query-execution", "--query-execution-ids", ...ids);
      // A job's statement writes under its own staging folder (its counts statement, beside it, is part of the same run).
      return (queries as Array<{ Query: string; Status: { State: string } }>)
        .filter((q) => q.Query.includes(`/${names.glueJob(jobId)}/`) && !/\.counts\/'/.test(q.Query))
        .map((q) => q.Status.State);
    };
    /** `npm run watch` as npm runs it (package.json's script). */
    const watch = (executionArn: string) => run(process.execPath, [...scriptArgs("watch"), executionArn, "--endpoint", s.endpoint, "--interval-ms", "1000"]);
    return { ...s, aws, upload, setup, uploadInProcess, settledTo, waitFor, jobRuns, watch };
  }

  it("runs the walkthrough: start, upload with aws s3 cp, SUCCEEDED, history, the curated Parquet downloaded", async () => {
    // Through npm, as the walkthrough says: the Ctrl-C at the end reaches npm and serve (npm forwards its own too).
    const s = await serve([], { viaNpm: true });
    expect(s.stateMachineArn).to.match(new RegExp(`:stateMachine:${names.stateMachine}$`));
    const { stateMachines } = await s.aws("stepfunctions", "list-state-machines");
    expect(stateMachines.map((m: { stateMachineArn: string }) => m.stateMachineArn)).to.deep.equal([s.stateMachineArn]);
    const { executionArn } = await s.aws("stepfunctions", "start-execution", "--state-machine-arn", s.stateMachineArn, "--name", "walkthrough", "--input", "{}");
    for (const dataset of Object.keys(config.datasets)) await s.upload(dataset);
    const watched = await s.watch(executionArn);
    expect(watched.code, watched.stdout + watched.stderr).to.equal(0);
    expect(watched.stdout).to.match(/execution SUCCEEDED/).and.match(new RegExp(`state ${finalJobs(config)[0]} exited SUCCEEDED`));
    await s.waitFor(executionArn, "SUCCEEDED");

    const { events } = await s.aws("stepfunctions", "get-execution-history", "--execution-arn", executionArn);
    const types = events.map((e: { type: string }) => e.type);
    // Activity tasks only (the workflow has no service-integration task, so no TaskSucceeded).
    expect(types).to.include.members(["ExecutionStarted", "ParallelStateEntered", "TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"]);
    const jobsDone = events.filter((e: { type: string }) => e.type === "ActivitySucceeded").map((e: any) => JSON.parse(e.activitySucceededEventDetails.output).jobName).filter(Boolean);
    expect(jobsDone.sort()).to.deep.equal(Object.keys(config.jobs).map(names.glueJob).sort());
    const listed = await s.aws("stepfunctions", "list-executions", "--state-machine-arn", s.stateMachineArn, "--status-filter", "SUCCEEDED");
    expect(listed.executions.map((e: { name: string }) => e.name)).to.deep.equal(["walkthrough"]);
    expect((await s.aws("dynamodb", "scan", "--table-name", names.arrivalTable, "--select", "COUNT")).Count).to.be.at.least(Object.keys(config.datasets).length);

    const prefix = config.jobs[finalJobs(config)[0]].output;
    const listing = await cli!.run(["--endpoint-url", s.endpoint, "s3", "ls", `s3://${s.bucket}/${prefix}`, "--recursive"]);
    const keys = [...listing.stdout.matchAll(/\s(\S+\.parquet)$/gm)].map((m) => m[1]);
    expect(keys, listing.stdout + listing.stderr).to.have.length.greaterThan(0);
    const out = join(dir, "curated");
    await s.aws("s3", "cp", `s3://${s.bucket}/${prefix}`, out, "--recursive", "--exclude", "*", "--include", "*.parquet", "--only-show-errors");
    expect((await readParquet(out, 0)).rows).to.be.greaterThan(0);

    // Ctrl-C: it closes everything (npm itself then ends by the signal, so its exit code says nothing).
    const edge = s.endpoint;
    await s.stop();
    served.splice(served.indexOf(s), 1);
    expect(s.output()).to.contain("SIGINT: closing the local services...");
    expect(s.output().split("\n"), s.output()).to.include("closed");
    expect(await listening(edge)).to.equal(false);
  });

  it("--fail-job-once: FAILED with a notification, then redrive-execution re-runs only the failed job", async () => {
    // A job that reads a dataset fails once; the other datasets' jobs finish first, so "once" is deterministic.
    const failing = Object.keys(config.jobs).find((id) => config.jobs[id].engine === "glue" && config.jobs[id].inputs.some((i) => i.dataset !== undefined))!;
    const failingDatasets = config.jobs[failing].inputs.flatMap((i) => (i.dataset ? [i.dataset] : []));
    const others = Object.keys(config.datasets).filter((d) => !failingDatasets.includes(d));
    const otherJobs = Object.keys(config.jobs).filter((id) => id !== failing && config.jobs[id].inputs.every((i) => i.dataset === undefined || others.includes(i.dataset)) && config.jobs[id].inputs.some((i) => i.dataset));
    const s = await serve(["--fail-job-once", failing]);
    // Started and uploaded from this process: the walkthrough does both with the AWS CLI; here the CLI redrives.
    const executionArn = await s.setup.startExecution(s.stateMachineArn);
    for (const dataset of others) await s.uploadInProcess(dataset);
    // Their progress lines say when they are done (no polling); the engines' own listings are asserted below.
    for (const job of otherJobs) await s.waitForLine(new RegExp(`\\] state ${literal(jobStateName(job))} exited SUCCEEDED`), `job ${job} to succeed`);
    for (const dataset of failingDatasets) await s.uploadInProcess(dataset);
    const failed = await s.settledTo(executionArn, "FAILED");
    expect(failed).to.include({ error: "JobFailedError", redriveStatus: "REDRIVABLE" });
    expect(s.output()).to.contain(`notification published: Execution ${executionArn} ended FAILED with JobFailedError`);
    const watchedFailure = await s.watch(executionArn);
    expect(watchedFailure.code, watchedFailure.stdout + watchedFailure.stderr).to.equal(1);
    expect(watchedFailure.stdout).to.match(new RegExp(`state ${failing} exited FAILED \\(JobFailedError\\)`)).and.match(/execution FAILED/);

    await s.aws("stepfunctions", "redrive-execution", "--execution-arn", executionArn);
    const redriven = await s.settledTo(executionArn, "SUCCEEDED", (d) => (d.redriveCount ?? 0) > 0);
    expect(redriven).to.include({ status: "SUCCEEDED", redriveCount: 1 });
    expect(await s.jobRuns(failing)).to.have.members(["FAILED", "SUCCEEDED"]);
    for (const job of Object.keys(config.jobs).filter((id) => id !== failing)) expect(await s.jobRuns(job), job).to.deep.equal(["SUCCEEDED"]);
    const { events } = await s.aws("stepfunctions", "get-execution-history", "--execution-arn", executionArn);
    expect(events.filter((e: { type: string }) => e.type === "ExecutionRedriven")).to.have.length(1);

    // Redriving it again is refused: it succeeded.
    const again = await cli!.run(["--endpoint-url", s.endpoint, "stepfunctions", "redrive-execution", "--execution-arn", executionArn]);
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.contain("ExecutionNotRedrivable");
  });
});
