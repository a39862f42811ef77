import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { generateMarketing, generateSales, salesChunks, writeSampleData } from "../../local/sample-data";

// The real files' header lines, byte for byte (note the space after "Mailing list adds").
const SALES_HEADER =
  "Date,Salesperson,Lead Name,Segment,Region,Target Close,Forecasted Monthly Revenue,Opportunity Stage,Weighted Revenue,Closed Opportunity,Active Opportunity,Latest Status Entry";
const MARKETING_HEADER =
  "Date,New visitors SEO,New visitors CPC,New visitors Social Media,Return visitors,Twitter mentions,Twitter follower adds,Twitter followers cumulative,Mailing list adds ,Mailing list cumulative,Website Pageviews,Website Visits,Website Unique Visits,Mobile uniques,Tablet uniques,Desktop uniques,Free sign up,Paid conversion,Events";
const UNPADDED_DATE = /^([1-9]|1[0-2])\/([1-9]|[12]\d|3[01])\/\d{4}$/;

const lines = (csv: string) => csv.slice(0, -1).split("\n");
const epochDay = (date: string) => {
  const [m, d, y] = date.split("/").map(Number);
  return Date.UTC(y, m - 1, d) / 86_400_000;
};
// The rows (as CSV lines, the first ten) that break `holds`: one assertion for 21,000 rows, naming the bad ones
// (a chai assertion per row cost seconds).
const rowsBreaking = (rows: string[][], holds: (row: string[], index: number) => boolean) =>
  rows.flatMap((row, index) => (holds(row, index) ? [] : [row.join(",")])).slice(0, 10);

describe("local/sample-data", () => {
  describe("generateSales", () => {
    const csv = generateSales();
    const rows = lines(csv).slice(1).map((l) => l.split(","));

    it("has the real header, about 21,000 rows of 12 fields, and ends with a newline", () => {
      expect(lines(csv)[0]).to.equal(SALES_HEADER);
      expect(rows).to.have.length(20_994);
      expect(csv.endsWith("\n")).to.equal(true);
      expect(rowsBreaking(rows, (row) => row.length === 12)).to.deep.equal([]);
    });

    it("writes unpadded M/D/YYYY dates over 2011-2016 in date order, with the target close after the date", () => {
      expect(rowsBreaking(rows, (row) => UNPADDED_DATE.test(row[0]) && UNPADDED_DATE.test(row[5]))).to.deep.equal([]);
      expect(rowsBreaking(rows, (row, i) => i === 0 || epochDay(row[0]) >= epochDay(rows[i - 1][0])), "date order").to.deep.equal([]);
      expect(rowsBreaking(rows, (row) => epochDay(row[5]) > epochDay(row[0])), "target close after the date").to.deep.equal([]);
      expect(rows[0][0].endsWith("/2011")).to.equal(true);
      expect(rows[rows.length - 1][0].endsWith("/2016")).to.equal(true);
    });

    it("uses the real categories, TRUE/FALSE booleans and integer revenues (0 for lost deals)", () => {
      const stages = new Set(rows.map((r) => r[7]));
      expect([...stages].sort()).to.deep.equal(["Closed Lost", "Closed Won", "Contracting", "Lead", "Prospect", "Qualified"]);
      expect(new Set(rows.map((r) => r[3]))).to.deep.equal(new Set(["SMB", "Enterprise", "Startup"]));
      expect(new Set(rows.map((r) => r[4]))).to.deep.equal(new Set(["US", "EMEA", "APAC"]));
      expect(rowsBreaking(rows, (r) => r.slice(9).every((v) => v === "TRUE" || v === "FALSE")), "booleans").to.deep.equal([]);
      expect(rowsBreaking(rows, (r) => /^\d+$/.test(r[6]) && /^\d+$/.test(r[8])), "integer revenues").to.deep.equal([]);
      expect(rowsBreaking(rows, (r) => r[7] !== "Closed Lost" || r[6] === "0"), "0 for lost deals").to.deep.equal([]);
      const leads = rows.filter((r) => r[7] === "Lead").length;
      expect(leads / rows.length).to.be.within(0.35, 0.55);
    });

    it("is deterministic per seed and honours the row count", () => {
      expect(generateSales(500, 3)).to.equal(generateSales(500, 3));
      expect(generateSales(500, 3)).to.not.equal(generateSales(500, 4));
      expect(lines(generateSales(0))).to.deep.equal([SALES_HEADER]);
      expect(lines(generateSales(12_345))).to.have.length(12_346);
      expect(() => generateSales(-1)).to.throw("-1");
    });

    // 30,000 rows are about 2.8 million characters: 20 times the bound if they came as one string (200,000 rows
    // took most of this file's CPU and proved no more).
    it("streams in bounded chunks rather than one large string", () => {
      let count = 0;
      let chunks = 0;
      for (const chunk of salesChunks(30_000, 1)) {
        expect(chunk.length).to.be.below(1 << 17);
        count += chunk.split("\n").length - 1;
        chunks++;
      }
      expect(count).to.equal(30_001);
      expect(chunks).to.be.above(20);
    });
  });

  describe("generateMarketing", () => {
    const csv = generateMarketing();
    const rows = lines(csv).slice(1).map((l) => l.split(","));

    it("has the real header (trailing space included) and one row per day from 1/1/2013 to 12/31/2016", () => {
      expect(lines(csv)[0]).to.equal(MARKETING_HEADER);
      expect(rows).to.have.length(1461);
      expect(rows[0][0]).to.equal("1/1/2013");
      expect(rows[1460][0]).to.equal("12/31/2016");
      expect(rowsBreaking(rows, (row) => row.length === 19), "19 fields").to.deep.equal([]);
      expect(rowsBreaking(rows, (row, i) => UNPADDED_DATE.test(row[0]) && epochDay(row[0]) === epochDay("1/1/2013") + i), "one row per day").to.deep.equal([]);
      expect(rowsBreaking(rows, (row) => row.slice(1, 18).every((value) => /^-?\d+$/.test(value))), "integer metrics").to.deep.equal([]);
    });

    it("leaves Events empty on most days and is deterministic per seed", () => {
      const empty = rows.filter((r) => r[18] === "").length;
      expect(empty / rows.length).to.be.within(0.5, 0.7);
      expect(generateMarketing(9)).to.equal(generateMarketing(9));
      expect(generateMarketing(9)).to.not.equal(generateMarketing(10));
    });
  });

  describe("writeSampleData", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "sample-data-test-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    // 10,000 rows are 15 chunks, each more than the file stream buffers: every write waits for it to drain.
    it("writes the same bytes as the string generators", async () => {
      const paths = await writeSampleData(join(dir, "out"), { salesRows: 10_000, seed: 5 });
      expect(await readFile(paths.sales, "utf8")).to.equal(generateSales(10_000, 5));
      expect(await readFile(paths.marketing, "utf8")).to.equal(generateMarketing(5));
    });

    it("fails naming the path it cannot write", async () => {
      const error = await writeSampleData(join("/dev/null", "x")).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.include("/dev/null");
    });
  });
});
