// The README's promise, tried as a user would: the three-datasets fixture (a new dataset, its job and its ASL
// branch, as data only) applied to a copy of the project, then npm test's configuration-driven part
// (`npm run test:config`), `npm start` (with generated data and with --input NAME=FILE) and `cdktf synth` there.
// What is new is read from the configurations, not pinned here.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { expect } from "chai";
import { allStates } from "../../asl/loader";
import { DEFAULT_CONFIG_FILE, definitionPath, loadConfig, PROJECT_ROOT, resourceNames, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { schemaChunks } from "../../local/dataset-samples";
import type { RunReport } from "../../local/runtime";
import { stackIds } from "../../stacks/app";
import { removeProjectCopy, stableProjectCopy } from "../support/project-copy";

const FIXTURE_DIR = join(PROJECT_ROOT, "test", "fixtures", "three-datasets");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", POWERTOOLS_LOG_LEVEL: "ERROR" };
    // The copy's own etl.config.json, as a user's checkout would have it.
    delete env.ETL_CONFIG;
    delete env.ETL_ENV;
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe("e2e: the three-datasets fixture applied to a copy of the project", () => {
  let root: string;
  let config: EtlConfig;
  let newDatasets: string[];
  let newJobs: string[];

  before(() => {
    // Its builds and transforms are reused by the next run: what is under test is the fixture in a copy, not a cold build.
    root = stableProjectCopy("three-datasets");
    // Apply the fixture: its configuration, ASL and scripts replace the project's.
    for (const file of filesUnder(FIXTURE_DIR)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      cpSync(join(FIXTURE_DIR, file), join(root, file));
    }
    // The fixture's $schema points from its own folder; at the project's root, as a user's file would, it is ./.
    const rootConfig = join(root, "etl.config.json");
    writeFileSync(rootConfig, JSON.stringify({ ...JSON.parse(readFileSync(rootConfig, "utf8")), $schema: "./etl.config.schema.json" }, null, 2) + "\n");
    config = loadConfig(join(root, "etl.config.json"));
    const shipped = loadConfig(DEFAULT_CONFIG_FILE);
    newDatasets = Object.keys(config.datasets).filter((d) => !(d in shipped.datasets));
    newJobs = Object.keys(config.jobs).filter((j) => !(j in shipped.jobs));
    expect(newDatasets, "the fixture adds a dataset").to.not.be.empty;
    expect(newJobs, "the fixture adds a job").to.not.be.empty;
  });
  after(() => {
    if (root) removeProjectCopy(root); // undefined if before() failed: removeAppBuild(undefined) would remove every app record
  });

  /** The ASL states of a dataset's branch that must have run: its wait task and the runner tasks of the jobs reading it. */
  function branchStates(dataset: string): string[] {
    const raw = JSON.parse(readFileSync(definitionPath(config), "utf8"));
    const states = allStates(raw);
    const wait = states.find(([, s]) => s.Resource === `\${WaitActivityArn.${dataset}}`)![0];
    const readers = Object.entries(config.jobs)
      .filter(([, j]) => j.inputs.some((i) => i.dataset === dataset))
      .map(([id]) => states.find(([, s]) => s.Parameters?.JobName === `\${JobName.${id}}`)![0]);
    return [wait, ...readers];
  }

  async function npmStart(args: string[]): Promise<{ result: Result; report: RunReport }> {
    const reportFile = join(root, "out", `report-${Date.now()}.json`);
    const result = await run("npm", ["start", "--", "--out", join(root, "out", "joined"), "--report", reportFile, ...args], root, 150_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    return { result, report: JSON.parse(readFileSync(reportFile, "utf8")) };
  }

  function expectBranchesRan(report: RunReport, stdout: string): void {
    expect(report.status).to.equal("SUCCEEDED");
    const names = resourceNames(config);
    for (const dataset of newDatasets) {
      for (const state of branchStates(dataset)) expect(report.states.find((s) => s.name === state)?.status, state).to.equal("SUCCEEDED");
      expect(stdout).to.match(new RegExp(`uploaded ${dataset}: .* -> s3://[^ ]+/${config.datasets[dataset].prefix}`));
    }
    for (const job of newJobs) expect(report.jobs.find((j) => j.jobName === names.glueJob(job))?.state, job).to.equal("SUCCEEDED");
  }

  it("npm run test:config (npm test's configuration-driven part) passes on the copy's configuration", async function () {
    this.timeout(600_000); // about 20 s of CPU; over 5 minutes was seen at load 24
    const result = await run("npm", ["run", "test:config"], root, 540_000);
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(result.stdout);
    expect(summary, `${result.stdout}\n${result.stderr}`).to.not.equal(null);
    expect(result.code, result.stdout.slice(-20_000)).to.equal(0);
    expect(Number(summary![2])).to.equal(0);
    expect(Number(summary![1]), "it ran the unit set").to.be.greaterThan(100);
  });

  it("npm start -- --help lists the datasets of the copy's configuration, the new one included", async () => {
    const result = await run("npm", ["start", "--silent", "--", "--help"], root, 150_000);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain("--input NAME=FILE").and.contain("--delay NAME=MS").and.contain("Datasets of etl.config.json");
    for (const name of Object.keys(config.datasets)) expect(result.stdout).to.match(new RegExp(`^  ${name} +upload prefix ${config.datasets[name].prefix}`, "m"));
    for (const name of newDatasets) expect(result.stdout).to.match(new RegExp(`^  ${name} .*default data generated from its schema$`, "m"));
  });

  it("npm start runs the new dataset's branch on data generated from its schema; each final job's output goes to its own subfolder", async () => {
    const { result, report } = await npmStart([]);
    expectBranchesRan(report, result.stdout);
    // The jobs no other job reads: with more than one, --out holds a subfolder of Parquet files per job.
    const finals = Object.keys(config.jobs).filter((id) => !Object.values(config.jobs).some((j) => j.inputs.some((i) => i.job === id)));
    expect(finals.length, "the fixture leaves more than one final job").to.be.greaterThan(1);
    const out = join(root, "out", "joined");
    expect(readdirSync(out).filter((name) => !name.startsWith(".")).sort()).to.deep.equal([...finals].sort());
    for (const job of finals) {
      expect(readdirSync(join(out, job)).filter((f) => f.endsWith(".parquet")), job).to.not.be.empty;
      expect(report.output.byJob?.[job]?.rows, job).to.be.above(0);
      expect(result.stdout).to.contain(`output of ${job}: ${join(out, job)} (`);
    }
  });

  it("npm start -- --input NAME=FILE runs it on the given file (a bad row in it is dropped and counted)", async () => {
    const inputs: string[] = [];
    const files: Record<string, string> = {};
    for (const dataset of newDatasets) {
      const schema = readSchemaFile(schemaPath(config, config.datasets[dataset].schema));
      const rows = [...schemaChunks(schema, { days: 5, seed: 99, name: dataset })].join("");
      // One more row whose first typed value does not parse.
      const bad = schema.columns.map((c) => (c.type === "string" ? "x" : "not-a-value")).join(",");
      files[dataset] = join(root, "inputs", `${dataset}.csv`);
      mkdirSync(dirname(files[dataset]), { recursive: true });
      writeFileSync(files[dataset], `${rows}${bad}\n`);
      inputs.push("--input", `${dataset}=${files[dataset]}`);
    }
    const { result, report } = await npmStart(inputs);
    expectBranchesRan(report, result.stdout);
    const names = resourceNames(config);
    for (const dataset of newDatasets) {
      expect(result.stdout).to.contain(`uploaded ${dataset}: ${files[dataset]} ->`);
      const readers = Object.entries(config.jobs).filter(([, j]) => j.inputs.some((i) => i.dataset === dataset));
      for (const [id, job] of readers) {
        const view = job.inputs.find((i) => i.dataset === dataset)!.name;
        expect(report.jobs.find((j) => j.jobName === names.glueJob(id))?.droppedRows?.[view], `${id} reads ${view}`).to.equal(1);
      }
    }
  });

  it("cdktf synth adds the new dataset's wait activity and the new job", async () => {
    const result = await run("npx", ["cdktf", "synth"], root, 150_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const ids = stackIds(config);
    const stack = (id: string) => JSON.parse(readFileSync(join(root, "cdktf.out", "stacks", id, "cdk.tf.json"), "utf8"));
    const names = resourceNames(config);
    const activities = Object.values<any>(stack(ids.stateMachine).resource.aws_sfn_activity).map((a) => a.name);
    for (const dataset of newDatasets) expect(activities).to.include(names.waitActivity(dataset));
    const jobs = Object.values<any>(stack(ids.glue).resource.aws_glue_job).map((j) => j.name);
    for (const job of newJobs) expect(jobs).to.include(names.glueJob(job));
  });

  it("the synth refuses the new branch miscopied (its wait task naming another dataset), naming the state", async () => {
    const file = definitionPath(config);
    const original = readFileSync(file, "utf8");
    try {
      const raw = JSON.parse(original);
      const dataset = newDatasets[0];
      const [name, wait] = allStates(raw).find(([, s]) => s.Resource === `\${WaitActivityArn.${dataset}}`)!;
      const other = Object.keys(config.datasets).find((d) => d !== dataset)!;
      wait.Parameters.dataset = other;
      writeFileSync(file, JSON.stringify(raw, null, 2));
      // cdktf.json's app command: the ASL is read at each synth, whether the app's build is reused or not.
      const result = await run(process.execPath, ["tools/launch.cjs", "main.ts"], root, 150_000);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain(`state '${name}', Parameters.dataset: is "${other}"`).and.not.match(/\n\s+at /);
    } finally {
      writeFileSync(file, original);
    }
  });
});
