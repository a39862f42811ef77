// End to end: `npm start` (the real CLI, local services, handlers, ASL and DuckDB engine): its mechanisms on the
// active configuration (ETL_CONFIG, default etl.config.json), whatever its datasets and jobs. What the CLI prints,
// exits with and writes is checked on its entry function in this process (runCliInProcess); signals, the launcher
// and what only a process shows (no process left, a second process refused) on child processes (runCli). The
// shipped example's own results through the CLI are in test/example/e2e-cli.test.ts.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import { loadConfig, PROJECT_ROOT, resourceNames, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { snakeCase } from "../../local/csv";
import { writeDatasetSamples } from "../../local/dataset-samples";
import { MANIFEST_FILE } from "../../local/output-folder";
import { readParquet } from "../../local/parquet";
import type { RunReport } from "../../local/runtime";
import { folderSnapshot } from "../folder-snapshot";
import { listening } from "../listening";
import { jobStateName } from "../support/asl-states";
import { cliResult, expectAllClosed, expectEngines, runCli, runCliInProcess, type CliResult } from "../support/cli";
import { configVariant } from "../support/config-variant";
import { workflowShape } from "../support/workflow";

const ROOT = PROJECT_ROOT;
const config = loadConfig();
const shape = workflowShape(config);
const names = resourceNames(config);
/** The job --fail-job fails: the join when there is one (it runs last), else the last job. */
const failJob = shape.joinJobs[0] ?? shape.jobs[shape.jobs.length - 1];
/** The dataset whose upload the tests delay, give a bad file, etc. */
const [firstDataset] = shape.datasets;
const schemaOf = (dataset: string) => readSchemaFile(schemaPath(config, config.datasets[dataset].schema));
/** --input NAME=FILE for each dataset of `files`. */
const inputArgs = (files: Record<string, string>) => Object.entries(files).flatMap(([dataset, file]) => ["--input", `${dataset}=${file}`]);

describe("e2e: npm start", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-e2e-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  /** Small sample files for `datasets` (default: every configured one), as `npm start` generates them. */
  const samples = (name: string, datasets?: string[]) => writeDatasetSamples(config, join(dir, name), datasets, { salesRows: 2000, days: 400 });


  it("--fail-job: the execution fails at that job, the failure rule publishes the notification, reports FAILED and exits 1", async () => {
    const out = join(dir, "failed");
    const reportFile = join(dir, "failed.json");
    const result = await runCliInProcess(["--fail-job", failJob, "--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
    await expectAllClosed(result);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("FAILED");
    expect(report.jobs.find((j) => j.jobName === names.glueJob(failJob))!.state).to.equal("FAILED");
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.contain("JobFailedError").and.contain(names.glueJob(failJob));
    expect(report.states.find((s) => s.name === jobStateName(failJob))!.status).to.equal("FAILED");
    expect(report.output.rows).to.equal(0);
    expect(await readdir(out)).to.deep.equal([]);
    expect(result.stdout).to.contain("notification published");
    expect(result.stdout).to.contain("Workflow FAILED");
  });

  it("--fail-job on a job that runs on Athena: its query fails, the run takes the Catch path and leaves no output", async () => {
    // The configuration's job on Athena, or else its first dataset job moved there (one configuration line).
    let athenaJob = shape.jobsOn("athena")[0];
    let variant: { file: string; config: EtlConfig } | undefined;
    if (athenaJob === undefined) {
      athenaJob = shape.datasetJobs[0];
      await mkdir(join(dir, "athena-variant"));
      variant = configVariant(join(dir, "athena-variant"), (raw) => {
        raw.jobs[athenaJob].engine = "athena";
        delete raw.jobs[athenaJob].workerType;
        delete raw.jobs[athenaJob].numberOfWorkers;
      });
    }
    const name = names.glueJob(athenaJob);
    const out = join(dir, "failed-athena");
    const reportFile = join(dir, "failed-athena.json");
    const result = await runCliInProcess(["--fail-job", athenaJob, "--out", out, "--report", reportFile], variant ? { ETL_CONFIG: variant.file } : {});
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
    await expectAllClosed(result, variant?.config);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("FAILED");
    const run = report.jobs.find((j) => j.jobName === name)!;
    expect(run).to.deep.include({ engine: "athena", state: "FAILED" });
    expect(run.errorMessage).to.contain(`Injected failure: job ${name}`);
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.contain("JobFailedError").and.contain(name);
    expect(report.output.rows).to.equal(0);
    expect(await readdir(out)).to.deep.equal([]);
  });

  it("a job on Athena refuses an input file its raw table cannot read (a column beyond the schema's): the job fails naming the file, exit 1", async () => {
    // The configuration's job on Athena that reads a raw dataset, or else its first dataset job moved there.
    let athenaJob = shape.jobsOn("athena").find((id) => shape.datasetJobs.includes(id));
    let variant: { file: string; config: EtlConfig } | undefined;
    if (athenaJob === undefined) {
      athenaJob = shape.datasetJobs[0];
      await mkdir(join(dir, "athena-wide-variant"));
      variant = configVariant(join(dir, "athena-wide-variant"), (raw) => {
        raw.jobs[athenaJob!].engine = "athena";
        delete raw.jobs[athenaJob!].workerType;
        delete raw.jobs[athenaJob!].numberOfWorkers;
      });
    }
    const dataset = config.jobs[athenaJob].inputs.find((i) => i.dataset !== undefined)!.dataset!;
    const file = (await samples("athena-wide", [dataset]))[dataset];
    const [header, ...rows] = (await readFile(file, "utf8")).trim().split("\n");
    await writeFile(file, [`${header},Notes`, ...rows.map((r) => `${r},note`)].join("\n") + "\n");
    const reportFile = join(dir, "athena-wide.json");
    const result = await runCliInProcess(["--input", `${dataset}=${file}`, "--out", join(dir, "athena-wide-out"), "--report", reportFile], variant ? { ETL_CONFIG: variant.file } : {});
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
    await expectAllClosed(result, variant?.config);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("FAILED");
    expect(report.notifications).to.have.length(1);
    const refusal = `the header has ${header.split(",").length + 1} columns`;
    expect(report.notifications[0].message).to.contain("JobFailedError").and.contain(names.glueJob(athenaJob)).and.contain(refusal).and.contain(basename(file));
    expect(result.stdout).to.contain(refusal);
  });

  /**
   * A whole run on sample files, with --upload-before-start and a delayed upload, that succeeds: its output folder is
   * also the previous result the data-safety case keeps. Started by the first test that reads it (each still runs it
   * when run alone).
   */
  let beforeStart: Promise<{ data: Record<string, string>; out: string; reportFile: string; result: CliResult }> | undefined;
  const beforeStartRun = () =>
    (beforeStart ??= (async () => {
      const data = await samples("small");
      const out = join(dir, "before");
      const reportFile = join(dir, "before.json");
      const delayed = shape.datasets[shape.datasets.length - 1];
      const result = await runCliInProcess([...inputArgs(data), "--upload-before-start", "--delay", `${delayed}=300`, "--out", out, "--report", reportFile]);
      return { data, out, reportFile, result };
    })());

  it("--upload-before-start with a delayed upload: the datasets uploaded before the start still release the waits", async () => {
    const { reportFile, result } = await beforeStartRun();
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const lines = result.stdout.split("\n");
    const lastUpload = lines.findLastIndex((l) => l.includes("uploaded "));
    const started = lines.findIndex((l) => / execution RUNNING/.test(l));
    expect(lastUpload).to.be.within(0, started);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("SUCCEEDED");
    expect(report.output.rows).to.be.greaterThan(0);
    await expectAllClosed(result);
  });

  it("rejects a --report path that cannot be written with exit 2, naming it, before starting anything", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "x");
    for (const report of [join(file, "report.json"), dir]) {
      const result = await runCliInProcess(["--report", report, "--out", join(dir, "unused")]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(2);
      expect(result.stderr).to.contain(`--report ${report}`).and.not.match(/\n\s+at /);
      expect(result.stdout).to.not.contain("local services up");
    }
  });

  it("rejects unknown flags, bad values and unknown jobs with exit 2 and the usage; --help exits 0", async () => {
    // The launcher's exit code on such a failure (a real process): test/tools/commands.test.ts.
    const unknown = await runCliInProcess(["--bogus"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("--bogus").and.contain("Usage: npm start");
    const badDelay = await runCliInProcess(["--delay", `${firstDataset}=soon`]);
    expect([badDelay.code, badDelay.stderr.includes(`--delay ${firstDataset}=soon`)]).to.deep.equal([2, true]);
    // Node clamps timers over 2^31-1 ms to 1 ms: such a delay is a usage error, not an immediate upload.
    const hugeDelay = await runCliInProcess(["--delay", `${firstDataset}=${2 ** 31}`]);
    expect([hugeDelay.code, hugeDelay.stderr.includes(`--delay ${firstDataset}=${2 ** 31}: at most 2147483647`)], hugeDelay.stderr).to.deep.equal([2, true]);
    const badJob = await runCliInProcess(["--fail-job", "NOPE"]);
    expect([badJob.code, badJob.stderr.includes("unknown job NOPE")]).to.deep.equal([2, true]);
    const help = await runCliInProcess(["--help"]);
    expect(help.code).to.equal(0);
    for (const flag of ["--input", "--delay", "--out", "--report", "--fail-job", "--upload-before-start"]) expect(help.stdout).to.contain(flag);
    for (const dataset of shape.datasets) expect(help.stdout).to.match(new RegExp(`^  ${dataset} +upload prefix `, "m"));
  });

  /**
   * A run (a process: its lock names its pid) that waits on an upload until a second run on its --out, in this
   * process, has been answered, then is stopped with Ctrl-C: started by the first test that reads it, so that each
   * test still runs it when run alone.
   */
  let interrupted: Promise<{ out: string; reportFile: string; first: CliResult; refused: CliResult }> | undefined;
  const interruptedRun = () =>
    (interrupted ??= (async () => {
      const out = join(dir, "shared-out");
      const reportFile = join(dir, "shared.json");
      let second: Promise<CliResult> | undefined;
      const first = await runCli(["--delay", `${firstDataset}=60000`, "--out", out, "--report", reportFile], (line, child) => {
        if (!second && / execution RUNNING/.test(line)) {
          second = runCliInProcess(["--out", out]);
          void second.finally(() => child.kill("SIGINT"));
        }
      });
      expect(second, `the run never reached RUNNING\n${first.stdout}\n${first.stderr}`).to.not.equal(undefined);
      return { out, reportFile, first, refused: await second! };
    })());

  it("closes every server and exits on Ctrl-C (SIGINT) in the middle of a run", async () => {
    // The run the second-run case below stops with Ctrl-C while its upload waits (60 s).
    const { first } = await interruptedRun();
    expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(130);
    expect(first.stderr).to.contain("SIGINT");
    await expectAllClosed(first);
  });

  it("Ctrl-C while --upload-before-start waits on a delay exits 130 with an interrupted FAILED report, no stack trace", async () => {
    let sent = false;
    const reportFile = join(dir, "interrupted-before.json");
    const args = ["--upload-before-start", "--delay", `${firstDataset}=20000`, "--out", join(dir, "interrupted-before"), "--report", reportFile];
    // Another dataset uploaded: the delay's wait began with that upload (the datasets upload together). With one
    // dataset, the services up: the wait begins next, and one begun after Ctrl-C ends at once (the run's signal).
    const waiting = shape.datasets.length > 1 ? new RegExp(`uploaded (${shape.datasets.slice(1).join("|")}):`) : /local services up/;
    const result = await runCli(args, (line, child) => {
      if (!sent && waiting.test(line)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent, result.stdout).to.equal(true);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(130);
    expect(result.stderr).to.contain("SIGINT").and.not.match(/\n\s+at /);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("FAILED");
    expect(report.error).to.contain("interrupted");
    expect(result.stdout).to.contain("Workflow FAILED");
    await expectAllClosed(result);
  });

  describe("data safety", () => {
    it("a failed run leaves the previous result and the user's own files as they were; Parquet files it did not write are refused (exit 2)", async () => {
      // The previous result: the --upload-before-start case's run (a whole run that succeeded).
      const { data, out, result: first } = await beforeStartRun();
      expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(0);
      await writeFile(join(out, "README.txt"), "my notes");
      const before = await folderSnapshot(out);

      const reportFile = join(dir, "safe-failed.json");
      const failed = await runCliInProcess([...inputArgs(data), "--out", out, "--fail-job", failJob, "--report", reportFile]);
      expect(failed.code, `${failed.stdout}\n${failed.stderr}`).to.equal(1);
      expect(await folderSnapshot(out)).to.deep.equal(before);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      const manifest = JSON.parse(before[MANIFEST_FILE]);
      expect(report.output).to.deep.equal({ dir: out, files: manifest.files, rows: manifest.rows, written: false });
      expect(failed.stdout).to.contain(`output: ${out} unchanged: it still holds the previous result (${manifest.rows.toLocaleString("en-US")} rows)`);

      const users = join(dir, "users-out");
      await mkdir(users);
      await writeFile(join(users, "part-00000.snappy.parquet"), "the user's own Parquet");
      const refused = await runCliInProcess([...inputArgs(data), "--out", users]);
      expect(refused.code, refused.stderr).to.equal(2);
      expect(refused.stderr).to.contain(users).and.contain("part-00000.snappy.parquet").and.contain("did not write");
      expect(refused.stdout).to.not.contain("local services up");
      expect(await folderSnapshot(users)).to.deep.equal({ "part-00000.snappy.parquet": "the user's own Parquet" });
    });

    it("an input whose every row is dropped (ISO dates) fails with DataQualityError: exit 1, the failure path notifies, the counts are shown", async () => {
      // A job reading one dataset with a date column, on the local engine (Glue or EMR Serverless): on Glue if need be.
      const readsOneDated = (id: string) => {
        const inputs = config.jobs[id].inputs;
        return inputs.length === 1 && inputs[0].dataset !== undefined && schemaOf(inputs[0].dataset).columns.some((c) => c.type === "date");
      };
      const candidates = shape.datasetJobs.filter(readsOneDated);
      expect(candidates, "a job reads one dataset with a date column").to.not.be.empty;
      const job = candidates.find((id) => config.jobs[id].engine !== "athena") ?? candidates[0];
      let variant: { file: string; config: EtlConfig } | undefined;
      if (config.jobs[job].engine === "athena") {
        await mkdir(join(dir, "iso-variant"));
        variant = configVariant(join(dir, "iso-variant"), (raw) => void (raw.jobs[job].engine = "glue"));
      }
      const engine = (variant?.config ?? config).jobs[job].engine;
      const [{ name: view, dataset }] = config.jobs[job].inputs;
      const data = await samples("iso", [dataset!]);
      const lines = (await readFile(data[dataset!], "utf8")).trim().split("\n");
      const iso = [lines[0], ...lines.slice(1).map((line) => line.replace(/\b(\d+)\/(\d+)\/(\d{4})\b/g, (_, m, d, y) => `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`))];
      expect(iso[1]).to.match(/\d{4}-\d\d-\d\d/);
      await writeFile(data[dataset!], iso.join("\n") + "\n");
      const rows = lines.length - 1;
      const reportFile = join(dir, "iso.json");
      const result = await runCliInProcess([...inputArgs(data), "--out", join(dir, "iso-out"), "--report", reportFile], variant ? { ETL_CONFIG: variant.file } : {});
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(report.status).to.equal("FAILED");
      const run = report.jobs.find((j) => j.jobName === names.glueJob(job))!;
      expect(run.state).to.equal("FAILED");
      expect(run.errorMessage).to.match(new RegExp(`^DataQualityError: input '${view}': all ${rows} rows read were dropped`));
      expect([run.rowsRead, run.droppedRows, run.rowsWritten]).to.deep.equal([{ [view]: rows }, { [view]: rows }, 0]);
      expect(report.error).to.match(/^DataQualityError/);
      expect(report.notifications).to.have.length(1);
      expect(report.notifications[0].message).to.contain("DataQualityError").and.contain(`rows read: ${view} ${rows}; dropped: ${view} ${rows}; written: 0`);
      expect(report.output).to.deep.equal({ dir: join(dir, "iso-out"), files: [], rows: 0, written: false });
      const n = rows.toLocaleString("en-US");
      expect(result.stdout).to.match(
        new RegExp(`job ${names.glueJob(job)} \\(${engine}\\) run \\S+ FAILED \\(DataQualityError: .*\\), dropped ${n} malformed or unparseable row\\(s\\) of ${view}; rows read ${n}, written 0`),
      );
      await expectAllClosed(result, variant?.config);
    });

    it("refuses a header naming a required column twice, naming it and both positions (exit 2)", async () => {
      const file = (await samples("twice", [firstDataset]))[firstDataset];
      const lines = (await readFile(file, "utf8")).trim().split("\n");
      // The header's first column once more, in capitals and after a space: the same column after snake_case.
      const header = lines[0].split(",");
      const column = schemaOf(firstDataset).columns.find((c) => snakeCase(c.source!) === snakeCase(header[0]))!;
      await writeFile(file, [`${lines[0]}, ${header[0].toUpperCase()}`, ...lines.slice(1).map((l) => `${l},junk`)].join("\n") + "\n");
      const result = await runCliInProcess(["--input", `${firstDataset}=${file}`, "--out", join(dir, "twice-out")]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(file).and.contain(`column '${column.name}' twice, at positions 1 and ${header.length + 1}`);
    });

    it("a binary input is refused naming the file and what it looks like, never its bytes (exit 2)", async () => {
      const file = (await samples("binary", [firstDataset]))[firstDataset];
      await writeFile(file, gzipSync(await readFile(file)));
      const result = await runCliInProcess(["--input", `${firstDataset}=${file}`, "--out", join(dir, "binary-out")]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(file).and.contain("gzip data").and.not.match(/[\x00-\x08\x1f\ufffd]/);
    });

    it("a second run on the same --out is refused while the first runs; the first's report describes what is on disk", async () => {
      const { out, reportFile, first, refused } = await interruptedRun();
      expect(refused.code, refused.stderr).to.equal(2);
      expect(refused.stderr).to.contain(out).and.contain("another run is writing to this output folder").and.contain("pid ");
      expect(refused.stdout).to.not.contain("local services up");
      expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(130);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(report.output).to.deep.equal({ dir: out, files: [], rows: 0, written: false });
      expect(await readdir(out)).to.deep.equal([]);

      // Once the first has ended, its lock is gone and the folder is free: a whole run on generated data succeeds,
      // through the launcher (a real process, which must also end by itself: nothing left open).
      const again = await runCli(["--out", out, "--report", reportFile]);
      expect(again.code, `${again.stdout}\n${again.stderr}`).to.equal(0);
      await expectAllClosed(again);
      const done = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(done.status).to.equal("SUCCEEDED");
      expectEngines(done, config);
      expect(done.states.every((s) => s.status === "SUCCEEDED")).to.equal(true);
      for (const job of shape.jobs) expect(again.stdout).to.match(new RegExp(`\\[\\s*\\d+\\.\\ds\\] state ${jobStateName(job)} entered`));
      expect(done.output.rows).to.be.greaterThan(0);
      expect((await readdir(out)).sort()).to.deep.equal([MANIFEST_FILE, ...done.output.files].sort());
      expect((await readParquet(out, 0)).rows).to.equal(done.output.rows);
    });
  });

  describe("signals", () => {
    /** The pids of a process's children (Linux /proc). */
    async function childrenOf(pid: number): Promise<number[]> {
      const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
      return text.trim().split(/\s+/).filter(Boolean).map(Number);
    }
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    it("SIGTERM to npm (`npm start`) once its execution runs: npm forwards it to the CLI (its own process: the script execs node), which stops with 130 within seconds, every server closed, no process left, nothing written", async () => {
      const out = join(dir, "npm-term");
      // A 2-minute delay: a run that ignored the signal would last that long, far past the bounds below.
      const npm = spawn("npm", ["start", "--", "--delay", `${firstDataset}=120000`, "--out", out], {
        cwd: ROOT,
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      npm.stderr.on("data", (c: Buffer) => (stderr += c));
      const running = new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no execution within 120 s\n${stdout}\n${stderr}`)), 120_000);
        npm.stdout.on("data", (c: Buffer) => {
          stdout += c;
          if (/ execution RUNNING/.test(stdout)) {
            clearTimeout(timer);
            resolvePromise();
          }
        });
      });
      const closed = new Promise<number | null>((r) => npm.on("close", (code) => r(code)));
      await running;
      // Every process npm started, down the tree.
      const tree: number[] = [];
      for (let queue = [npm.pid!]; queue.length; ) {
        const children = await childrenOf(queue.shift()!);
        tree.push(...children);
        queue.push(...children);
      }
      const sentAt = Date.now();
      npm.kill("SIGTERM");
      const result = cliResult(await closed, stdout, stderr);
      while (tree.some(alive) && Date.now() - sentAt < 35_000) await new Promise((r) => setTimeout(r, 100));
      const stoppedMs = Date.now() - sentAt;
      expect(tree.length, "npm runs the CLI").to.be.greaterThan(0);
      expect(tree.filter(alive), "processes left").to.deep.equal([]);
      expect(stoppedMs).to.be.below(30_000);
      // npm exits with the CLI's code.
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(130);
      expect(result.stderr).to.contain("SIGTERM: stopping the run");
      await expectAllClosed(result, config);
      expect(await readdir(out)).to.deep.equal([]);
    });

    it("SIGTERM while the CLI is still starting (loading, checking its inputs) exits 130 at once", async () => {
      // The CLI's modules are loading once DuckDB's native library is mapped (after local/early-signals.ts, which the
      // launched app runs first): the moment to interrupt, before any server starts.
      const loading = async (pid: number) => (await readFile(`/proc/${pid}/maps`, "utf8").catch(() => "")).includes("duckdb");
      const child = spawn(process.execPath, ["tools/launch.cjs", "local/cli.ts", "--out", join(dir, "early-term")], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      const closed = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      const started = Date.now();
      while (!(await loading(child.pid!)) && Date.now() - started < 120_000) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGTERM");
      const sentAt = Date.now();
      expect(await closed, `${stdout}\n${stderr}`).to.equal(130);
      // Handled once the loading module yields; a run that ignored it would go on to the whole workflow (exit 0).
      expect(Date.now() - sentAt).to.be.below(30_000);
      expect(stderr).to.contain("SIGTERM");
      for (const endpoint of cliResult(await closed, stdout, stderr).endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
    });
  });
});
