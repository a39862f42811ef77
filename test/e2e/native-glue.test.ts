// Done-when of the native integrations: the PSD runner task replaced by glue:startJobRun.sync (and a lambda:invoke
// of a configured local handler after it) synthesizes with least-privilege IAM, and the local runtime (npm start)
// runs it to the same joined dataset as the shipped workflow.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import { allStates } from "../../asl/loader";
import { DEFAULT_CONFIG_FILE, loadConfig, parseConfig, PROJECT_ROOT, type EtlConfig } from "../../core/config";
import { runLocalWorkflow } from "../../local/runtime";
import { writeSampleData } from "../../local/sample-data";
import { synthConfig, resourceWith } from "../stacks/synth";

/** The shipped ASL with the PSD branch's runner task replaced by a .sync Glue task, then a Lambda check. */
function nativePsd(asl: any): any {
  const branch = asl.States.ProcessDatasets.Branches.find((b: any) => b.States.PSD).States;
  branch.PSD = {
    Type: "Task",
    Comment: "Runs Glue job PSD directly (.sync).",
    Resource: "arn:aws:states:::glue:startJobRun.sync",
    Parameters: { JobName: "${JobName.PSD}", Arguments: { "--etl_execution.$": "$$.Execution.Name" } },
    TimeoutSeconds: 7200,
    Retry: [{ ErrorEquals: ["Glue.ConcurrentRunsExceededException"], IntervalSeconds: 30, MaxAttempts: 6, BackoffRate: 2 }],
    ResultSelector: { "jobName.$": "$.JobName", "jobRunId.$": "$.Id", "state.$": "$.JobRunState" },
    ResultPath: "$.job",
    Next: "CheckPSDRun",
  };
  branch.CheckPSDRun = {
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: "${FunctionName.checkRun}", "Payload.$": "$.job" },
    ResultSelector: { "checked.$": "$.Payload.checked" },
    ResultPath: "$.check",
    End: true,
  };
  return asl;
}

function nativeConfig(root: string): EtlConfig {
  mkdirSync(join(root, "asl"), { recursive: true });
  const asl = nativePsd(JSON.parse(readFileSync(join(PROJECT_ROOT, "asl", "etl-workflow.asl.json"), "utf8")));
  writeFileSync(join(root, "asl", "native-glue.asl.json"), JSON.stringify(asl, null, 2));
  const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
  raw.scriptsDir = join(PROJECT_ROOT, raw.scriptsDir ?? "glue-scripts");
  raw.stateMachine.definition = "asl/native-glue.asl.json";
  raw.lambdaFunctions = { checkRun: { functionName: "etl-dev-check-run", localHandler: resolve(__dirname, "../fixtures/native-glue/check-run.ts") } };
  writeFileSync(join(root, "etl.config.json"), JSON.stringify(raw, null, 2));
  return parseConfig(raw, { source: "native-glue variant of etl.config.json", rootDir: root });
}

async function sortedRows(dir: string): Promise<string> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const result = await connection.runAndReadAll(`SELECT * FROM read_parquet('${join(dir, "*.parquet")}') ORDER BY ALL`);
    return JSON.stringify(result.getRowObjectsJson());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("native Glue integration replacing the PSD runner task (done-when)", function () {
  this.timeout(120_000);
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
    expect(sid("PSD")).to.deep.equal({
      Effect: "Allow",
      Sid: "PSD",
      Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
      Resource: ["arn:${data.aws_partition.partition.partition}:glue:us-east-1:${data.aws_caller_identity.account.account_id}:job/etl-dev-PSD"],
    });
    expect(sid("CheckPSDRun").Action).to.deep.equal(["lambda:InvokeFunction"]);
    expect(sid("CheckPSDRun").Resource).to.deep.equal([
      "arn:${data.aws_partition.partition.partition}:lambda:us-east-1:${data.aws_caller_identity.account.account_id}:function:etl-dev-check-run",
      "arn:${data.aws_partition.partition.partition}:lambda:us-east-1:${data.aws_caller_identity.account.account_id}:function:etl-dev-check-run:*",
    ]);
    // Only the jobs still on the runner keep Glue access through it; the role grants Glue on PSD alone.
    const glueResources = policy.Statement.filter((s: any) => s.Action.some((a: string) => a.startsWith("glue:"))).flatMap((s: any) => s.Resource);
    expect(glueResources).to.deep.equal([sid("PSD").Resource[0]]);
    const definition = JSON.parse(resourceWith(stateMachine, "aws_sfn_state_machine", "name", "etl-dev-workflow").definition);
    expect(allStates(definition).find(([n]) => n === "PSD")![1].Resource).to.equal("arn:aws:states:::glue:startJobRun.sync");
  });

  it("runs locally to the same joined dataset as the shipped workflow, the Glue run recorded in the report", async () => {
    const inputs = await writeSampleData(join(root, "data"), { salesRows: 3000 });
    const options = { inputs, glueTransitionMs: 20, timeoutMs: 90_000 };
    const shipped = await runLocalWorkflow({ ...options, config: loadConfig(), outDir: join(root, "shipped") });
    const native = await runLocalWorkflow({ ...options, config, outDir: join(root, "native") });
    expect(shipped.status).to.equal("SUCCEEDED");
    expect(native.status, native.error).to.equal("SUCCEEDED");
    expect(native.output.rows).to.equal(shipped.output.rows).and.to.be.greaterThan(0);
    expect(await sortedRows(join(root, "native"))).to.equal(await sortedRows(join(root, "shipped")));
    expect(native.jobs.map((j) => [j.jobName, j.state]).sort()).to.deep.equal([["etl-dev-JMSD", "SUCCEEDED"], ["etl-dev-PMD", "SUCCEEDED"], ["etl-dev-PSD", "SUCCEEDED"]]);
    const states = Object.fromEntries(native.states.map((s) => [s.name, s.status]));
    expect(states).to.include({ PSD: "SUCCEEDED", CheckPSDRun: "SUCCEEDED" });
  });

  it("npm start runs it with ETL_CONFIG naming that configuration", () => {
    const out = join(root, "cli-out");
    const result = spawnSync("npm", ["start", "--silent", "--", "--out", out, "--report", join(root, "cli-report.json")], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ETL_CONFIG: join(root, "etl.config.json"), CHECKPOINT_DISABLE: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      encoding: "utf8",
      timeout: 100_000,
    });
    expect(result.status, result.stderr + result.stdout).to.equal(0);
    const report = JSON.parse(readFileSync(join(root, "cli-report.json"), "utf8"));
    expect(report.status).to.equal("SUCCEEDED");
    expect(report.states.map((s: { name: string }) => s.name)).to.include.members(["PSD", "CheckPSDRun"]);
    expect(report.output.rows).to.be.greaterThan(0);
  });

  it("a failed PSD run takes the workflow's Catch path with the run's error in the cause", async () => {
    const inputs = await writeSampleData(join(root, "data2"), { salesRows: 500 });
    const report = await runLocalWorkflow({ inputs, glueTransitionMs: 20, timeoutMs: 90_000, config, outDir: join(root, "failed"), failJobs: ["PSD"] });
    expect(report.status).to.equal("FAILED");
    expect(report.states.find((s) => s.name === "PSD")!.status).to.equal("FAILED");
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.match(/States\.TaskFailed/).and.to.match(/"JobRunState":"FAILED"/);
  });
});
