import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import { gzipSync } from "node:zlib";
import { DataQualityError } from "../../core/quality";
import { runTransformation, UnclosedQuoteScanner, type TransformationRequest } from "../../local/etl-engine";
import { QUALITY_CASES } from "../quality-cases";
import { generateMarketing, generateSales } from "../../local/sample-data";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");
const SALES_HEADER =
  "Date,Salesperson,Lead Name,Segment,Region,Target Close,Forecasted Monthly Revenue,Opportunity Stage,Weighted Revenue,Closed Opportunity,Active Opportunity,Latest Status Entry";
const MARKETING_COLUMNS = [
  "date", "new_visitors_seo", "new_visitors_cpc", "new_visitors_social_media", "return_visitors", "twitter_mentions",
  "twitter_follower_adds", "twitter_followers_cumulative", "mailing_list_adds", "mailing_list_cumulative", "website_pageviews",
  "website_visits", "website_unique_visits", "mobile_uniques", "tablet_uniques", "desktop_uniques", "free_sign_up", "paid_conversion", "events",
];
const SALES_COLUMNS = ["date", "opportunities", "forecasted_monthly_revenue", "leads_generated", "forecasted_lead_revenue"];

type Row = Record<string, unknown>;

/** Reads Parquet files back with DuckDB: column names and types, and rows as JSON values (dates 'YYYY-MM-DD', bigints as strings). */
async function readParquet(files: string[]): Promise<{ columns: Array<[string, string]>; rows: Row[] }> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const list = `[${files.map((f) => `'${f}'`).join(", ")}]`;
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${list})`);
    const columns = described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)] as [string, string]);
    const rows = (await connection.runAndReadAll(`SELECT * FROM read_parquet(${list})`)).getRowObjectsJson() as Row[];
    return { columns, rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** M/D/YYYY -> YYYY-MM-DD, independent of the engine. */
function isoDate(text: string): string {
  const [m, d, y] = text.split("/");
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}

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

describe("local/etl-engine", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-engine-test-"));
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

    it("PSD writes one row per day matching an independent computation, typed DATE and BIGINT", async () => {
      await writeFile(join(dir, "sales.csv"), salesCsv);
      const result = await runTransformation(psd(join(dir, "sales.csv")));
      const expected = expectedDailySales(salesCsv);
      expect(result.droppedRows).to.deep.equal({ sales: 0 });
      expect(result.rowsWritten).to.equal(expected.length);
      const { columns, rows } = await readParquet(result.files);
      expect(columns).to.deep.equal([["date", "DATE"], ["opportunities", "BIGINT"], ["forecasted_monthly_revenue", "BIGINT"], ["leads_generated", "BIGINT"], ["forecasted_lead_revenue", "BIGINT"]]);
      expect(rows).to.deep.equal(expected);
      expect(rows.filter((r) => r.leads_generated === "0").length, "days without leads sum to 0, not NULL").to.be.greaterThan(0);
    });

    it("PMD keeps every column, renamed to snake_case and typed; JMSD joins on the date in date order", async () => {
      await writeFile(join(dir, "sales.csv"), salesCsv);
      await writeFile(join(dir, "marketing.csv"), marketingCsv);
      await runTransformation(psd(join(dir, "sales.csv")));
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
          { name: "sales", path: join(dir, "psd"), format: "parquet" },
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

  describe("CSV reader", () => {
    it("finds the same unclosed-quote lines however the file is cut into chunks (line breaks LF, CR LF, lone CR)", () => {
      // A byte-by-byte reference: a line ends at LF, CR LF or a lone CR; it is malformed when its '"' count is odd.
      const reference = (data: Buffer) => {
        const found: Array<{ start: number; end: number }> = [];
        let start = 0;
        let quotes = 0;
        for (let i = 0; i < data.length; i++) {
          if (data[i] === 0x22) quotes++;
          else if (data[i] === 0x0a || data[i] === 0x0d) {
            if (data[i] === 0x0d && data[i + 1] === 0x0a) i++;
            if (quotes % 2) found.push({ start, end: i + 1 });
            start = i + 1;
            quotes = 0;
          }
        }
        if (quotes % 2) found.push({ start, end: data.length });
        return found;
      };
      const text = ['a,"b",c', 'x,"open', '"', 'ok,""', 'q"r"s"', "plain", '"a\r\nb"', "", 'end"'].join("\n").replace("plain\n", "plain\r").replace("ok,\"\"\n", 'ok,""\r\n');
      const data = Buffer.from(text);
      const expected = reference(data);
      expect(expected.length, "the sample must hold malformed lines").to.be.greaterThan(2);
      for (let size = 1; size <= data.length; size++) {
        const scanner = new UnclosedQuoteScanner();
        for (let at = 0; at < data.length; at += size) scanner.push(data.subarray(at, at + size));
        expect(scanner.end(), `chunks of ${size} bytes`).to.deep.equal(expected);
      }
    });

    const good = [
      "1/2/2011,Ann,US_SMB_1,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE",
      '01/02/2011,Bob,"EMEA_SMB_2, the second",SMB,EMEA,2/2/2011,250,Prospect,63,false,FALSE,FALSE',
      "1/2/2011,,US_SMB_3,SMB,US,2/2/2011,-5,Lead,0,TRUE,TRUE,TRUE", // empty string column is fine
      "12/31/2016,Ann,US_SMB_4,SMB,US,1/31/2017,7,Closed Won,7,TRUE,FALSE,TRUE",
    ];
    const bad = [
      "13/1/2011,Ann,US_SMB_5,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE", // month 13
      "1/2/11,Ann,US_SMB_6,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE", // two-digit year
      "2/30/2011,Ann,US_SMB_7,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE", // no such day
      "1/2/2011,Ann,US_SMB_8,SMB,US,2/2/2011,1.5,Lead,10,FALSE,FALSE,TRUE", // not an integer
      "1/2/2011,Ann,US_SMB_9,SMB,US,2/2/2011,12a,Lead,10,FALSE,FALSE,TRUE",
      "1/2/2011,Ann,US_SMB_10,SMB,US,2/2/2011,,Lead,10,FALSE,FALSE,TRUE", // missing number
      "1/2/2011,Ann,US_SMB_11,SMB,US,2/2/2011,100,Lead,10,yes,FALSE,TRUE", // not a boolean
      "1/2/2011,Ann,US_SMB_12,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE,extra", // too many fields
      "1/2/2011,Ann,US_SMB_13,SMB,US", // too few fields
    ];

    it("drops and counts rows with unparseable values or malformed lines, and keeps the rest", async () => {
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], bad[0], good[1], ...bad.slice(1), good[2], good[3]].join("\n") + "\n");
      const result = await runTransformation(psd(join(dir, "sales.csv")));
      expect(result.droppedRows).to.deep.equal({ sales: bad.length });
      const { rows } = await readParquet(result.files);
      expect(rows).to.deep.equal([
        { date: "2011-01-02", opportunities: "3", forecasted_monthly_revenue: "345", leads_generated: "2", forecasted_lead_revenue: "95" },
        { date: "2016-12-31", opportunities: "1", forecasted_monthly_revenue: "7", leads_generated: "0", forecasted_lead_revenue: "0" },
      ]);
    });

    it("counts a row with bad values in several columns once, whichever typed columns they are in", async () => {
      const several = [
        "13/1/2011,Ann,US_SMB_20,SMB,US,2/2/2011,1.5,Lead,10,yes,FALSE,TRUE", // date, bigint and boolean
        "1/2/2011,Ann,US_SMB_21,SMB,US,2/30/2011,100,Lead,x,FALSE,,TRUE", // date, bigint, empty boolean
        "1/2/2011,Ann,US_SMB_22,SMB,US,2/2/2011,1e3,Lead,10,FALSE,FALSE,TRUE", // bigint alone
        "1/2/2011,Ann,US_SMB_23,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,t", // boolean alone
      ];
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], ...several, good[3]].join("\n") + "\n");
      const result = await runTransformation(psd(join(dir, "sales.csv")));
      expect(result.droppedRows).to.deep.equal({ sales: several.length });
      expect(result.rowsRead).to.deep.equal({ sales: several.length + 2 });
      expect(result.rowsWritten).to.equal(2);
    });

    it("types every column alike whether the file has a bad row or not (DuckDB's reader serves a file without one)", async () => {
      const sql = join(dir, "all.sql");
      await writeFile(sql, "SELECT * FROM sales ORDER BY lead_name");
      const edge = [
        "01/02/0020,Ann,a,SMB,US,12/31/9999,007,Lead,-0,True,tRUE,false",
        "2/29/2000,,b,SMB,US,1/1/2001,-9223372036854775808,Lead,9223372036854775807,FALSE,true,TRUE",
        '1/2/2011,"Bob, Jr",c,"SMB",US,2/2/2011,"5",Lead,0,"FALSE",FALSE,TRUE',
      ];
      const run = async (lines: string[], out: string) => {
        await writeFile(join(dir, `${out}.csv`), [SALES_HEADER, ...lines].join("\n") + "\n");
        const result = await runTransformation({ ...psd(join(dir, `${out}.csv`), join(dir, out)), sqlFile: sql });
        return { dropped: result.droppedRows.sales, ...(await readParquet(result.files)) };
      };
      const clean = await run(edge, "clean");
      const withBad = await run([...edge, bad[0]], "with-bad");
      expect([clean.dropped, withBad.dropped]).to.deep.equal([0, 1]);
      expect(clean.columns).to.deep.equal(withBad.columns);
      expect(clean.rows).to.deep.equal(withBad.rows);
      expect(clean.rows.map((r) => [r.date, r.salesperson, r.forecasted_monthly_revenue, r.weighted_revenue, r.closed_opportunity, r.active_opportunity])).to.deep.equal([
        ["0020-01-02", "Ann", "7", "0", true, true],
        ["2000-02-29", null, "-9223372036854775808", "9223372036854775807", false, true],
        ["2011-01-02", "Bob, Jr", "5", "0", false, false],
      ]);
    });

    it("gives the same answer to a job that reads only part of its input (LIMIT), malformed lines included", async () => {
      const sql = join(dir, "first.sql");
      await writeFile(sql, "SELECT count(*) AS n FROM (SELECT * FROM sales LIMIT 2)");
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], good[1], good[2], bad[7], good[3]].join("\n") + "\n");
      const result = await runTransformation({ ...psd(join(dir, "sales.csv")), sqlFile: sql });
      expect(result.droppedRows).to.deep.equal({ sales: 1 });
      expect((await readParquet(result.files)).rows).to.deep.equal([{ n: "2" }]);
    });

    it("drops and counts a line with an unclosed quote alone: records are lines, as in Spark (the lines after it are kept)", async () => {
      const unclosed = good[3].replace(",TRUE", ',"TRUE'); // the last field opens a quote that never closes
      for (const eol of ["\n", "\r\n"]) {
        await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], unclosed, good[1], good[2]].join(eol) + eol);
        const result = await runTransformation(psd(join(dir, "sales.csv")));
        expect(result.droppedRows, JSON.stringify(eol)).to.deep.equal({ sales: 1 });
        expect((await readParquet(result.files)).rows, JSON.stringify(eol)).to.deep.equal([
          { date: "2011-01-02", opportunities: "3", forecasted_monthly_revenue: "345", leads_generated: "2", forecasted_lead_revenue: "95" },
        ]);
      }
      // The last line, with no line break after it.
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], unclosed].join("\n"));
      expect((await runTransformation(psd(join(dir, "sales.csv")))).droppedRows).to.deep.equal({ sales: 1 });
    });

    it("skips blank and white-space-only lines without counting them, as Spark's reader does", async () => {
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, good[0], "", "   ", " \t", good[1], bad[8]].join("\n") + "\n");
      const result = await runTransformation(psd(join(dir, "sales.csv")));
      expect(result.droppedRows).to.deep.equal({ sales: 1 });
      expect(result.rowsWritten).to.equal(1);
    });

    it("reads every file of a folder whatever its name (recursively), except names starting with '_' or '.', and matches headers by snake_case name in any order", async () => {
      const reordered = "Opportunity Stage,Forecasted  Monthly Revenue ,Date,Salesperson,Lead Name,Segment,Region,Target Close,Weighted Revenue,Closed Opportunity,Active Opportunity,Latest Status Entry,Notes";
      await mkdir(join(dir, "in", "part"), { recursive: true });
      await writeFile(join(dir, "in", "a.csv"), [SALES_HEADER, good[0], bad[3]].join("\n") + "\n");
      await writeFile(join(dir, "in", "part", "b.txt"), [reordered, "Lead,40,1/2/2011,Ann,US_SMB_1,SMB,US,2/2/2011,4,FALSE,FALSE,TRUE,note"].join("\r\n") + "\r\n");
      await writeFile(join(dir, "in", "_SUCCESS"), "not data");
      await writeFile(join(dir, "in", ".a.csv.crc"), "not data");
      await mkdir(join(dir, "in", "_temporary"));
      await writeFile(join(dir, "in", "_temporary", "c.csv"), "not data");
      const result = await runTransformation(psd(join(dir, "in")));
      expect(result.droppedRows).to.deep.equal({ sales: 1 });
      expect((await readParquet(result.files)).rows).to.deep.equal([
        { date: "2011-01-02", opportunities: "2", forecasted_monthly_revenue: "140", leads_generated: "2", forecasted_lead_revenue: "140" },
      ]);
    });

    it("fails naming the file and every missing column", async () => {
      const file = join(dir, "sales.csv");
      await writeFile(file, SALES_HEADER.replace(",Opportunity Stage", "").replace(",Target Close", "") + "\n");
      const error = await runTransformation(psd(file)).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.include(file).and.include('"Opportunity Stage"').and.include('"Target Close"').and.include("input 'sales'");
    });

    it("fails naming the file for a malformed header, an empty file, or a missing path", async () => {
      const cases: Array<[string, string | undefined, string]> = [
        ["quote.csv", 'Date,"Salesperson\n1/2/2011,Ann\n', "malformed CSV header"],
        ["empty.csv", "", "no header line"],
        ["missing.csv", undefined, "cannot read"],
      ];
      for (const [name, content, problem] of cases) {
        const file = join(dir, name);
        if (content !== undefined) await writeFile(file, content);
        const error = await runTransformation(psd(file)).then(() => undefined, (e: Error) => e);
        expect(error?.message, name).to.include(file).and.include(problem);
      }
    });

    it("fails naming the input for a folder without CSV files, and the file for unreadable Parquet", async () => {
      await mkdir(join(dir, "empty"));
      await writeFile(join(dir, "empty", "_SUCCESS"), "");
      const noFiles = await runTransformation(psd(join(dir, "empty"))).then(() => undefined, (e: Error) => e);
      expect(noFiles?.message).to.include("input 'sales'").and.include("no data file");
      await writeFile(join(dir, "broken.parquet"), "not parquet");
      const broken = await runTransformation({ ...psd(""), inputs: [{ name: "sales", path: join(dir, "broken.parquet"), format: "parquet" }] }).then(() => undefined, (e: Error) => e);
      expect(broken?.message).to.include(join(dir, "broken.parquet"));
    });
  });

  describe("output and SQL", () => {
    it("replaces whatever was in the output folder with the Parquet files alone", async () => {
      await writeFile(join(dir, "sales.csv"), generateSales(50, 1));
      const outputDir = join(dir, "out");
      await mkdir(join(outputDir, "old"), { recursive: true });
      await writeFile(join(outputDir, "stale.parquet"), "old run");
      const result = await runTransformation(psd(join(dir, "sales.csv"), outputDir));
      expect(await readdir(outputDir)).to.deep.equal(["part-00000.snappy.parquet"]);
      expect(result.files).to.deep.equal([join(outputDir, "part-00000.snappy.parquet")]);
      expect((await readFile(result.files[0])).subarray(0, 4).toString()).to.equal("PAR1");
    });

    it("fails naming the SQL file when it is missing or does not run", async () => {
      await writeFile(join(dir, "sales.csv"), generateSales(10, 1));
      const missing = await runTransformation({ ...psd(join(dir, "sales.csv")), sqlFile: "nope.sql" }).then(() => undefined, (e: Error) => e);
      expect(missing?.message).to.include(join(SCRIPTS_DIR, "nope.sql"));
      await writeFile(join(dir, "bad.sql"), "SELECT * FROM marketing");
      const failing = await runTransformation({ ...psd(join(dir, "sales.csv")), sqlFile: join(dir, "bad.sql") }).then(() => undefined, (e: Error) => e);
      expect(failing?.message).to.include(join(dir, "bad.sql")).and.include("marketing");
    });

    it("rejects an input whose name is not a view name or whose CSV has no schema", async () => {
      await writeFile(join(dir, "sales.csv"), generateSales(10, 1));
      const badName = await runTransformation({ ...psd(join(dir, "sales.csv")), inputs: [{ name: "sales; DROP", path: join(dir, "sales.csv"), format: "csv", schema: "sales.json" }] }).then(() => undefined, (e: Error) => e);
      expect(badName?.message).to.include('"sales; DROP"');
      const noSchema = await runTransformation({ ...psd(join(dir, "sales.csv")), inputs: [{ name: "sales", path: join(dir, "sales.csv"), format: "csv" }] }).then(() => undefined, (e: Error) => e);
      expect(noSchema?.message).to.include("input 'sales'").and.include("schema");
    });
  });

  describe("data-quality gate", () => {
    const salesRow = (date: string) => `${date},Ann,L1,SMB,US,2/2/2011,100,Lead,10,FALSE,TRUE,TRUE`;
    const failure = (request: TransformationRequest) => runTransformation(request).then(() => undefined, (e: Error) => e);

    it("fails a job whose every input row was dropped (ISO dates) with DataQualityError and the counts, writing nothing", async () => {
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, salesRow("2015-03-04"), salesRow("2015-03-05"), salesRow("2015-03-06")].join("\n") + "\n");
      const error = await failure(psd(join(dir, "sales.csv")));
      expect(error).to.be.instanceOf(DataQualityError);
      expect(error!.message).to.equal(
        "DataQualityError: input 'sales': all 3 rows read were dropped (limit: not all, unless maxDroppedFraction is 1); output: 0 rows written (limit: minOutputRows 1) (rows read: sales 3; dropped: sales 3; written: 0)",
      );
      expect((error as DataQualityError).counts).to.deep.equal({ inputs: { sales: { read: 3, dropped: 3 } }, written: 0, nulls: {} });
      expect(await readdir(dir)).to.deep.equal(["sales.csv"]);
      // Allowed by its limits, the same job succeeds with an empty output.
      const allowed = await runTransformation({ ...psd(join(dir, "sales.csv")), quality: { inputs: { sales: { maxDroppedFraction: 1 } }, minOutputRows: 0, notNull: [] } });
      expect([allowed.rowsWritten, allowed.rowsRead, allowed.droppedRows]).to.deep.equal([0, { sales: 3 }, { sales: 3 }]);
    });

    it("gives the shared table's answer for the counts it produces", async () => {
      const c = QUALITY_CASES.find((q) => q.name === "a small fraction limit")!;
      expect(c.counts).to.deep.equal({ inputs: { sales: { read: 3, dropped: 1 } }, written: 2, nulls: {} });
      await writeFile(join(dir, "sales.csv"), [SALES_HEADER, salesRow("1/2/2011"), salesRow("bad"), salesRow("1/3/2011")].join("\n") + "\n");
      const error = await failure({ ...psd(join(dir, "sales.csv")), quality: c.limits });
      expect(error?.message).to.equal(`DataQualityError: ${c.error}`);
      const within = await runTransformation({ ...psd(join(dir, "sales.csv")), quality: { ...c.limits, inputs: { sales: { maxDroppedFraction: 0.5 } } } });
      expect([within.rowsWritten, within.rowsRead, within.droppedRows]).to.deep.equal([2, { sales: 3 }, { sales: 1 }]);
    });

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

  describe("inputs people have", () => {
    it("refuses a required column named twice (after snake_case), naming it and both positions", async () => {
      await writeFile(join(dir, "sales.csv"), `${SALES_HEADER},date \n1/2/2011,Ann,L1,SMB,US,2/2/2011,100,Lead,10,FALSE,TRUE,TRUE,junk\n`);
      const error = await runTransformation(psd(join(dir, "sales.csv"))).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.include(join(dir, "sales.csv")).and.include("column 'date' twice, at positions 1 and 13");
    });

    it("reads a *.gz file and a folder of parts (plain and gzip) to the same result as the plain file", async () => {
      const csv = generateSales(400, 3);
      const lines = csv.trim().split("\n");
      await writeFile(join(dir, "sales.csv"), csv);
      await writeFile(join(dir, "sales.csv.gz"), gzipSync(csv));
      await mkdir(join(dir, "parts"));
      await writeFile(join(dir, "parts", "part-0.csv"), [lines[0], ...lines.slice(1, 200)].join("\n") + "\n");
      await writeFile(join(dir, "parts", "part-1.csv.gz"), gzipSync([lines[0], ...lines.slice(200)].join("\n") + "\n"));
      const plain = await runTransformation(psd(join(dir, "sales.csv"), join(dir, "o1")));
      const expected = (await readParquet(plain.files)).rows;
      expect(expected).to.deep.equal(expectedDailySales(csv));
      for (const [path, out] of [[join(dir, "sales.csv.gz"), "o2"], [join(dir, "parts"), "o3"]]) {
        const result = await runTransformation(psd(path, join(dir, out)));
        expect((await readParquet(result.files)).rows, path).to.deep.equal(expected);
        expect([result.rowsRead, result.droppedRows], path).to.deep.equal([{ sales: 400 }, { sales: 0 }]);
      }
    });

    it("drops an unclosed-quote line of a *.gz file as of a plain one", async () => {
      const good = generateSales(20, 2).trim().split("\n");
      await writeFile(join(dir, "sales.csv.gz"), gzipSync([...good, 'x,"unterminated'].join("\n") + "\n"));
      expect((await runTransformation(psd(join(dir, "sales.csv.gz")))).droppedRows).to.deep.equal({ sales: 1 });
    });

    it("says what a binary file looks like, naming it, without its bytes", async () => {
      const cases: Array<[string, Buffer, string]> = [
        ["sales.csv", gzipSync(generateSales(5, 1)), "it holds gzip data; name it *.gz"],
        ["sales.xlsx", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), "ZIP archive"],
        ["sales.bin", Buffer.from([0x01, 0x02, 0xff, 0x00, 0x10, 0x7f, 0x0a]), "not text"],
        ["sales.csv.gz", Buffer.from("plain text, not gzip\n"), "not valid gzip data"],
      ];
      for (const [name, bytes, looksLike] of cases) {
        await writeFile(join(dir, name), bytes);
        const error = await runTransformation(psd(join(dir, name))).then(() => undefined, (e: Error) => e);
        expect(error?.message, name).to.include(join(dir, name)).and.include(looksLike);
        expect(error?.message, name).to.not.match(/[\x00-\x08\x1f\ufffd]/);
      }
    });
  });
});
