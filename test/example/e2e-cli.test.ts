// The shipped example's own results through `npm start` (the CLI's entry function in this process: the real CLI,
// local services, handlers, ASL and DuckDB engine; its launcher and signals are in test/e2e/cli.test.ts): the
// joined rows of PSD, PMD and JMSD against an independent computation from the CSV text, on the generated sample
// data, on the EMR Serverless variant and on the input forms people have, and the --sales/--marketing shorthands.
// The CLI's mechanisms, whatever the configuration, are in test/e2e/cli.test.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import { loadConfig, PROJECT_ROOT, resourceNames } from "../../core/config";
import { MANIFEST_FILE } from "../../local/output-folder";
import { finalJobs, type RunReport } from "../../local/runtime";
import { writeSampleData } from "../../local/sample-data";
import { splitCsvLine } from "../csv-line";
import { readParquet } from "../support/parquet";
import { expectAllClosed, expectEngines, runCliInProcess } from "../support/cli";

const ROOT = PROJECT_ROOT;

// ---- the independent computation of the joined dataset, from the CSV text alone ----

function readCsv(text: string): Array<Record<string, string>> {
  const [headerLine, ...lines] = text.trim().split(/\r?\n/);
  const header = splitCsvLine(headerLine);
  const rows = lines.map((line) => splitCsvLine(line));
  // One assertion for the whole file (one per line was most of this file's own CPU): the lines that do not split
  // into the header's number of fields.
  expect(lines.filter((_, i) => rows[i].length !== header.length), `lines without ${header.length} fields`).to.deep.equal([]);
  return rows.map((fields) => Object.fromEntries(header.map((h, i) => [h, fields[i]])));
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

/** The joined rows of a run's Parquet files, by date (on the tests' one DuckDB: test/support/parquet.ts). */
async function readParquetRows(dir: string): Promise<Array<Record<string, string | number | null>>> {
  const { rows } = await readParquet([join(dir, "*.parquet")]);
  // BIGINTs come back as strings in JSON form; compare numbers as numbers.
  return rows
    .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === "date" || k === "events" || v === null ? (v as string | null) : Number(v)])))
    .sort((a, b) => String(a.date).localeCompare(String(b.date)));
}

describe("example: npm start on the shipped example", () => {
  let dir: string;

  const runCli = (args: string[]) => runCliInProcess(args);
  // The example's join is its one final job: --out DIR holds its files. Once a job a user adds (README, "Adding a
  // dataset") is a final job too, each final job's files are in DIR/<job>/ (local/runtime.ts outputSubfolders).
  const joinIn = (out: string) => (finalJobs(loadConfig()).length > 1 ? join(out, "JMSD") : out);
  const joined = (report: RunReport) => report.output.byJob?.JMSD ?? report.output;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-e2e-example-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  // The joined rows expected from the default sample data, which the CLI generates when given no input: the generator
  // is deterministic, so the test regenerates it (once, for the cases that read it).
  let defaultExpected: Promise<ReturnType<typeof expectedJoin>> | undefined;
  const expectedFromDefaultSample = () =>
    (defaultExpected ??= writeSampleData(join(dir, "sample")).then(async (sample) => expectedJoin(await readFile(sample.sales, "utf8"), await readFile(sample.marketing, "utf8"))));


  it("runs the workflow on the generated sample data and writes the joined rows an independent computation expects", async () => {
    const out = join(dir, "joined");
    const reportFile = join(dir, "report.json");
    const result = await runCli(["--out", out, "--report", reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    await expectAllClosed(result);
    // The shipped example mixes two engines; one of its jobs runs on Athena (test/e2e/cli.test.ts fails one there).
    const config = loadConfig();
    expect(new Set(Object.values(config.jobs).map((j) => j.engine)).size).to.be.greaterThan(1);
    expect(Object.values(config.jobs).some((j) => j.engine === "athena"), "the shipped example has a job on Athena").to.equal(true);

    const expected = await expectedFromDefaultSample();
    expect(expected.length).to.be.greaterThan(1000);
    const actual = await readParquetRows(joinIn(out));
    expect(actual.length).to.equal(expected.length);
    expect(actual).to.deep.equal(expected);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    // The folder holds the result's Parquet files and the manifest listing them, nothing else (no lock, no staging).
    const folders = Object.keys(report.output.byJob ?? {});
    expect((await readdir(out)).sort()).to.deep.equal([MANIFEST_FILE, ...folders, ...report.output.files.filter((f) => !f.includes("/"))].sort());
    expect(JSON.parse(await readFile(join(out, MANIFEST_FILE), "utf8"))).to.include({ rows: report.output.rows }).and.have.property("files").that.deep.equals(report.output.files);
    expect(report.status).to.equal("SUCCEEDED");
    expect(report.output).to.deep.include({ dir: out, written: true });
    expect(joined(report)).to.deep.include({ dir: joinIn(out), rows: expected.length });
    expect(joined(report).files.length).to.be.greaterThan(0);
    expect(report.executionArn).to.match(/^arn:aws:states:us-east-1:\d{12}:execution:etl-dev-workflow:/);
    const isoMs = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const time of [report.startedAt, report.stoppedAt, ...report.states.flatMap((s) => [s.enteredAt, s.exitedAt!]), ...report.jobs.flatMap((j) => [j.startedOn, j.completedOn!])])
      expect(time).to.match(isoMs);
    expect(report.jobs.map((j) => `${j.jobName}:${j.state}`)).to.include.members(["etl-dev-JMSD:SUCCEEDED", "etl-dev-PMD:SUCCEEDED", "etl-dev-PSD:SUCCEEDED"]);
    // Every configured job ran once: the example's three, and any a user added.
    expect(report.jobs.map((j) => `${j.jobName}:${j.state}`).sort()).to.deep.equal(Object.keys(config.jobs).map((id) => `${resourceNames(config).glueJob(id)}:SUCCEEDED`).sort());
    expectEngines(report, config);
    expect(report.states.map((s) => s.name)).to.include.members(["WaitForSalesData", "WaitForMarketingData", "PSD", "PMD", "JMSD", "WorkflowSucceeded"]);
    expect(report.states.every((s) => s.status === "SUCCEEDED")).to.equal(true);
    expect(report.notifications).to.deep.equal([]);

    // Progress lines with elapsed time, then the summary with the first rows.
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] state JMSD entered/);
    expect(result.stdout).to.match(/\[\s*\d+\.\ds\] job etl-dev-PSD \(glue\) run jr_\S+ RUNNING/);
    expect(result.stdout).to.contain(`Workflow SUCCEEDED`);
    expect(result.stdout).to.contain(`${joinIn(out)} (${expected.length.toLocaleString("en-US")} rows)`);
    expect(result.stdout).to.contain("first 5 rows:");
    expect(result.stdout).to.contain(String(expected[0].date));
  });


  it("the EMR Serverless variant (JMSD moved by one configuration line) writes the joined rows an independent computation expects", async () => {
    const file = join(ROOT, "test/fixtures/jmsd-emr-serverless/etl.config.json");
    const config = loadConfig(file);
    expect(config.jobs.JMSD.engine).to.equal("emr-serverless");
    const out = join(dir, "joined-emr");
    const reportFile = join(dir, "emr.json");
    const result = await runCliInProcess(["--out", out, "--report", reportFile], { ETL_CONFIG: file });
    expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
    await expectAllClosed(result, config);
    expect(await readParquetRows(out)).to.deep.equal(await expectedFromDefaultSample());
    const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
    expect(report.status).to.equal("SUCCEEDED");
    expectEngines(report, config);
    expect(result.stdout).to.match(/job etl-dev-JMSD \(emr-serverless\) run \S+ SCHEDULED/);
  });


  /**
   * One run on sales given as a file not named *.csv (sales.txt) whose row 10 has an unclosed quote: shared by the two
   * tests that read it (each starts it when run alone).
   */
  let quoteTxt: Promise<{ result: Awaited<ReturnType<typeof runCli>>; report: RunReport; sales: string; expected: ReturnType<typeof expectedJoin>; out: string }> | undefined;
  const quoteTxtRun = () =>
    (quoteTxt ??= (async () => {
      const data = await writeSampleData(join(dir, "quote"), { salesRows: 2000 });
      const lines = (await readFile(data.sales, "utf8")).split("\n");
      const cleanLines = [...lines.slice(0, 10), ...lines.slice(11)];
      lines[10] = lines[10].replace(/,[^,]*$/, ',"unterminated');
      const sales = join(dir, "quote", "sales.txt");
      await writeFile(sales, lines.join("\n"));
      const reportFile = join(dir, "quote.json");
      const out = join(dir, "quote-out");
      const result = await runCli(["--sales", sales, "--marketing", data.marketing, "--out", out, "--report", reportFile]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      return { result, report, sales, expected: expectedJoin(cleanLines.join("\n"), await readFile(data.marketing, "utf8")), out };
    })());

  it("an unclosed quote in one row drops that row alone, shown on the job's progress line and in the report's droppedRows", async () => {
    // The drop count is the local engine's (jobs on Glue and EMR Serverless); PSD reads sales on Glue.
    expect(loadConfig().jobs.PSD.engine).to.equal("glue");
    const { result, report, expected, out } = await quoteTxtRun();
    expect(expected.length).to.be.greaterThan(1000);
    expect(await readParquetRows(joinIn(out))).to.deep.equal(expected);
    const byJob = Object.fromEntries(report.jobs.map((j) => [j.jobName, j]));
    expect(byJob["etl-dev-PSD"].droppedRows).to.deep.equal({ sales: 1 });
    expect(byJob["etl-dev-JMSD"].droppedRows).to.deep.equal({});
    expect(result.stdout).to.match(/job etl-dev-PSD \(glue\) run jr_\S+ SUCCEEDED, dropped 1 malformed or unparseable row\(s\) of sales/);
    await expectAllClosed(result);
  });


  it("reads input files not named *.csv (--sales sales.txt), as Spark reads every file under the prefix", async () => {
    const { result, report, sales, expected } = await quoteTxtRun();
    expect(sales.endsWith(".txt")).to.equal(true);
    expect(report.status).to.equal("SUCCEEDED");
    expect(joined(report).rows).to.equal(expected.length).and.be.greaterThan(1000);
    // Every row of the file read (the one with the unclosed quote read and dropped).
    expect(report.jobs.find((j) => j.jobName === "etl-dev-PSD")!.rowsRead).to.deep.equal({ sales: 2000 });
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


  it("keeps the --sales/--marketing shorthands: bad delays are usage errors (exit 2), --help lists them", async () => {
    const badDelay = await runCli(["--delay-sales", "soon"]);
    expect([badDelay.code, badDelay.stderr.includes("--delay-sales")]).to.deep.equal([2, true]);
    // Node clamps timers over 2^31-1 ms to 1 ms: such a delay is a usage error, not an immediate upload.
    const hugeDelay = await runCli(["--delay-marketing", String(2 ** 31)]);
    expect([hugeDelay.code, hugeDelay.stderr.includes("--delay-marketing: at most 2147483647")], hugeDelay.stderr).to.deep.equal([2, true]);
    const help = await runCli(["--help"]);
    expect(help.code).to.equal(0);
    for (const flag of ["--sales", "--marketing", "--delay-sales", "--delay-marketing"]) expect(help.stdout).to.contain(flag);
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
      expect(await readParquetRows(joinIn(out)), name).to.deep.equal(expected);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as RunReport;
      expect(report.jobs.find((j) => j.jobName === "etl-dev-PSD")!.rowsRead, name).to.deep.equal({ sales: 3000 });
    }
  });
});
