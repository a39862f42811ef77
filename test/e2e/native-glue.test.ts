// Done-when of the native integrations: a dataset job's runner task (the active configuration's first dataset job
// on Glue) replaced by glue:startJobRun.sync (and a lambda:invoke of a configured local handler after it)
// synthesizes with least-privilege IAM, and the CLI (npm start's command, ETL_CONFIG naming the variant) runs it to
// the same result as the configured workflow.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";
import { allStates } from "../../asl/loader";
import { DEFAULT_CONFIG_FILE, definitionPath, loadConfig, parseConfig, resourceNames, scriptsDir, type EtlConfig } from "../../core/config";
import { literal } from "../../core/sql";
import { writeDatasetSamples } from "../../local/dataset-samples";
import { withConnection } from "../../local/duckdb-instance";
import { runLocalWorkflow, type RunReport } from "../../local/runtime";
import { jobStateName } from "../support/asl-states";
import { runCli } from "../support/cli";
import { workflowShape } from "../support/workflow";
import { synthConfig, resourceWith } from "../stacks/synth";

const ACTIVE_FILE = resolve(process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE);
const active = loadConfig(ACTIVE_FILE);
const shape = workflowShape(active);
const names = resourceNames(active);
/** The job whose runner task goes native: a dataset job on Glue (the first dataset job, moved to Glue if none is). */
const job = shape.datasetJobs.find((id) => active.jobs[id].engine === "glue") ?? shape.datasetJobs[0];
const STATE = jobStateName(job, active);
const CHECK = `Check${STATE}Run`;
const KICK_RESOURCE = "arn:aws:states:::events:putEvents";

/** The configured ASL with the job's kick and runner task replaced by a .sync Glue task, then a Lambda check. */
function nativeJob(asl: any): { asl: any; kick: string | undefined } {
  const branch = allStates(asl)
    .filter(([, s]) => s.Type === "Parallel")
    .flatMap(([, s]) => s.Branches.map((b: any) => b.States))
    .find((states: any) => STATE in states);
  expect(branch, `a Parallel branch holds ${STATE}`).to.not.equal(undefined);
  // The state before the runner task: its kick (removed; the .sync task needs no worker), or the wait itself.
  const [previousName, previous] = Object.entries<any>(branch).find(([, s]) => s.Next === STATE)!;
  let kick: string | undefined;
  let waiting = previous;
  if (previous.Resource === KICK_RESOURCE) {
    kick = previousName;
    delete branch[kick];
    waiting = Object.values<any>(branch).find((s) => s.Next === kick);
  }
  waiting.Next = STATE;
  const { Next, End } = branch[STATE];
  branch[STATE] = {
    Type: "Task",
    Comment: `Runs Glue job ${job} directly (.sync).`,
    Resource: "arn:aws:states:::glue:startJobRun.sync",
    Parameters: { JobName: `\${JobName.${job}}`, Arguments: { "--etl_execution.$": "$$.Execution.Name" } },
    TimeoutSeconds: 7200,
    Retry: [{ ErrorEquals: ["Glue.ConcurrentRunsExceededException"], IntervalSeconds: 30, MaxAttempts: 6, BackoffRate: 2 }],
    ResultSelector: { "jobName.$": "$.JobName", "jobRunId.$": "$.Id", "state.$": "$.JobRunState" },
    ResultPath: "$.job",
    Next: CHECK,
  };
  branch[CHECK] = {
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: "${FunctionName.checkRun}", "Payload.$": "$.job" },
    ResultSelector: { "checked.$": "$.Payload.checked" },
    ResultPath: "$.check",
    ...(End || !Next ? { End: true } : { Next }),
  };
  return { asl, kick };
}

let KICK: string | undefined;

function nativeConfig(root: string): EtlConfig {
  mkdirSync(join(root, "asl"), { recursive: true });
  const native = nativeJob(JSON.parse(readFileSync(definitionPath(active), "utf8")));
  KICK = native.kick;
  writeFileSync(join(root, "asl", "native-glue.asl.json"), JSON.stringify(native.asl, null, 2));
  const raw = JSON.parse(readFileSync(ACTIVE_FILE, "utf8"));
  delete raw.$schema;
  raw.scriptsDir = scriptsDir(active);
  raw.stateMachine.definition = "asl/native-glue.asl.json";
  raw.jobs[job].engine = "glue";
  raw.lambdaFunctions = { checkRun: { functionName: `${names.prefix}-check-run`, localHandler: resolve(__dirname, "../fixtures/native-glue/check-run.ts") } };
  writeFileSync(join(root, "etl.config.json"), JSON.stringify(raw, null, 2));
  return parseConfig(raw, { source: "native-glue variant of the active configuration", rootDir: root });
}

const sortedRows = (dir: string): Promise<string> =>
  withConnection(async (connection) => JSON.stringify((await connection.runAndReadAll(`SELECT * FROM read_parquet(${literal(join(dir, "*.parquet"))}) ORDER BY ALL`)).getRowObjectsJson()));

describe("native Glue integration replacing a dataset job's runner task (done-when)", function () {
  this.timeout(300_000); // two local runs in one case: a minute or more each on a loaded machine
  let root: string;
  let config: EtlConfig;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "etl-native-glue-"));
    config = nativeConfig(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("synthesizes with least-privilege IAM for the new states, and none left for what was removed", () => {
    const { stateMachine } = synthConfig(config);
    const policy = JSON.parse(resourceWith(stateMachine, "aws_iam_role_policy", "name", "workflow").policy);
    const sid = (s: string) => policy.Statement.find((x: any) => x.Sid === s);
    const arn = (service: string, resource: string) => `arn:\${data.aws_partition.partition.partition}:${service}:${active.region}:\${data.aws_caller_identity.account.account_id}:${resource}`;
    expect(sid(STATE)).to.deep.equal({
      Effect: "Allow",
      Sid: STATE,
      Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
      Resource: [arn("glue", `job/${names.glueJob(job)}`)],
    });
    expect(sid(CHECK).Action).to.deep.equal(["lambda:InvokeFunction"]);
    expect(sid(CHECK).Resource).to.deep.equal([arn("lambda", `function:${names.prefix}-check-run`), arn("lambda", `function:${names.prefix}-check-run:*`)]);
    if (KICK) expect(sid(KICK)).to.equal(undefined);
    // Only the jobs still on the runner keep Glue access through it; the role grants Glue on this job alone.
    const glueResources = policy.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith("glue:"))).flatMap((s: any) => s.Resource);
    expect(glueResources).to.deep.equal([sid(STATE).Resource[0]]);
    const definition = JSON.parse(resourceWith(stateMachine, "aws_sfn_state_machine", "name", names.stateMachine).definition);
    expect(allStates(definition).find(([n]) => n === STATE)![1].Resource).to.equal("arn:aws:states:::glue:startJobRun.sync");
  });

  it("runs through the CLI (`node tools/launch.cjs local/cli.ts`, npm start's command) with ETL_CONFIG naming it, to the same result as the configured workflow (run in this process on the same sample files), the Glue run recorded in the report", async () => {
    const inputs = await writeDatasetSamples(active, join(root, "data"), undefined, { salesRows: 3000, days: 400 });
    const shipped = await runLocalWorkflow({ inputs, glueTransitionMs: 20, timeoutMs: 120_000, config: active, outDir: join(root, "shipped") });
    const reportFile = join(root, "cli-report.json");
    const args = [...Object.entries(inputs).flatMap(([dataset, file]) => ["--input", `${dataset}=${file}`]), "--out", join(root, "native"), "--report", reportFile];
    const cli = await runCli(args, undefined, { ETL_CONFIG: join(root, "etl.config.json"), CHECKPOINT_DISABLE: "1" });
    expect(cli.code, cli.stderr + cli.stdout).to.equal(0);
    const native = JSON.parse(readFileSync(reportFile, "utf8")) as RunReport;
    expect(shipped.status).to.equal("SUCCEEDED");
    expect(native.status, native.error).to.equal("SUCCEEDED");
    expect(native.output.rows).to.equal(shipped.output.rows).and.to.be.greaterThan(0);
    expect(await sortedRows(join(root, "native"))).to.equal(await sortedRows(join(root, "shipped")));
    expect(native.jobs.map((j) => [j.jobName, j.state]).sort()).to.deep.equal(shape.jobs.map((id) => [names.glueJob(id), "SUCCEEDED"]).sort());
    // The variant's states, not the configured workflow's: the CLI read the configuration ETL_CONFIG names.
    const states = Object.fromEntries(native.states.map((s) => [s.name, s.status]));
    expect(states).to.include({ [STATE]: "SUCCEEDED", [CHECK]: "SUCCEEDED" });
    if (KICK) expect(states).to.not.have.property(KICK);
  });

  it("a failed Glue run takes the workflow's Catch path with the run's error in the cause", async () => {
    const inputs = await writeDatasetSamples(active, join(root, "data2"), undefined, { salesRows: 500, days: 200 });
    const report = await runLocalWorkflow({ inputs, glueTransitionMs: 20, timeoutMs: 120_000, config, outDir: join(root, "failed"), failJobs: [job] });
    expect(report.status).to.equal("FAILED");
    expect(report.states.find((s) => s.name === STATE)!.status).to.equal("FAILED");
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.match(/States\.TaskFailed/).and.to.match(/"JobRunState":"FAILED"/);
  });
});
