// The shipped example's own results on the local engine: PSD, PMD and JMSD on the example's generated data,
// checked against an independent computation, and the example's columns. Tests of the engine itself (drop rules,
// inputs, output, quality gate) are in test/local/etl-engine.test.ts and do not depend on the example.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { isoDate, readParquet, type Row } from "../support/parquet";
import { runTransformation, type TransformationRequest, type TransformationResult } from "../../local/etl-engine";
import { generateMarketing, generateSales } from "../../local/sample-data";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");
const MARKETING_COLUMNS = [
  "date", "new_visitors_seo", "new_visitors_cpc", "new_visitors_social_media", "return_visitors", "twitter_mentions",
  "twitter_follower_adds", "twitter_followers_cumulative", "mailing_list_adds", "mailing_list_cumulative", "website_pageviews",
  "website_visits", "website_unique_visits", "mobile_uniques", "tablet_uniques", "desktop_uniques", "free_sign_up", "paid_conversion", "events",
];
const SALES_COLUMNS = ["date", "opportunities", "forecasted_monthly_revenue", "leads_generated", "forecasted_lead_revenue"];


/** The PSD contract computed in plain TypeScript over unquoted CSV text. */
function expectedDailySales(csv: string): Row[] {
  const days = new Map<string, { opportunities: number; revenue: number; leads: number; leadRevenue: number }>();
  for (const line of csv.trim().split("\n").slice(1)) {
    const f = line.split(",");
    const day = days.get(isoDate(f[0])) ?? { opportunities: 0, revenue: 0, leads: 0, leadRevenue: 0 };
    day.opportunities++;
    day.revenue += Number(f[6]);
    if (f[7] === "Lead") {
      day.leads++;
      day.leadRevenue += Number(f[6]);
    }
    days.set(isoDate(f[0]), day);
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, d]) => ({ date, opportunities: String(d.opportunities), forecasted_monthly_revenue: String(d.revenue), leads_generated: String(d.leads), forecasted_lead_revenue: String(d.leadRevenue) }));
}

describe("example: the local engine's results for PSD, PMD and JMSD", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-engine-example-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const psd = (path: string, outputDir = join(dir, "psd")): TransformationRequest => ({
    inputs: [{ name: "sales", path, format: "csv", schema: "sales.json" }],
    sqlFile: "process_sales_data.sql",
    outputDir,
    scriptsDir: SCRIPTS_DIR,
  });

  describe("on generated data (the three jobs chained)", () => {
    const salesCsv = generateSales(3000, 7);
    const marketingCsv = generateMarketing(7);
    // PSD's run, once: the first case checks it, the second joins its output (read only) after PMD.
    let psdDir: string;
    let psdResult: TransformationResult;
    before(async () => {
      psdDir = await mkdtemp(join(tmpdir(), "etl-engine-example-psd-"));
      await writeFile(join(psdDir, "sales.csv"), salesCsv);
      psdResult = await runTransformation(psd(join(psdDir, "sales.csv"), join(psdDir, "psd")));
    });
    after(async () => {
      await rm(psdDir, { recursive: true, force: true });
    });

    it("PSD writes one row per day matching an independent computation, typed DATE and BIGINT", async () => {
      const result = psdResult;
      const expected = expectedDailySales(salesCsv);
      expect(result.droppedRows).to.deep.equal({ sales: 0 });
      expect(result.rowsWritten).to.equal(expected.length);
      const { columns, rows } = await readParquet(result.files);
      expect(columns).to.deep.equal([["date", "DATE"], ["opportunities", "BIGINT"], ["forecasted_monthly_revenue", "BIGINT"], ["leads_generated", "BIGINT"], ["forecasted_lead_revenue", "BIGINT"]]);
      expect(rows).to.deep.equal(expected);
      expect(rows.filter((r) => r.leads_generated === "0").length, "days without leads sum to 0, not NULL").to.be.greaterThan(0);
    });

    it("PMD keeps every column, renamed to snake_case and typed; JMSD joins on the date in date order", async () => {
      await writeFile(join(dir, "marketing.csv"), marketingCsv);
      const pmd = await runTransformation({
        inputs: [{ name: "marketing", path: join(dir, "marketing.csv"), format: "csv", schema: "marketing.json" }],
        sqlFile: "process_marketing_data.sql",
        outputDir: join(dir, "pmd"),
        scriptsDir: SCRIPTS_DIR,
      });
      expect(pmd.rowsWritten).to.equal(1461);
      const marketing = await readParquet(pmd.files);
      expect(marketing.columns.map(([name]) => name)).to.deep.equal(MARKETING_COLUMNS);
      for (const [name, type] of marketing.columns) expect(type, name).to.equal(name === "date" ? "DATE" : name === "events" ? "VARCHAR" : "BIGINT");
      const firstLine = marketingCsv.split("\n")[1].split(",");
      expect(marketing.rows[0]).to.include({ date: "2013-01-01", new_visitors_seo: firstLine[1], mailing_list_adds: firstLine[8] });

      const jmsd = await runTransformation({
        inputs: [
          { name: "sales", path: join(psdDir, "psd"), format: "parquet" },
          { name: "marketing", path: join(dir, "pmd"), format: "parquet" },
        ],
        sqlFile: join(SCRIPTS_DIR, "join_marketing_and_sales_data.sql"),
        outputDir: join(dir, "curated"),
        scriptsDir: SCRIPTS_DIR,
      });
      const sales = expectedDailySales(salesCsv);
      const marketingDays = new Set(marketing.rows.map((r) => r.date));
      const joinedDays = sales.filter((s) => marketingDays.has(s.date)).map((s) => s.date);
      const joined = await readParquet(jmsd.files);
      expect(jmsd.rowsWritten).to.equal(joinedDays.length);
      expect(joined.rows.map((r) => r.date)).to.deep.equal(joinedDays); // already in real date order
      const catalog = JSON.parse(await readFile(join(SCRIPTS_DIR, "schemas", "marketing_and_sales.json"), "utf8")) as { columns: Array<{ name: string; type: string }> };
      expect(joined.columns.map(([name]) => name)).to.deep.equal([...SALES_COLUMNS, ...MARKETING_COLUMNS.slice(1)]);
      expect(joined.columns.map(([name, type]) => ({ name, type: type === "VARCHAR" ? "string" : type.toLowerCase() }))).to.deep.equal(catalog.columns);
      const bySales = new Map(sales.map((s) => [s.date, s]));
      for (const row of joined.rows) expect(row).to.include(bySales.get(row.date as string)!);
    });
  });

  describe("data-quality gate on PMD", () => {
    const failure = (request: TransformationRequest) => runTransformation(request).then(() => undefined, (e: Error) => e);

    it("counts nulls of notNull columns, and names a notNull column the output lacks", async () => {
      const marketing = join(dir, "marketing.csv");
      await writeFile(marketing, generateMarketing(7));
      const pmd = (notNull: string[]): TransformationRequest => ({
        inputs: [{ name: "marketing", path: marketing, format: "csv", schema: "marketing.json" }],
        sqlFile: "process_marketing_data.sql",
        outputDir: join(dir, "pmd"),
        scriptsDir: SCRIPTS_DIR,
        quality: { inputs: {}, minOutputRows: 1, notNull },
      });
      const emptyEvents = generateMarketing(7).trim().split("\n").slice(1).filter((line) => line.endsWith(",")).length;
      expect(emptyEvents).to.be.greaterThan(0);
      expect((await runTransformation(pmd(["date"]))).rowsWritten).to.be.greaterThan(0);
      const nulls = await failure(pmd(["date", "events"]));
      expect(nulls?.message).to.match(new RegExp(`^DataQualityError: output: column 'events' has ${emptyEvents} null values \\(limit: notNull\\)`));
      const unknown = await failure(pmd(["nope"]));
      expect(unknown?.message).to.include("notNull column(s) nope not in the job's output");
    });
  });
});
