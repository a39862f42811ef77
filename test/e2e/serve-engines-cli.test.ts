// End to end: the engines' own describe calls through `npm run serve`, with the real AWS CLI, and a redrive rehearsal
// whose failed job runs on Athena. Served with the configuration that puts jobs on every engine
// (test/fixtures/jmsd-emr-serverless/), one process for the whole block: the rehearsal's runs are what the describe
// calls then read (each of those tests runs the rehearsal first if no test has yet). Job names come from that configuration, never from the shipped example.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig, resourceNames } from "../../core/config";
import type { EngineName } from "../../core/job-spec";
import { writeSampleData } from "../../local/sample-data";
import { jobStateName } from "../support/asl-states";
import { scriptArgs } from "../support/scripts";
import { awsCli, cliEnv, executionSettled, literal, ROOT, runCommand, sdkSetup, startServe, type AwsCli, type SdkSetup, type Served } from "../support/serve-cli";
import { workflowShape } from "../support/workflow";

const CONFIG_FILE = join(ROOT, "test/fixtures/jmsd-emr-serverless/etl.config.json");
const shape = workflowShape(loadConfig(CONFIG_FILE));
const { config } = shape;
const names = resourceNames(config);
const ENV = cliEnv(config.region, { ETL_CONFIG: CONFIG_FILE });
const engineOf = (job: string): EngineName => config.jobs[job].engine ?? "glue";

interface AthenaQuery {
  QueryExecutionId: string;
  Query: string;
  WorkGroup: string;
  Status: { State: string; StateChangeReason?: string; AthenaError?: { ErrorCategory: number; ErrorType: number; Retryable: boolean; ErrorMessage: string } };
  Statistics: { DataScannedInBytes?: number; EngineExecutionTimeInMillis?: number };
}
interface EmrRunSummary {
  id: string;
  name?: string;
  state: string;
}

describe("npm run serve: the engines' describe calls with the real AWS CLI, and a redrive of a job on Athena", function () {
  this.timeout(240_000);
  // The job that fails once: one on Athena, preferably one that reads a dataset (a Parallel branch).
  const onAthena = shape.jobsOn("athena");
  const failing = onAthena.find((id) => shape.datasetJobs.includes(id)) ?? onAthena[0];
  let dir: string;
  let data: Record<string, string>;
  let served: Served | undefined;
  let cli: AwsCli | undefined;
  /** What only sets the rehearsal up (starting it, uploading), from this process: see sdkSetup. */
  let setup: SdkSetup | undefined;

  before(async function () {
    cli = awsCli(ENV);
    for (const engine of ["athena", "emr-serverless"] as const)
      if (shape.jobsOn(engine).length === 0) throw new Error(`${CONFIG_FILE}: this test needs a job on ${engine} (jobs: ${shape.jobs.map((j) => `${j} on ${engineOf(j)}`).join(", ")})`);
    dir = await mkdtemp(join(tmpdir(), "etl-serve-engines-"));
    data = await writeSampleData(join(dir, "data"), { salesRows: 2000 });
    served = await startServe(["--fail-job-once", failing], ENV);
    setup = sdkSetup(served.endpoint, config.region);
  });
  after(async () => {
    setup?.close();
    await cli?.close();
    await served?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The AWS CLI against the endpoint: exit code and output. */
  const awsRaw = (...args: string[]) => cli!.run(["--endpoint-url", served!.endpoint, "--output", "json", ...args]);
  /** The AWS CLI against the endpoint: the parsed JSON answer. */
  const aws = async (...args: string[]) => {
    const result = await awsRaw(...args);
    if (result.code !== 0) throw new Error(`aws ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return result.stdout.trim() ? JSON.parse(result.stdout) : undefined;
  };
  /** The AWS CLI's answer to a call that must fail with that AWS error code. */
  const awsError = async (code: string, ...args: string[]) => {
    const result = await awsRaw(...args);
    expect(result.code, `aws ${args.join(" ")}: ${result.stdout}`).to.not.equal(0);
    expect(result.stderr).to.match(new RegExp(`An error occurred \\(${code}\\) when calling the \\w+ operation`));
    return result.stderr;
  };

  const athenaQueries = async (): Promise<AthenaQuery[]> => {
    const { QueryExecutionIds: ids } = await aws("athena", "list-query-executions", "--work-group", names.athenaWorkGroup);
    if (!ids?.length) return [];
    return (await aws("athena", "batch-get-query-execution", "--query-execution-ids", ...ids)).QueryExecutions;
  };
  /** The application's id, found by its name as an operator would (asked once). */
  let foundApplicationId: string | undefined;
  const emrApplicationId = async (): Promise<string> => {
    if (foundApplicationId) return foundApplicationId;
    const { applications } = await aws("emr-serverless", "list-applications");
    const found = (applications as Array<{ id: string; name: string }>).filter((a) => a.name === names.emrApplication);
    expect(found, JSON.stringify(applications)).to.have.length(1);
    foundApplicationId = found[0].id;
    expect(served!.output()).to.contain(`emr-serverless application ${names.emrApplication} (id ${foundApplicationId})`);
    return foundApplicationId;
  };
  const emrRuns = async (): Promise<EmrRunSummary[]> => (await aws("emr-serverless", "list-job-runs", "--application-id", await emrApplicationId())).jobRuns;
  /** A job's EMR Serverless runs among `runs`, oldest first: they are named <job name>:<task id>. */
  const emrRunsOf = (job: string, runs: EmrRunSummary[]) => runs.filter((r) => r.name?.startsWith(`${names.glueJob(job)}:`)).map((r) => ({ id: r.id, state: r.state })).reverse();
  /** A job's runs, oldest first, as its engine lists them: Glue's job runs, Athena's queries, EMR Serverless's job runs. */
  const runsOf = async (job: string): Promise<Array<{ id: string; state: string }>> => {
    const jobName = names.glueJob(job);
    const engine = engineOf(job);
    if (engine === "glue") return ((await aws("glue", "get-job-runs", "--job-name", jobName)).JobRuns as Array<{ Id: string; JobRunState: string }>).map((r) => ({ id: r.Id, state: r.JobRunState })).reverse();
    // A job's query writes under its own staging folder (<stagingPrefix><job name>/<task id>/); its counts
    // statement (`….counts/`) is part of the same run.
    if (engine === "athena") return (await athenaQueries()).filter((q) => q.Query.includes(`/${config.dataLake.stagingPrefix}${jobName}/`) && !/\.counts\/'/.test(q.Query)).map((q) => ({ id: q.QueryExecutionId, state: q.Status.State })).reverse();
    if (engine === "emr-serverless") return emrRunsOf(job, await emrRuns());
    throw new Error(`job ${job}: no run listing for engine ${engine}`);
  };
  const succeeded = (engine: EngineName) => (engine === "emr-serverless" ? "SUCCESS" : "SUCCEEDED");
  const upload = (dataset: string) => setup!.upload(data[dataset], served!.bucket, `${config.datasets[dataset].prefix}${dataset}.csv`);
  const history = async (executionArn: string) => (await aws("stepfunctions", "get-execution-history", "--execution-arn", executionArn)).events as Array<Record<string, any>>;

  /**
   * The rehearsal: an execution whose job on Athena fails once, redriven to success. Its runs are what the describe
   * tests read, so each test that needs them runs it first (once per file): any test passes alone (--grep).
   */
  let rehearsed: Promise<void> | undefined;
  const rehearsal = () => (rehearsed ??= rehearse());
  async function rehearse(): Promise<void> {
    const s = served!;
    // Started, uploaded to and waited for from this process (test/e2e/serve-aws-cli.test.ts does these with the AWS
    // CLI): the AWS CLI here asks the engines and redrives.
    const executionArn = await setup!.startExecution(s.stateMachineArn);
    // The other branches end before the failing job's data comes, so the failure aborts no branch still running
    // (an aborted branch would be run again by the redrive, as on AWS).
    const failingDatasets = shape.datasetsOf(failing);
    const otherBranchJobs = shape.datasetJobs.filter((job) => shape.datasetsOf(job).every((d) => !failingDatasets.includes(d)));
    for (const dataset of shape.datasets.filter((d) => !failingDatasets.includes(d))) await upload(dataset);
    // Waits on the run's own progress lines and on Step Functions in-process: no AWS CLI process per poll.
    for (const job of otherBranchJobs) await s.waitForLine(new RegExp(`\\] state ${literal(jobStateName(job, config))} exited`), `job ${job} to end`);
    for (const dataset of failingDatasets) await upload(dataset);
    const failed = await executionSettled(s.endpoint, config.region, executionArn);
    expect(failed, s.output()).to.include({ status: "FAILED", error: "JobFailedError", redriveStatus: "REDRIVABLE" });
    expect(failed.cause).to.contain(names.glueJob(failing)).and.contain("athena");
    expect(s.output()).to.contain(`notification published: Execution ${executionArn} ended FAILED with JobFailedError`);

    // Athena's own account of the failure.
    const [firstQuery] = await runsOf(failing);
    const { QueryExecution: query } = (await aws("athena", "get-query-execution", "--query-execution-id", firstQuery.id)) as { QueryExecution: AthenaQuery };
    const reason = `Injected failure: the first run of job ${names.glueJob(failing)} fails (failJobsOnce)`;
    expect(query.Status).to.deep.include({ State: "FAILED", StateChangeReason: reason });
    expect(query.Status.AthenaError).to.deep.include({ ErrorMessage: reason, Retryable: false });
    expect(query.WorkGroup).to.equal(names.athenaWorkGroup);

    await aws("stepfunctions", "redrive-execution", "--execution-arn", executionArn);
    const redriven = await executionSettled(s.endpoint, config.region, executionArn, (d) => (d.redriveCount ?? 0) > 0);
    expect(redriven, s.output()).to.include({ status: "SUCCEEDED", redriveCount: 1 });
    expect((await history(executionArn)).filter((e) => e.type === "ExecutionRedriven")).to.have.length(1);

    // Counted from the engines' own run listings.
    expect((await runsOf(failing)).map((r) => r.state)).to.deep.equal(["FAILED", "SUCCEEDED"]);
    for (const job of shape.jobs.filter((j) => j !== failing)) expect((await runsOf(job)).map((r) => r.state), `${job} on ${engineOf(job)}`).to.deep.equal([succeeded(engineOf(job))]);
  }

  it(`--fail-job-once on a job on Athena: FAILED with Athena's reason, redrive-execution, SUCCEEDED with that job run twice and every other job once`, async () => {
    await rehearsal();
  });

  it("Athena: get-query-execution, batch-get-query-execution and list-query-executions describe the jobs' queries; unknown ids get AWS's answers", async () => {
    await rehearsal();
    const queries = await athenaQueries();
    for (const job of shape.jobsOn("athena")) expect(queries.some((q) => q.Query.includes(`/${names.glueJob(job)}/`)), job).to.equal(true);
    const done = queries.find((q) => q.Status.State === "SUCCEEDED")!;
    expect(done, JSON.stringify(queries)).to.not.equal(undefined);
    const { QueryExecution: one } = await aws("athena", "get-query-execution", "--query-execution-id", done.QueryExecutionId);
    expect(one.Query).to.match(/^UNLOAD /);
    expect(one.Statistics.DataScannedInBytes).to.be.greaterThan(0);
    expect(one.Statistics.EngineExecutionTimeInMillis).to.be.at.least(0);
    expect(one.QueryExecutionContext).to.deep.equal({ Database: config.glue.databaseName, Catalog: "AwsDataCatalog" });
    // The CLI pages list-query-executions itself (--max-items); a page of one still leads to the rest.
    const firstPage = await aws("athena", "list-query-executions", "--work-group", names.athenaWorkGroup, "--max-items", "1");
    expect(firstPage.QueryExecutionIds).to.have.length(1);
    if (queries.length > 1) expect(firstPage.NextToken).to.be.a("string");

    const unknown = "00000000-0000-0000-0000-000000000000";
    expect(await awsError("InvalidRequestException", "athena", "get-query-execution", "--query-execution-id", unknown)).to.contain(unknown);
    const batch = await aws("athena", "batch-get-query-execution", "--query-execution-ids", done.QueryExecutionId, unknown);
    expect(batch.QueryExecutions.map((q: AthenaQuery) => q.QueryExecutionId)).to.deep.equal([done.QueryExecutionId]);
    expect(batch.UnprocessedQueryExecutionIds).to.have.length(1);
    expect(batch.UnprocessedQueryExecutionIds[0]).to.include({ QueryExecutionId: unknown, ErrorCode: "INVALID_INPUT" });
    await awsError("InvalidRequestException", "athena", "list-query-executions", "--work-group", "no-such-workgroup");
  });

  it("EMR Serverless: list-applications, get-application, list-job-runs and get-job-run describe the application and the jobs' runs; unknown ids get ResourceNotFoundException", async () => {
    await rehearsal();
    const applicationId = await emrApplicationId();
    const { application } = await aws("emr-serverless", "get-application", "--application-id", applicationId);
    expect(application).to.include({ applicationId, name: names.emrApplication, releaseLabel: config.emrServerless.releaseLabel, type: "Spark" });
    const runs = await emrRuns();
    for (const job of shape.jobsOn("emr-serverless")) {
      const [summary] = emrRunsOf(job, runs);
      expect(summary, `${job}: ${JSON.stringify(runs)}`).to.not.equal(undefined);
      const { jobRun } = await aws("emr-serverless", "get-job-run", "--application-id", applicationId, "--job-run-id", summary.id);
      expect(jobRun).to.include({ applicationId, jobRunId: summary.id, state: "SUCCESS", releaseLabel: config.emrServerless.releaseLabel });
      expect(jobRun.name).to.match(new RegExp(`^${names.glueJob(job)}:`));
      expect(jobRun.jobDriver.sparkSubmit.entryPointArguments).to.include("--etl_output");
      expect(jobRun.totalExecutionDurationSeconds).to.be.at.least(0);
    }
    const { jobRuns: noneFailed } = await aws("emr-serverless", "list-job-runs", "--application-id", applicationId, "--states", "FAILED");
    expect(noneFailed).to.deep.equal([]);

    const unknownApplication = "00aaaaaaaaaaaaaa";
    await awsError("ResourceNotFoundException", "emr-serverless", "get-application", "--application-id", unknownApplication);
    await awsError("ResourceNotFoundException", "emr-serverless", "list-job-runs", "--application-id", unknownApplication);
    await awsError("ResourceNotFoundException", "emr-serverless", "get-job-run", "--application-id", applicationId, "--job-run-id", "00bbbbbbbbbbbbbb");
  });

  it("refuses --fail-job-once for an unknown job with exit 2, listing the jobs", async () => {
    // As npm runs it (package.json's script); test/e2e/serve-aws-cli.test.ts runs serve through npm itself.
    const result = await runCommand(process.execPath, [...scriptArgs("serve"), "--port", "0", "--fail-job-once", "NOPE"], ENV);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("--fail-job-once: unknown job NOPE");
    for (const job of shape.jobs) expect(result.stderr).to.contain(`${job} (${names.glueJob(job)})`);
  });
});
