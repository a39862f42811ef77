// End to end: `npm start` as a child process (the real CLI, local services, handlers, ASL and DuckDB engine).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import { loadConfig, resourceNames, type EtlConfig } from "../../core/config";
import type { RunReport } from "../../local/runtime";
import { writeSampleData } from "../../local/sample-data";
import { gzipSync } from "node:zlib";
import { MANIFEST_FILE } from "../../local/output-folder";
import { folderSnapshot } from "../folder-snapshot";
import { listening } from "../listening";
import { splitCsvLine } from "../csv-line";

const ROOT = resolve(__dirname, "..", "..");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The local endpoints the run announced. */
  endpoints: string[];
}

/** Runs `npm start -- args` as `node --import tsx local/cli.ts args`; `onLine` sees stdout lines as they come. */
function runCli(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "local/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) onLine?.(line, child);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    // The CLI sets process.exitCode and lets the event loop drain: a leaked server or timer would hang it here.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the CLI did not exit within 45 s\n${stdout}\n${stderr}`));
    }, 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const services = /local services up: (.*)/.exec(stdout)?.[1] ?? "";
      resolvePromise({ code, stdout, stderr, endpoints: [...services.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]) });
    });
  });
}

/** S3, DynamoDB, Step Functions, EventBridge and one service per engine the configuration's jobs use (Glue always). */
const serviceCount = (config: EtlConfig) => 4 + new Set(["glue", ...Object.values(config.jobs).map((j) => j.engine)]).size;

async function expectAllClosed(result: CliResult, config: EtlConfig = loadConfig()): Promise<void> {
  expect(result.endpoints, result.stdout).to.have.length(serviceCount(config));
  for (const endpoint of result.endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
}

// ---- the independent computation of the joined dataset, from the CSV text alone ----

function readCsv(text: string): Array<Record<string, string>> {
  const [headerLine, ...lines] = text.trim().split(/\r?\n/);
  const header = splitCsvLine(headerLine);
  return lines.map((line) => {
    const fields = splitCsvLine(line);
    expect(fields, line).to.have.length(header.length);
    return Object.fromEntries(header.map((h, i) => [h, fields[i]]));
  });
}

/** M/D/YYYY -> YYYY-MM-DD */
function isoDay(mdy: string): string {
  const [m, d, y] = mdy.split("/");
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}

/** One row per day present in both datasets: the daily sales aggregates, then the marketing metrics. */
function expectedJoin(salesCsv: string, marketingCsv: string): Array<Record<string, string | number | null>> {
  const daily = new Map<string, { opportunities: number; revenue: number; leads: number; leadRevenue: number }>();
  for (const row of readCsv(salesCsv)) {
    const day = isoDay(row["Date"]);
    const agg = daily.get(day) ?? { opportunities: 0, revenue: 0, leads: 0, leadRevenue: 0 };
    const revenue = Number(row["Forecasted Monthly Revenue"]);
    agg.opportunities++;
    agg.revenue += revenue;
    if (row["Opportunity Stage"] === "Lead") (agg.leads++, (agg.leadRevenue += revenue));
    daily.set(day, agg);
  }
  const rows: Array<Record<string, string | number | null>> = [];
  for (const m of readCsv(marketingCsv)) {
    const day = isoDay(m["Date"]);
    const sales = daily.get(day);
    if (!sales) continue;
    const metrics: Record<string, string | number | null> = {};
    for (const [header, value] of Object.entries(m)) {
      if (header === "Date") continue;
      const column = header.trim().toLowerCase().replace(/\s+/g, "_");
      metrics[column] = header === "Events" ? (value === "" ? null : value) : Number(value);
    }
    rows.push({
      date: day,
      opportunities: sales.opportunities,
      forecasted_monthly_revenue: sales.revenue,
      leads_generated: sales.leads,
      forecasted_lead_revenue: sales.leadRevenue,
      ...metrics,
    });
  }
  return rows.sort((a, b) => String(a.date).localeCompare(String(b.date)));
}

async function readParquetRows(dir: string): Promise<Array<Record<string, string | number | null>>> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${join(dir, "*.parquet")}') ORDER BY date`);
    // BIGINTs come back as strings in JSON form; compare numbers as numbers.
    return reader.getRowObjectsJson().map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === "date" || k === "events" || v === null ? (v as string | null) : Number(v)])),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("e2e: npm start", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-e2e-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Each job's run is reported with the job's engine and that engine's run id. */
  function expectEngines(report: RunReport, config: EtlConfig): void {
    const names = resourceNames(config);
    const runIds = { glue: /^jr_[0-9a-f]{64}$/, athena: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "emr-serverless": /^[0-9a-z]{16}$/ } as const;
    for (const [id, job] of Object.entries(config.jobs)) {
      const runs = report.jobs.filter((j) => j.jobName === names.glueJob(id));
      expect(runs, id).to.have.length(1);
      expect(runs[0].engine, id).to.equal(job.engine);
      expect(runs[0].runId, id).to.match(runIds[job.engine]);
    }
  }

  it("runs the workflow on the generated sample data and writes the joined rows an independent computation expects", async () => {
    const out = join(dir, "joined");
    const reportFile = join(dir, "report.json");
    const result = await runCli(["--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    await expectAllClosed(result);
    // The shipped example mixes two engines.
    const config = loadConfig();
    expect(new Set(Object.values(config.jobs).map((j) => j.engine)).size).to.be.greaterThan(1);

    // The CLI generated the default sample data; the generator is deterministic, so the test regenerates it.
    const sample = await writeSampleData(join(dir, "sample"));
    const expected = expectedJoin(await readFile(sample.sales, "utf8"), await readFile(sample.marketing, "utf8"));
    expect(expected.length).to.be.greaterThan(1000);
    const actual = await readParquetRows(out);
    expect(actual.length).to.equal(expected.length);
    expect(actual).to.deep.equal(expected);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    // The folder holds the result's Parquet files and the manifest listing them, nothing else (no lock, no staging).
    expect((await readdir(out)).sort()).to.deep.equal([MANIFEST_FILE, ...report.output.files].sort());
    expect(JSON.parse(await readFile(join(out, MANIFEST_FILE), "utf8"))).to.include({ rows: expected.length }).and.have.property("files").that.deep.equals(report.output.files);
    expect(report.status).to.equal("SUCCEEDED");
    expect(report.output).to.deep.equal({ dir: out, rows: expected.length, files: report.output.files, written: true });
    expect(report.output.files.length).to.be.greaterThan(0);
    expect(report.executionArn).to.match(/^arn:aws:states:us-east-1:\d{12}:execution:etl-dev-workflow:/);
    const isoMs = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const time of [report.startedAt, report.stoppedAt, ...report.states.flatMap((s) => [s.enteredAt, s.exitedAt!]), ...report.jobs.flatMap((j) => [j.startedOn, j.completedOn!])])
      expect(time).to.match(isoMs);
    expect(report.jobs.map((j) => `${j.jobName}:${j.state}`).sort()).to.deep.equal(["etl-dev-JMSD:SUCCEEDED", "etl-dev-PMD:SUCCEEDED", "etl-dev-PSD:SUCCEEDED"]);
    expectEngines(report, config);
    expect(report.states.map((s) => s.name)).to.include.members(["WaitForSalesData", "WaitForMarketingData", "PSD", "PMD", "JMSD", "WorkflowSucceeded"]);
    expect(report.states.every((s) => s.status === "SUCCEEDED")).to.equal(true);
    expect(report.notifications).to.deep.equal([]);

    // Progress lines with elapsed time, then the summary with the first rows.
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] state JMSD entered/);
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] job etl-dev-PSD \(glue\) run jr_\S+ RUNNING/);
    expect(result.stdout).to.contain(`Workflow SUCCEEDED`);
    expect(result.stdout).to.contain(`output: ${out} (${expected.length.toLocaleString("en-US")} rows)`);
    expect(result.stdout).to.contain("first 5 rows:");
    expect(result.stdout).to.contain(String(expected[0].date));
  });

  it("--fail-job: the execution fails at that job, the failure rule publishes the notification, reports FAILED and exits 1", async () => {
    const out = join(dir, "failed");
    const reportFile = join(dir, "failed.json");
    const result = await runCli(["--fail-job", "JMSD", "--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
    await expectAllClosed(result);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("FAILED");
    expect(report.jobs.find((j) => j.jobName === "etl-dev-JMSD")!.state).to.equal("FAILED");
    expect(report.notifications).to.have.length(1);
    expect(report.notifications[0].message).to.contain("JobFailedError").and.contain("etl-dev-JMSD");
    expect(report.states.find((s) => s.name === "JMSD")!.status).to.equal("FAILED");
    expect(report.output.rows).to.equal(0);
    expect(await readdir(out)).to.deep.equal([]);
    expect(result.stdout).to.contain("notification published");
    expect(result.stdout).to.contain("Workflow FAILED");
  });

  it("--fail-job on a job that runs on Athena: its query fails, the run takes the Catch path and leaves no output", async () => {
    const config = loadConfig();
    const athenaJob = Object.keys(config.jobs).find((id) => config.jobs[id].engine === "athena")!;
    expect(athenaJob, "the shipped example has a job on Athena").to.be.a("string");
    const name = resourceNames(config).glueJob(athenaJob);
    const out = join(dir, "failed-athena");
    const reportFile = join(dir, "failed-athena.json");
    const result = await runCli(["--fail-job", athenaJob, "--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
    await expectAllClosed(result);
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

  it("the EMR Serverless variant (JMSD moved by one configuration line) writes the joined rows an independent computation expects", async () => {
    const file = join(ROOT, "test/fixtures/jmsd-emr-serverless/etl.config.json");
    const config = loadConfig(file);
    expect(config.jobs.JMSD.engine).to.equal("emr-serverless");
    const out = join(dir, "joined-emr");
    const reportFile = join(dir, "emr.json");
    const result = await runCli(["--out", out, "--report", reportFile], undefined, { ETL_CONFIG: file });
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    await expectAllClosed(result, config);
    const sample = await writeSampleData(join(dir, "sample-emr"));
    const expected = expectedJoin(await readFile(sample.sales, "utf8"), await readFile(sample.marketing, "utf8"));
    expect(await readParquetRows(out)).to.deep.equal(expected);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("SUCCEEDED");
    expectEngines(report, config);
    expect(result.stdout).to.match(/job etl-dev-JMSD \(emr-serverless\) run \S+ SCHEDULED/);
  });

  it("--upload-before-start with a delayed upload: the datasets uploaded before the start still release the waits", async () => {
    const data = await writeSampleData(join(dir, "small"), { salesRows: 2000 });
    const reportFile = join(dir, "before.json");
    const result = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--upload-before-start", "--delay-marketing", "300", "--out", join(dir, "before"), "--report", reportFile]);
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

  it("an unclosed quote in one row drops that row alone, shown on the job's progress line and in the report's droppedRows", async () => {
    // The drop count is the local engine's (jobs on Glue and EMR Serverless); PSD reads sales on Glue.
    expect(loadConfig().jobs.PSD.engine).to.equal("glue");
    const data = await writeSampleData(join(dir, "quote"), { salesRows: 2000 });
    const lines = (await readFile(data.sales, "utf8")).split("\n");
    const cleanLines = [...lines.slice(0, 10), ...lines.slice(11)];
    lines[10] = lines[10].replace(/,[^,]*$/, ',"unterminated');
    await writeFile(data.sales, lines.join("\n"));
    const reportFile = join(dir, "quote.json");
    const result = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", join(dir, "quote-out"), "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    const expected = expectedJoin(cleanLines.join("\n"), await readFile(data.marketing, "utf8"));
    expect(expected.length).to.be.greaterThan(1000);
    expect(await readParquetRows(join(dir, "quote-out"))).to.deep.equal(expected);
    const byJob = Object.fromEntries(report.jobs.map((j) => [j.jobName, j]));
    expect(byJob["etl-dev-PSD"].droppedRows).to.deep.equal({ sales: 1 });
    expect(byJob["etl-dev-JMSD"].droppedRows).to.deep.equal({});
    expect(result.stdout).to.match(/job etl-dev-PSD \(glue\) run jr_\S+ SUCCEEDED, dropped 1 malformed or unparseable row\(s\) of sales/);
    await expectAllClosed(result);
  });

  it("reads input files not named *.csv (--sales sales.txt), as Spark reads every file under the prefix", async () => {
    const data = await writeSampleData(join(dir, "txt"), { salesRows: 2000 });
    const sales = join(dir, "txt", "sales.txt");
    await writeFile(sales, await readFile(data.sales));
    const reportFile = join(dir, "txt.json");
    const result = await runCli(["--sales", sales, "--marketing", data.marketing, "--out", join(dir, "txt-out"), "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.output.rows).to.equal(expectedJoin(await readFile(sales, "utf8"), await readFile(data.marketing, "utf8")).length);
    await expectAllClosed(result);
  });

  it("rejects a malformed input file or a bad path with exit 2, naming the file, before starting anything", async () => {
    const bad = join(dir, "marketing-bad.csv");
    await writeFile(bad, "Date,New visitors SEO,Events\n1/1/2013,5,\n");
    const malformed = await runCli(["--marketing", bad, "--out", join(dir, "bad")]);
    expect(malformed.code).to.equal(2);
    expect(malformed.stderr).to.contain(bad).and.contain('"Mailing list adds "').and.contain('"Return visitors"');
    expect(malformed.stdout).to.not.contain("local services up");

    const missing = join(dir, "nope.csv");
    const badPath = await runCli(["--sales", missing]);
    expect(badPath.code).to.equal(2);
    expect(badPath.stderr).to.contain(missing);
  });

  it("rejects a --report path that cannot be written with exit 2, naming it, before starting anything", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "x");
    for (const report of [join(file, "report.json"), dir]) {
      const result = await runCli(["--report", report, "--out", join(dir, "unused")]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(2);
      expect(result.stderr).to.contain(`--report ${report}`).and.not.match(/\n\s+at /);
      expect(result.stdout).to.not.contain("local services up");
    }
  });

  it("rejects unknown flags, bad values and unknown jobs with exit 2 and the usage; --help exits 0", async () => {
    const unknown = await runCli(["--bogus"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("--bogus").and.contain("Usage: npm start");
    const badDelay = await runCli(["--delay-sales", "soon"]);
    expect([badDelay.code, badDelay.stderr.includes("--delay-sales")]).to.deep.equal([2, true]);
    // Node clamps timers over 2^31-1 ms to 1 ms: such a delay is a usage error, not an immediate upload.
    const hugeDelay = await runCli(["--delay-marketing", String(2 ** 31)]);
    expect([hugeDelay.code, hugeDelay.stderr.includes("--delay-marketing: at most 2147483647")], hugeDelay.stderr).to.deep.equal([2, true]);
    const badJob = await runCli(["--fail-job", "NOPE"]);
    expect([badJob.code, badJob.stderr.includes("unknown job NOPE")]).to.deep.equal([2, true]);
    const help = await runCli(["--help"]);
    expect(help.code).to.equal(0);
    for (const flag of ["--sales", "--marketing", "--out", "--report", "--fail-job", "--upload-before-start", "--delay-sales", "--delay-marketing"])
      expect(help.stdout).to.contain(flag);
  });

  it("closes every server and exits on Ctrl-C (SIGINT) in the middle of a run", async () => {
    let sent = false;
    const result = await runCli(["--delay-sales", "30000", "--out", join(dir, "interrupted")], (line, child) => {
      if (!sent && / execution RUNNING/.test(line)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent, result.stdout).to.equal(true);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(130);
    expect(result.stderr).to.contain("SIGINT");
    await expectAllClosed(result);
  });

  it("Ctrl-C while --upload-before-start waits on a delay exits 130 with an interrupted FAILED report, no stack trace", async () => {
    let sent = false;
    const reportFile = join(dir, "interrupted-before.json");
    const args = ["--upload-before-start", "--delay-sales", "20000", "--out", join(dir, "interrupted-before"), "--report", reportFile];
    const result = await runCli(args, (line, child) => {
      if (!sent && /uploaded marketing/.test(line)) {
        sent = true;
        setTimeout(() => child.kill("SIGINT"), 300);
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
      const data = await writeSampleData(join(dir, "safe"), { salesRows: 2000 });
      const out = join(dir, "safe-out");
      const first = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", out]);
      expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(0);
      await writeFile(join(out, "README.txt"), "my notes");
      const before = await folderSnapshot(out);

      const reportFile = join(dir, "safe-failed.json");
      const failed = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", out, "--fail-job", "JMSD", "--report", reportFile]);
      expect(failed.code, `${failed.stdout}\n${failed.stderr}`).to.equal(1);
      expect(await folderSnapshot(out)).to.deep.equal(before);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      const manifest = JSON.parse(before[MANIFEST_FILE]);
      expect(report.output).to.deep.equal({ dir: out, files: manifest.files, rows: manifest.rows, written: false });
      expect(failed.stdout).to.contain(`output: ${out} unchanged: it still holds the previous result (${manifest.rows.toLocaleString("en-US")} rows)`);

      const users = join(dir, "users-out");
      await mkdir(users);
      await writeFile(join(users, "part-00000.snappy.parquet"), "the user's own Parquet");
      const refused = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", users]);
      expect(refused.code, refused.stderr).to.equal(2);
      expect(refused.stderr).to.contain(users).and.contain("part-00000.snappy.parquet").and.contain("did not write");
      expect(refused.stdout).to.not.contain("local services up");
      expect(await folderSnapshot(users)).to.deep.equal({ "part-00000.snappy.parquet": "the user's own Parquet" });
    });

    it("an input whose every row is dropped (ISO dates) fails with DataQualityError: exit 1, the failure path notifies, the counts are shown", async () => {
      const data = await writeSampleData(join(dir, "iso"), { salesRows: 500 });
      const lines = (await readFile(data.sales, "utf8")).trim().split("\n");
      const iso = [lines[0], ...lines.slice(1).map((line) => line.replace(/^(\d+)\/(\d+)\/(\d{4})/, (_, m, d, y) => `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`))];
      expect(iso[1]).to.match(/^\d{4}-\d\d-\d\d,/);
      await writeFile(data.sales, iso.join("\n") + "\n");
      const reportFile = join(dir, "iso.json");
      const result = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", join(dir, "iso-out"), "--report", reportFile]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(1);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(report.status).to.equal("FAILED");
      const psd = report.jobs.find((j) => j.jobName === "etl-dev-PSD")!;
      expect(psd.state).to.equal("FAILED");
      expect(psd.errorMessage).to.match(/^DataQualityError: input 'sales': all 500 rows read were dropped/);
      expect([psd.rowsRead, psd.droppedRows, psd.rowsWritten]).to.deep.equal([{ sales: 500 }, { sales: 500 }, 0]);
      expect(report.error).to.match(/^DataQualityError/);
      expect(report.notifications).to.have.length(1);
      expect(report.notifications[0].message).to.contain("DataQualityError").and.contain("rows read: sales 500; dropped: sales 500; written: 0");
      expect(report.output).to.deep.equal({ dir: join(dir, "iso-out"), files: [], rows: 0, written: false });
      expect(result.stdout).to.match(/job etl-dev-PSD \(glue\) run jr_\S+ FAILED \(DataQualityError: .*\), dropped 500 malformed or unparseable row\(s\) of sales; rows read 500, written 0/);
      await expectAllClosed(result);
    });

    it("refuses a header naming a required column twice, naming it and both positions (exit 2)", async () => {
      const data = await writeSampleData(join(dir, "twice"), { salesRows: 50 });
      const lines = (await readFile(data.sales, "utf8")).trim().split("\n");
      await writeFile(data.sales, [`${lines[0]}, DATE`, ...lines.slice(1).map((l) => `${l},junk`)].join("\n") + "\n");
      const columns = lines[0].split(",").length;
      const result = await runCli(["--sales", data.sales, "--out", join(dir, "twice-out")]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(data.sales).and.contain(`column 'date' twice, at positions 1 and ${columns + 1}`);
    });

    it("a gzip file and a folder of parts give the same result as the plain file", async () => {
      const data = await writeSampleData(join(dir, "forms"), { salesRows: 3000 });
      const text = await readFile(data.sales, "utf8");
      const lines = text.trim().split("\n");
      await writeFile(join(dir, "forms", "sales.csv.gz"), gzipSync(text));
      const parts = join(dir, "forms", "sales-parts");
      await mkdir(join(parts, "2026"), { recursive: true });
      await writeFile(join(parts, "part-0.csv"), [lines[0], ...lines.slice(1, 1000)].join("\n") + "\n");
      await writeFile(join(parts, "2026", "part-1.csv.gz"), gzipSync([lines[0], ...lines.slice(1000)].join("\n") + "\n"));
      await writeFile(join(parts, "_SUCCESS"), "");
      const expected = expectedJoin(text, await readFile(data.marketing, "utf8"));
      for (const [name, sales] of [["gz", join(dir, "forms", "sales.csv.gz")], ["folder", parts]]) {
        const out = join(dir, `forms-${name}`);
        const reportFile = join(dir, `forms-${name}.json`);
        const result = await runCli(["--sales", sales, "--marketing", data.marketing, "--out", out, "--report", reportFile]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
        expect(await readParquetRows(out), name).to.deep.equal(expected);
        const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
        expect(report.jobs.find((j) => j.jobName === "etl-dev-PSD")!.rowsRead, name).to.deep.equal({ sales: 3000 });
      }
    });

    it("a binary input is refused naming the file and what it looks like, never its bytes (exit 2)", async () => {
      const data = await writeSampleData(join(dir, "binary"), { salesRows: 50 });
      await writeFile(data.sales, gzipSync(await readFile(data.sales)));
      const result = await runCli(["--sales", data.sales, "--out", join(dir, "binary-out")]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr).to.contain(data.sales).and.contain("gzip data").and.not.match(/[\x00-\x08\x1f\ufffd]/);
    });

    it("a second run on the same --out is refused while the first runs; the first's report describes what is on disk", async () => {
      const out = join(dir, "shared-out");
      const reportFile = join(dir, "shared.json");
      let second: Promise<CliResult> | undefined;
      // The first run waits on its sales upload until the second has been answered, then is stopped with Ctrl-C.
      const first = await runCli(["--delay-sales", "60000", "--out", out, "--report", reportFile], (line, child) => {
        if (!second && / execution RUNNING/.test(line)) {
          second = runCli(["--out", out]);
          void second.finally(() => child.kill("SIGINT"));
        }
      });
      const refused = await second!;
      expect(refused.code, refused.stderr).to.equal(2);
      expect(refused.stderr).to.contain(out).and.contain("another run is writing to this output folder").and.contain("pid ");
      expect(refused.stdout).to.not.contain("local services up");
      expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(130);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(report.output).to.deep.equal({ dir: out, files: [], rows: 0, written: false });
      expect(await readdir(out)).to.deep.equal([]);

      // Once the first has ended, its lock is gone and the folder is free.
      const again = await runCli(["--out", out, "--report", reportFile]);
      expect(again.code, `${again.stdout}\n${again.stderr}`).to.equal(0);
      const done = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect((await readdir(out)).sort()).to.deep.equal([MANIFEST_FILE, ...done.output.files].sort());
      expect(await readParquetRows(out)).to.have.length(done.output.rows);
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

    it("SIGTERM to the npm process ends the whole run within seconds: the CLI stops (exit 130), every server closed, no process left", async () => {
      const out = join(dir, "npm-term");
      const npm = spawn("npm", ["start", "--", "--delay-sales", "30000", "--out", out], {
        cwd: ROOT,
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      npm.stderr.on("data", (c: Buffer) => (stderr += c));
      const running = new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no execution within 30 s\n${stdout}\n${stderr}`)), 30_000);
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
      expect(tree.length, "npm runs the CLI").to.be.greaterThan(0);
      const endpoints = [...(/local services up: (.*)/.exec(stdout)?.[1] ?? "").matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
      expect(endpoints).to.have.length(serviceCount(loadConfig()));

      const sentAt = Date.now();
      npm.kill("SIGTERM");
      await closed;
      while (tree.some(alive) && Date.now() - sentAt < 15_000) await new Promise((r) => setTimeout(r, 100));
      expect(tree.filter(alive), "processes left").to.deep.equal([]);
      expect(Date.now() - sentAt).to.be.below(10_000);
      for (const endpoint of endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
      expect(stderr).to.contain("SIGTERM: stopping the run");
      expect(await readdir(out)).to.deep.equal([]);
    });

    it("SIGTERM while the CLI is still starting (loading, checking its inputs) exits 130 at once", async () => {
      // The CLI's modules are loading once DuckDB's native library is mapped (tsx, loaded before, handles signals
      // its own way): the moment to interrupt, before any server starts.
      const loading = async (pid: number) => (await readFile(`/proc/${pid}/maps`, "utf8").catch(() => "")).includes("duckdb");
      const child = spawn(process.execPath, ["--import", "tsx", "local/cli.ts", "--out", join(dir, "early-term")], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      const closed = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      const started = Date.now();
      while (!(await loading(child.pid!)) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGTERM");
      const sentAt = Date.now();
      expect(await closed, `${stdout}\n${stderr}`).to.equal(130);
      expect(Date.now() - sentAt).to.be.below(10_000);
      expect(stderr).to.contain("SIGTERM");
      const endpoints = [...(/local services up: (.*)/.exec(stdout)?.[1] ?? "").matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
      for (const endpoint of endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
    });

    it("SIGTERM to the CLI process ends the run with exit 130 and every server closed", async () => {
      let sent = false;
      const result = await runCli(["--delay-sales", "30000", "--out", join(dir, "cli-term")], (line, child) => {
        if (!sent && / execution RUNNING/.test(line)) {
          sent = true;
          child.kill("SIGTERM");
        }
      });
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(130);
      expect(result.stderr).to.contain("SIGTERM");
      await expectAllClosed(result);
    });
  });
});
