// End to end: `npm start` as a child process (the real CLI, local services, handlers, ASL and DuckDB engine).
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import type { RunReport } from "../../local/runtime";
import { writeSampleData } from "../../local/sample-data";
import { listening } from "../listening";

const ROOT = resolve(__dirname, "..", "..");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The local endpoints the run announced. */
  endpoints: string[];
}

/** Runs `npm start -- args` as `node --import tsx local/cli.ts args`; `onLine` sees stdout lines as they come. */
function runCli(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "local/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR" },
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

async function expectAllClosed(result: CliResult): Promise<void> {
  expect(result.endpoints, result.stdout).to.have.length(4);
  for (const endpoint of result.endpoints) expect(await listening(endpoint), `${endpoint} still listening`).to.equal(false);
}

// ---- the independent computation of the joined dataset, from the CSV text alone ----

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") fields.push(field), (field = "");
    else field += ch;
  }
  fields.push(field);
  return fields;
}

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

  it("runs the workflow on the generated sample data and writes the joined rows an independent computation expects", async () => {
    const out = join(dir, "joined");
    const reportFile = join(dir, "report.json");
    const result = await runCli(["--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    await expectAllClosed(result);

    // The CLI generated the default sample data; the generator is deterministic, so the test regenerates it.
    const sample = await writeSampleData(join(dir, "sample"));
    const expected = expectedJoin(await readFile(sample.sales, "utf8"), await readFile(sample.marketing, "utf8"));
    expect(expected.length).to.be.greaterThan(1000);
    const actual = await readParquetRows(out);
    expect(actual.length).to.equal(expected.length);
    expect(actual).to.deep.equal(expected);
    expect((await readdir(out)).every((f) => f.endsWith(".parquet"))).to.equal(true);

    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("SUCCEEDED");
    expect(report.output).to.deep.equal({ dir: out, rows: expected.length });
    expect(report.executionArn).to.match(/^arn:aws:states:us-east-1:\d{12}:execution:etl-dev-workflow:/);
    const isoMs = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const time of [report.startedAt, report.stoppedAt, ...report.states.flatMap((s) => [s.enteredAt, s.exitedAt!]), ...report.jobs.flatMap((j) => [j.startedOn, j.completedOn!])])
      expect(time).to.match(isoMs);
    expect(report.jobs.map((j) => `${j.jobName}:${j.state}`).sort()).to.deep.equal(["etl-dev-JMSD:SUCCEEDED", "etl-dev-PMD:SUCCEEDED", "etl-dev-PSD:SUCCEEDED"]);
    expect(report.states.map((s) => s.name)).to.include.members(["WaitForSalesData", "WaitForMarketingData", "PSD", "PMD", "JMSD", "WorkflowSucceeded"]);
    expect(report.states.every((s) => s.status === "SUCCEEDED")).to.equal(true);
    expect(report.notifications).to.deep.equal([]);

    // Progress lines with elapsed time, then the summary with the first rows.
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] state JMSD entered/);
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] job etl-dev-PSD run jr_\S+ RUNNING/);
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
    const data = await writeSampleData(join(dir, "quote"), { salesRows: 2000 });
    const lines = (await readFile(data.marketing, "utf8")).split("\n");
    const cleanLines = [...lines.slice(0, 10), ...lines.slice(11)];
    lines[10] = lines[10].replace(/,[^,]*$/, ',"unterminated');
    await writeFile(data.marketing, lines.join("\n"));
    const reportFile = join(dir, "quote.json");
    const result = await runCli(["--sales", data.sales, "--marketing", data.marketing, "--out", join(dir, "quote-out"), "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    const expected = expectedJoin(await readFile(data.sales, "utf8"), cleanLines.join("\n"));
    expect(expected.length).to.be.greaterThan(1000);
    expect(report.output.rows).to.equal(expected.length);
    const byJob = Object.fromEntries(report.jobs.map((j) => [j.jobName, j]));
    expect(byJob["etl-dev-PMD"].droppedRows).to.deep.equal({ marketing: 1 });
    expect(byJob["etl-dev-PSD"].droppedRows).to.deep.equal({ sales: 0 });
    expect(byJob["etl-dev-JMSD"].droppedRows).to.deep.equal({});
    expect(result.stdout).to.match(/job etl-dev-PMD run jr_\S+ SUCCEEDED, dropped 1 malformed or unparseable row\(s\) of marketing/);
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
});
