// The local engine's mechanisms (CSV reading, drop rules per value type, inputs, output, the quality gate) on a
// job the test owns (test/local/fixtures/engine: a `deals` schema and its SQL), so they hold whatever datasets
// and jobs the project's configuration has. The shipped example's results are in test/example/local-etl-engine.test.ts.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import { spy, stub, useFakeTimers, type SinonSpy } from "sinon";
import { isoDate, parquetRows, readParquet, type Row } from "../support/parquet";
import { gzipSync } from "node:zlib";
import { HEADER_LIMIT } from "../../core/csv-header";
import { withConnection } from "../../local/duckdb-instance";
import { DataQualityError } from "../../core/quality";
import { readSchemaFile } from "../../core/schema-file";
import { schemaChunks } from "../../local/dataset-samples";
import { BlankLineScanner, closeIdleDuckDb, engineProbe, runTransformation, UnclosedQuoteScanner, type Attempt, type LineCounter, type TransformationRequest } from "../../local/etl-engine";
import { StrictLineCounter, type FieldKind } from "../../local/strict-lines";
import { QUALITY_CASES } from "../quality-cases";
import { CSV_LINE_CASES, CSV_LINE_QUALITY, CSV_LINE_SQL, CSV_LINE_VIEW } from "../csv-line-cases";

const SCRIPTS_DIR = join(__dirname, "fixtures", "engine");
const SCHEMA = readSchemaFile(join(SCRIPTS_DIR, "schemas", "deals.json"));
const HEADER = SCHEMA.columns.map((c) => c.source).join(",");

/** CSV text of the test's schema, as `npm start` generates it for a dataset with that schema; one stage is 'Lead'. */
const generatedDeals = (days: number, seed: number) => [...schemaChunks(SCHEMA, { days, seed, name: "deals" })].join("").replaceAll(",Stage 1,", ",Lead,");


/** deals.sql computed in plain TypeScript over unquoted CSV text. */
function expectedDaily(csv: string): Row[] {
  const days = new Map<string, { deals: number; amount: number; leads: number; leadAmount: number }>();
  for (const line of csv.trim().split("\n").slice(1)) {
    const f = line.split(",");
    const day = days.get(isoDate(f[0])) ?? { deals: 0, amount: 0, leads: 0, leadAmount: 0 };
    day.deals++;
    day.amount += Number(f[6]);
    if (f[7] === "Lead") {
      day.leads++;
      day.leadAmount += Number(f[6]);
    }
    days.set(isoDate(f[0]), day);
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, d]) => ({ date, deals: String(d.deals), amount: String(d.amount), leads: String(d.leads), lead_amount: String(d.leadAmount) }));
}

/** The ways a run went (engineProbe), each with whether the output folder existed right after it. */
async function attempts<T>(run: () => Promise<T>, outputDir?: string): Promise<{ result?: T; error?: Error; seen: Array<Attempt & { output?: boolean }> }> {
  const seen: Array<Attempt & { output?: boolean }> = [];
  engineProbe.onAttempt = (attempt) => seen.push(outputDir ? { ...attempt, output: existsSync(outputDir) } : attempt);
  try {
    return { result: await run(), seen };
  } catch (e) {
    return { error: e as Error, seen };
  } finally {
    delete engineProbe.onAttempt;
  }
}

const FAST = { path: "fast", stood: true, job: "done", check: "vouched" };
/** A small run's DuckDB: one thread, its file cache off (the next small run may take it, and must see files as they are now). */
const ONE_THREAD = { threads: "1", enable_external_file_cache: "false" };

describe("local/etl-engine", () => {
  let dir: string;
  const { lineCounter: realLineCounter, perValueCountFrom } = engineProbe;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-engine-test-"));
  });
  afterEach(async () => {
    Object.assign(engineProbe, { lineCounter: realLineCounter, perValueCountFrom });
    await rm(dir, { recursive: true, force: true });
  });

  const deals = (path: string, outputDir = join(dir, "out")): TransformationRequest => ({
    inputs: [{ name: "deals", path, format: "csv", schema: "deals.json" }],
    sqlFile: "deals.sql",
    outputDir,
    scriptsDir: SCRIPTS_DIR,
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

    it("finds the same blank lines (bytes up to 0x20 alone) however the file is cut into chunks (line breaks LF, CR LF, lone CR)", () => {
      // A byte-by-byte reference: a line ends at LF, CR LF or a lone CR; it is blank when no byte of it is above 0x20.
      const reference = (data: Buffer) => {
        const found: Array<{ start: number; end: number }> = [];
        let start = 0;
        let blank = true;
        for (let i = 0; i < data.length; i++) {
          if (data[i] === 0x0a || data[i] === 0x0d) {
            if (data[i] === 0x0d && data[i + 1] === 0x0a) i++;
            if (blank) found.push({ start, end: i + 1 });
            start = i + 1;
            blank = true;
          } else if (data[i] > 0x20) blank = false;
        }
        if (start < data.length && blank) found.push({ start, end: data.length });
        return found;
      };
      for (const text of [
        ["Name", "a", "", "  ", "\t", "b", "\x0b\x00", " x ", "", "é", "\r", "c\r", "\r\n", " "].join("\n"),
        "Name\r\n\r\na\r\r\r\n \r\n",
        "Name\nb\n\n",
      ]) {
        const data = Buffer.from(text);
        const expected = reference(data);
        expect(expected, "the sample must hold blank lines").to.not.be.empty;
        for (let size = 1; size <= data.length; size++) {
          const scanner = new BlankLineScanner();
          for (let at = 0; at < data.length; at += size) scanner.push(data.subarray(at, at + size));
          expect(scanner.end(), `${JSON.stringify(text)} in chunks of ${size} bytes`).to.deep.equal(expected);
        }
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

    // A small file's rows are checked per row; a large one's dates and booleans once per distinct value: both ways.
    const countWays = [perValueCountFrom, 0];

    it("drops and counts rows with unparseable values or malformed lines, and keeps the rest", async () => {
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], bad[0], good[1], ...bad.slice(1), good[2], good[3]].join("\n") + "\n");
      for (const from of countWays) {
        engineProbe.perValueCountFrom = from;
        const result = await runTransformation(deals(join(dir, "deals.csv")));
        expect(result.droppedRows, `per value from ${from} bytes`).to.deep.equal({ deals: bad.length });
        const { rows } = await readParquet(result.files);
        expect(rows, `per value from ${from} bytes`).to.deep.equal([
          { date: "2011-01-02", deals: "3", amount: "345", leads: "2", lead_amount: "95" },
          { date: "2016-12-31", deals: "1", amount: "7", leads: "0", lead_amount: "0" },
        ]);
      }
    });

    it("counts a row with bad values in several columns once, whichever typed columns they are in", async () => {
      const several = [
        "13/1/2011,Ann,US_SMB_20,SMB,US,2/2/2011,1.5,Lead,10,yes,FALSE,TRUE", // date, bigint and boolean
        "1/2/2011,Ann,US_SMB_21,SMB,US,2/30/2011,100,Lead,x,FALSE,,TRUE", // date, bigint, empty boolean
        "1/2/2011,Ann,US_SMB_22,SMB,US,2/2/2011,1e3,Lead,10,FALSE,FALSE,TRUE", // bigint alone
        "1/2/2011,Ann,US_SMB_23,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,t", // boolean alone
      ];
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], ...several, good[3]].join("\n") + "\n");
      for (const from of countWays) {
        engineProbe.perValueCountFrom = from;
        const result = await runTransformation(deals(join(dir, "deals.csv")));
        expect([result.droppedRows, result.rowsRead, result.rowsWritten], `per value from ${from} bytes`).to.deep.equal([{ deals: several.length }, { deals: several.length + 2 }, 2]);
      }
    });

    it("counts bad bigints, malformed lines and an unclosed quote both ways when no date or boolean is bad (the per-value count stands)", async () => {
      const unclosed = '1/2/2011,Ann,"US_SMB_30,SMB,US,2/2/2011,100,Lead,10,FALSE,FALSE,TRUE';
      const notDateOrBoolean = [bad[3], bad[4], bad[5], bad[7], bad[8], unclosed];
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], ...notDateOrBoolean, good[3]].join("\n") + "\n");
      for (const from of countWays) {
        engineProbe.perValueCountFrom = from;
        const result = await runTransformation(deals(join(dir, "deals.csv")));
        expect([result.droppedRows, result.rowsRead, result.rowsWritten], `per value from ${from} bytes`).to.deep.equal([{ deals: notDateOrBoolean.length }, { deals: notDateOrBoolean.length + 2 }, 2]);
      }
    });

    it("types every column alike whether the file has a bad row or not (DuckDB's reader serves a file without one)", async () => {
      const sql = join(dir, "all.sql");
      await writeFile(sql, "SELECT * FROM deals ORDER BY deal_name");
      const edge = [
        "01/02/0020,Ann,a,SMB,US,12/31/9999,007,Lead,-0,True,tRUE,false",
        "2/29/2000,,b,SMB,US,1/1/2001,-9223372036854775808,Lead,9223372036854775807,FALSE,true,TRUE",
        '1/2/2011,"Bob, Jr",c,"SMB",US,2/2/2011,"5",Lead,0,"FALSE",FALSE,TRUE',
      ];
      const run = async (lines: string[], out: string) => {
        await writeFile(join(dir, `${out}.csv`), [HEADER, ...lines].join("\n") + "\n");
        const result = await runTransformation({ ...deals(join(dir, `${out}.csv`), join(dir, out)), sqlFile: sql });
        return { dropped: result.droppedRows.deals, ...(await readParquet(result.files)) };
      };
      const clean = await run(edge, "clean");
      const withBad = await run([...edge, bad[0]], "with-bad");
      expect([clean.dropped, withBad.dropped]).to.deep.equal([0, 1]);
      expect(clean.columns).to.deep.equal(withBad.columns);
      expect(clean.rows).to.deep.equal(withBad.rows);
      expect(clean.rows.map((r) => [r.date, r.owner, r.amount, r.weighted_amount, r.closed, r.active])).to.deep.equal([
        ["0020-01-02", "Ann", "7", "0", true, true],
        ["2000-02-29", null, "-9223372036854775808", "9223372036854775807", false, true],
        ["2011-01-02", "Bob, Jr", "5", "0", false, false],
      ]);
    });

    it("gives the same counts and rows whether the strict line check vouches for a file or the counting scan reads it", async () => {
      const sql = join(dir, "all.sql");
      await writeFile(sql, "SELECT * FROM deals ORDER BY deal_name");
      const kinds = HEADER.split(",").map((h) => (SCHEMA.columns.find((c) => c.source === h)!.type as FieldKind));
      const lines = [...generatedDeals(20, 3).trim().split("\n").slice(1), ...good];
      for (const eol of ["\n", "\r\n"]) {
        // A blank line is no record, but the check leaves such a file to the counting scan.
        const files = { vouched: [HEADER, ...lines].join(eol) + eol, counted: [HEADER, ...lines.slice(0, 5), "", ...lines.slice(5)].join(eol) + eol };
        const answers = [];
        for (const [name, text] of Object.entries(files)) {
          await writeFile(join(dir, `${name}.csv`), text);
          const counter = new StrictLineCounter(kinds);
          counter.push(Buffer.from(text));
          expect(counter.end(), `${name}, ${JSON.stringify(eol)}`).to.equal(name === "vouched" ? lines.length : undefined);
          const { result, seen } = await attempts(() => runTransformation({ ...deals(join(dir, `${name}.csv`), join(dir, name)), sqlFile: sql }));
          expect(seen.map((a) => a.path), `${name}, ${JSON.stringify(eol)}`).to.deep.equal(name === "vouched" ? ["fast"] : ["fast", "exact"]);
          if (!result) throw new Error("no result");
          answers.push({ rowsRead: result.rowsRead, droppedRows: result.droppedRows, rowsWritten: result.rowsWritten, ...(await readParquet(result.files)) });
        }
        expect(answers[0].rowsRead).to.deep.equal({ deals: lines.length });
        expect(answers[0].droppedRows).to.deep.equal({ deals: 0 });
        expect(answers[0], JSON.stringify(eol)).to.deep.equal(answers[1]);
      }
    });

    it("gives the same answer to a job that reads only part of its input (LIMIT), malformed lines included", async () => {
      const sql = join(dir, "first.sql");
      await writeFile(sql, "SELECT count(*) AS n FROM (SELECT * FROM deals LIMIT 2)");
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[1], good[2], bad[7], good[3]].join("\n") + "\n");
      const result = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql });
      expect(result.droppedRows).to.deep.equal({ deals: 1 });
      expect((await readParquet(result.files)).rows).to.deep.equal([{ n: "2" }]);
    });

    it("goes the fast way for a clean file; a file with a bad line goes the exact way, the fast attempt's output removed first", async () => {
      const outputDir = join(dir, "out");
      await writeFile(join(dir, "clean.csv"), [HEADER, ...good].join("\n") + "\n");
      const clean = await attempts(() => runTransformation(deals(join(dir, "clean.csv"), outputDir)), outputDir);
      expect(clean.seen).to.deep.equal([{ ...FAST, output: true }]);
      expect(clean.result?.rowsRead).to.deep.equal({ deals: good.length });
      await writeFile(join(dir, "bad.csv"), [HEADER, ...good, bad[0]].join("\n") + "\n");
      closeIdleDuckDb(); // the run opens a DuckDB of its own, not the one the clean run left idle
      const opened = spy(DuckDBInstance, "create");
      const withBad = await attempts(() => runTransformation(deals(join(dir, "bad.csv"), outputDir)), outputDir).finally(() => opened.restore());
      expect(withBad.seen.map((a) => [a.path, a.output])).to.deep.equal([["fast", false], ["exact", false]]);
      expect(opened.callCount, "both ways on one DuckDB (each with a connection of its own)").to.equal(1);
      expect(opened.firstCall.args[1], "a small input: one DuckDB thread").to.deep.equal(ONE_THREAD);
      expect(withBad.seen[0]).to.include({ stood: false, check: "not vouched" });
      expect([withBad.result?.rowsRead, withBad.result?.droppedRows]).to.deep.equal([{ deals: good.length + 1 }, { deals: 1 }]);
    });

    it("runs on one DuckDB thread up to 4 MiB of files in all (every input's), a .gz or Parquet file counted 8 times its size", async () => {
      // The threads are chosen from the files' sizes before DuckDB opens; the run stops there, so the bytes need not be CSV.
      const options: unknown[] = [];
      closeIdleDuckDb(); // a small run opens a DuckDB of its own, not one an earlier test's run left idle
      const opening = stub(DuckDBInstance, "create").callsFake(async (_path, given) => {
        options.push(given);
        throw new Error("stopped where DuckDB opens");
      });
      const MiB = 2 ** 20;
      const threadsFor = async (files: Record<string, number>, parquet?: number) => {
        const folder = await mkdtemp(join(dir, "in-"));
        for (const [name, bytes] of Object.entries(files)) await writeFile(join(folder, name), Buffer.alloc(bytes, "a"));
        const request = deals(folder);
        if (parquet !== undefined) {
          await writeFile(join(dir, `${basename(folder)}.parquet`), Buffer.alloc(parquet, "a"));
          request.inputs.push({ name: "other", path: join(dir, `${basename(folder)}.parquet`), format: "parquet" });
        }
        options.length = 0;
        const error = await runTransformation(request).then(() => undefined, (e: Error) => e);
        expect(error?.message).to.equal("stopped where DuckDB opens");
        return options.length === 1 ? options[0] : options;
      };
      try {
        const one = ONE_THREAD;
        expect(await threadsFor({ "a.csv": 4 * MiB }), "4 MiB").to.deep.equal(one);
        expect(await threadsFor({ "a.csv": 4 * MiB + 1 }), "4 MiB and a byte").to.deep.equal({});
        expect(await threadsFor({ "a.csv": 2 * MiB, "b.csv": 2 * MiB + 1 }), "two files of a folder").to.deep.equal({});
        expect(await threadsFor({ "a.csv": 600 * 1024 }), "600 KiB of CSV").to.deep.equal(one);
        expect(await threadsFor({ "a.csv.gz": 600 * 1024 }), "600 KiB of gzip").to.deep.equal({});
        expect(await threadsFor({ "a.csv": 2 * MiB }, 300 * 1024), "2 MiB of CSV and 300 KiB of Parquet").to.deep.equal({});
        expect(await threadsFor({ "a.csv": 2 * MiB }, 200 * 1024), "2 MiB of CSV and 200 KiB of Parquet").to.deep.equal(one);
      } finally {
        opening.restore();
      }
    });

    const run = DuckDBConnection.prototype.run;
    /** DuckDBConnection.run with `statement` answered by `answer` (the others run). */
    const answering = (statement: string, answer: () => Promise<unknown>) =>
      stub(DuckDBConnection.prototype, "run").callsFake(function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
        if (sql === statement) return answer() as ReturnType<typeof run>;
        return (run as (...a: unknown[]) => ReturnType<typeof run>).call(this, sql, ...rest);
      });
    /** The options of each DuckDB the engine opened (a small run's, ONE_THREAD; a large one's, none): not those of the
     * process's shared one (local/duckdb-instance.ts), opened without threads, that readParquet reads with. */
    const engineOpened = (opening: SinonSpy<Parameters<typeof DuckDBInstance.create>>) =>
      opening.args.map((a) => a[1]).filter((options) => options?.threads === "1" || (options && !Object.keys(options).length));

    it("a small run takes the DuckDB the last one left idle, as a new one would be: files read as they are now, the global setting reset; one whose reset fails is closed; a large run's is never kept", async () => {
      closeIdleDuckDb();
      const opening = spy(DuckDBInstance, "create");
      const closing = spy(DuckDBInstance.prototype, "closeSync");
      const opened = () => engineOpened(opening);
      const failing = (statement: string) => answering(statement, () => Promise.reject(new Error("IO Error: injected")));
      try {
        // The same job and output path each run; the input rewritten at its path, its size the same. (These re-reads
        // would pass with the file cache on too: DuckDB trusts a cached file only once its mtime is over 10 s old
        // (LAST_MODIFIED_THRESHOLD), and these files are seconds old. What keeps the cache off is the options
        // compared with ONE_THREAD below.)
        await writeFile(join(dir, "nulls.sql"), "SELECT CASE WHEN amount = 900 THEN NULL ELSE amount END AS a FROM deals");
        const nulls: TransformationRequest = { ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "nulls.sql"), quality: { inputs: {}, minOutputRows: 1, notNull: ["a"] } };
        await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[0]].join("\n") + "\n");
        expect((await runTransformation(nulls)).rowsWritten).to.equal(2);
        await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[0].replace(",100,", ",900,")].join("\n") + "\n");
        const quality = await runTransformation(nulls).then(() => undefined, (e: Error) => e);
        expect(quality?.message).to.match(/^DataQualityError: output: column 'a' has 1 null values/);
        // A Parquet input rewritten at its path, its size the same.
        await writeFile(join(dir, "amounts.sql"), "SELECT amount FROM deals");
        await writeFile(join(dir, "sum.sql"), "SELECT sum(amount) AS s FROM earlier");
        const summed = async (amount: string) => {
          await writeFile(join(dir, "deals.csv"), [HEADER, good[0].replace(",100,", `,${amount},`)].join("\n") + "\n");
          const parquet = (await runTransformation({ ...deals(join(dir, "deals.csv"), join(dir, "p")), sqlFile: join(dir, "amounts.sql") })).files[0];
          const sum = await runTransformation({ ...deals(""), inputs: [{ name: "earlier", path: parquet, format: "parquet" }], sqlFile: join(dir, "sum.sql") });
          return (await readParquet(sum.files)).rows;
        };
        expect(await summed("100")).to.deep.equal([{ s: 100 }]);
        expect(await summed("900")).to.deep.equal([{ s: 900 }]);
        expect(opened(), "six small runs, one DuckDB").to.deep.equal([ONE_THREAD]);
        // An exact run that fails before it sets preserve_insertion_order back: the next run has DuckDB's default.
        await writeFile(join(dir, "bad.csv"), [HEADER, ...good, bad[0]].join("\n") + "\n");
        const setBack = failing("SET preserve_insertion_order = true");
        const error = await runTransformation(deals(join(dir, "bad.csv"))).then(() => undefined, (e: Error) => e).finally(() => setBack.restore());
        expect(error?.message).to.equal("IO Error: injected");
        await writeFile(join(dir, "setting.sql"), "SELECT current_setting('preserve_insertion_order') AS p");
        const setting = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "setting.sql") });
        expect((await readParquet(setting.files)).rows).to.deep.equal([{ p: true }]);
        expect(opened(), "eight small runs, one DuckDB").to.deep.equal([ONE_THREAD]);
        // A DuckDB that cannot reset it is closed, not kept: the next run opens its own.
        const reset = failing("RESET preserve_insertion_order");
        await runTransformation(deals(join(dir, "deals.csv"))).finally(() => reset.restore());
        const first = await opening.firstCall.returnValue;
        expect(closing.calledOn(first), "the DuckDB whose reset failed is closed").to.equal(true);
        await runTransformation(deals(join(dir, "deals.csv")));
        expect(opened()).to.deep.equal([ONE_THREAD, ONE_THREAD]);
        // A large run opens a DuckDB of its own (DuckDB's default threads), neither taking the idle one nor kept idle
        // itself: a small run after it takes the one left idle before it, or opens one when there was none.
        // (Large: a Parquet input of over 512 KiB, counted 8 times; its rows are counted from its metadata, not read.)
        const big = join(dir, "big.parquet");
        await withConnection((c) => c.run(`COPY (SELECT md5(range::VARCHAR) AS h FROM range(16000)) TO '${big}' (FORMAT parquet, COMPRESSION uncompressed)`));
        await writeFile(join(dir, "threads.sql"), "SELECT current_setting('threads') AS t");
        const threads = async (large: boolean) => {
          const request = { ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "threads.sql") };
          if (large) request.inputs = [...request.inputs, { name: "big", path: big, format: "parquet" }];
          return (await readParquet((await runTransformation(request)).files)).rows;
        };
        expect(await threads(true)).to.not.deep.equal([{ t: "1" }]);
        expect(await threads(false), "the idle one taken").to.deep.equal([{ t: "1" }]);
        closeIdleDuckDb();
        expect(await threads(true)).to.not.deep.equal([{ t: "1" }]);
        expect(closing.calledOn(await opening.lastCall.returnValue), "the large run's DuckDB is closed").to.equal(true);
        expect(await threads(false), "a new one").to.deep.equal([{ t: "1" }]);
        expect(opened().slice(2)).to.deep.equal([{}, {}, ONE_THREAD]);
      } finally {
        opening.restore();
        closing.restore();
      }
    });

    it("the idle DuckDB is closed once unused for 10 s; of two small runs released at once, one keeps its DuckDB idle and the other closes its own", async () => {
      await writeFile(join(dir, "deals.csv"), [HEADER, ...good].join("\n") + "\n");
      closeIdleDuckDb();
      const opening = spy(DuckDBInstance, "create");
      const closing = spy(DuckDBInstance.prototype, "closeSync");
      const instances = () => Promise.all(opening.returnValues);
      const clock = useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      try {
        await runTransformation(deals(join(dir, "deals.csv")));
        clock.tick(9_999);
        await runTransformation(deals(join(dir, "deals.csv")));
        expect(opening.callCount, "taken 9.999 s after").to.equal(1);
        clock.tick(9_999); // counted anew from the second run's end
        expect(closing.callCount).to.equal(0);
        clock.tick(1);
        expect(closing.calledOn((await instances())[0]), "closed 10 s after its last run").to.equal(true);
        await runTransformation(deals(join(dir, "deals.csv")));
        expect(opening.callCount, "opened anew after").to.equal(2);
        closeIdleDuckDb();
        closing.resetHistory();
        // Two runs on a DuckDB each, both resetting theirs before either is kept idle.
        let arrived = 0;
        let bothArrived: () => void;
        const barrier = new Promise<void>((resolve) => (bothArrived = resolve));
        const resets = answering("RESET preserve_insertion_order", () => (++arrived === 2 && bothArrived(), barrier));
        await Promise.all([runTransformation(deals(join(dir, "deals.csv"))), runTransformation(deals(join(dir, "deals.csv"), join(dir, "out2")))]).finally(() => resets.restore());
        const [, , second, third] = await instances();
        expect(closing.callCount, "one of the two closed at once").to.equal(1);
        expect([second, third], "the other kept").to.include(closing.firstCall.thisValue);
        await runTransformation(deals(join(dir, "deals.csv")));
        expect(opening.callCount, "the one kept taken").to.equal(4);
        closeIdleDuckDb();
        expect(closing.callCount, "and closed then").to.equal(2);
        expect(new Set(closing.thisValues)).to.deep.equal(new Set([second, third]));
      } finally {
        clock.restore();
        opening.restore();
        closing.restore();
      }
    });

    it("a rejects table it cannot read is 'not sure', never 'no line skipped': the run is redone the exact way", async () => {
      await writeFile(join(dir, "clean.csv"), [HEADER, ...good].join("\n") + "\n");
      const read = DuckDBConnection.prototype.runAndReadAll;
      let injected = 0; // only the fast attempt's read (the exact path counts its own rejects the same way)
      const failing = stub(DuckDBConnection.prototype, "runAndReadAll").callsFake(function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
        if (sql.includes("count(DISTINCT line)") && !injected++) return Promise.reject(new Error("IO Error: injected"));
        return (read as (...a: unknown[]) => ReturnType<typeof read>).call(this, sql, ...rest);
      });
      try {
        const { result, seen, error } = await attempts(() => runTransformation(deals(join(dir, "clean.csv"))));
        expect(error?.message, error?.message).to.equal(undefined);
        expect(injected, "the fast attempt's rejects table was read").to.be.at.least(1);
        expect(seen.map((a) => a.path)).to.deep.equal(["fast", "exact"]);
        expect(seen[0]).to.include({ stood: false, check: "vouched" });
        expect([result?.rowsRead, result?.droppedRows]).to.deep.equal([{ deals: good.length }, { deals: 0 }]);
      } finally {
        failing.restore();
      }
    });

    it("stops the fast attempt's job as soon as the check gives up (the job does not run to its end)", async () => {
      // DuckDB's reader takes '+7777'; the strict form does not, so the exact view drops that row and the job is quick.
      const sql = join(dir, "slow.sql");
      await writeFile(sql, "SELECT count(*) AS n FROM (SELECT * FROM deals WHERE amount = 7777) d, range(20000000000) r");
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[1].replace(",250,", ",+7777,")].join("\n") + "\n");
      const { result, seen } = await attempts(() => runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql }));
      expect(seen).to.deep.equal([{ path: "fast", stood: false, job: "failed", check: "not vouched" }, { path: "exact" }]);
      expect(result?.droppedRows).to.deep.equal({ deals: 1 });
      expect((await readParquet(result!.files)).rows).to.deep.equal([{ n: "0" }]);
    });

    it("stops the fast attempt's job when the check gives up before DuckDB has started it (DuckDB drops an interrupt that comes first)", async () => {
      const sql = join(dir, "slow.sql");
      await writeFile(sql, "SELECT count(*) AS n FROM (SELECT * FROM deals WHERE amount = 7777) d, range(20000000000) r");
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[1].replace(",250,", ",+7777,")].join("\n") + "\n");
      // The job's statement reaches DuckDB only after the check's verdict (and so after any interrupt made at once).
      const verdict = new Promise<void>((resolve) => (engineProbe.onCheck = () => resolve()));
      let held = 0;
      const stubs = (["run", "start"] as const).map((method) => {
        const original = DuckDBConnection.prototype[method] as (...a: unknown[]) => Promise<unknown>;
        return stub(DuckDBConnection.prototype, method).callsFake(async function (this: DuckDBConnection, statement: string, ...rest: unknown[]) {
          if (statement.includes("range(20000000000)")) (held++, await verdict);
          return original.call(this, statement, ...rest);
        } as never);
      });
      try {
        const { result, seen } = await attempts(() => runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql }));
        expect(held, "the job's statement was held until the check's verdict").to.be.at.least(1);
        expect(seen).to.deep.equal([{ path: "fast", stood: false, job: "failed", check: "not vouched" }, { path: "exact" }]);
        expect(result?.droppedRows).to.deep.equal({ deals: 1 });
      } finally {
        for (const s of stubs) s.restore();
        delete engineProbe.onCheck;
      }
    });

    it("does not let the fast attempt stand when the reader skipped a line the check vouched for (a check that vouches for anything)", async () => {
      engineProbe.lineCounter = () => {
        let lines = 0;
        return { push: (chunk) => ((lines += chunk.filter((b) => b === 0x0a).length), true), end: () => lines - 1 } satisfies LineCounter;
      };
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], bad[7], good[1]].join("\n") + "\n");
      const { result, seen } = await attempts(() => runTransformation(deals(join(dir, "deals.csv"))));
      expect(seen).to.deep.equal([{ path: "fast", stood: false, job: "done", check: "vouched" }, { path: "exact" }]);
      expect([result?.rowsRead, result?.droppedRows, result?.rowsWritten]).to.deep.equal([{ deals: 3 }, { deals: 1 }, 1]);
    });

    it("stops the check when the fast attempt's job fails, then names the SQL error the exact way", async () => {
      const sql = join(dir, "fails.sql");
      await writeFile(sql, "SELECT CAST(deal_name AS INTEGER) AS n FROM deals");
      const text = [HEADER, ...Array.from({ length: 500_000 }, (_, i) => good[i % good.length])].join("\n") + "\n";
      const chunks = Math.ceil(Buffer.byteLength(text) / (1 << 20));
      expect(chunks, "the file must span many chunks").to.be.greaterThan(25);
      await writeFile(join(dir, "deals.csv"), text);
      let pushed = 0;
      let ended = false;
      engineProbe.lineCounter = async (kinds) => {
        const counter = await realLineCounter(kinds);
        return {
          push: (chunk) => {
            // Each chunk waits 100 ms: the job (failing on its first row) has seconds to fail before the file is read.
            pushed++;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
            return counter.push(chunk);
          },
          end: () => ((ended = true), counter.end()),
        };
      };
      const opened = spy(DuckDBInstance, "create");
      const { error, seen } = await attempts(() => runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql })).finally(() => opened.restore());
      expect(opened.args.map((a) => a[1]), "an input of many MiB: DuckDB's default threads").to.deep.equal([{}]);
      expect(seen).to.deep.equal([{ path: "fast", stood: false, job: "failed", check: "stopped" }, { path: "exact" }]);
      expect(error?.message).to.match(new RegExp(`^${sql}: the job's SQL failed \\(Conversion Error: `));
      expect([ended, pushed < chunks]).to.deep.equal([false, true]);
    });

    it("runs once, the fast way, a job that reads no line of its CSV input; its counts come from the check", async () => {
      await writeFile(join(dir, "deals.csv"), [HEADER, ...good].join("\n") + "\n");
      for (const query of ["SELECT 1 AS n", "SELECT count(*) AS n FROM deals WHERE false", "SELECT count(*) AS n FROM deals, (SELECT 1 WHERE false)"]) {
        const sql = join(dir, "none.sql");
        await writeFile(sql, query);
        const { result, seen } = await attempts(() => runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql }));
        expect(seen, query).to.deep.equal([FAST]);
        expect([result?.rowsRead, result?.droppedRows], query).to.deep.equal([{ deals: good.length }, { deals: 0 }]);
      }
    });

    it("lists rowsRead in the request's order of inputs, the fast way and the exact way", async () => {
      await writeFile(join(dir, "clean.csv"), [HEADER, ...good].join("\n") + "\n");
      await writeFile(join(dir, "bad.csv"), [HEADER, ...good, bad[0]].join("\n") + "\n");
      const all = join(dir, "all.sql");
      await writeFile(all, "SELECT * FROM deals");
      const parquet = (await runTransformation({ ...deals(join(dir, "clean.csv"), join(dir, "p")), sqlFile: all })).files[0];
      const sql = join(dir, "both.sql");
      await writeFile(sql, "SELECT count(*) AS n FROM deals, earlier");
      for (const [file, path] of [["clean.csv", "fast"], ["bad.csv", "exact"]]) {
        const csv = { name: "deals", path: join(dir, file), format: "csv" as const, schema: "deals.json" };
        const pq = { name: "earlier", path: parquet, format: "parquet" as const };
        for (const inputs of [[csv, pq], [pq, csv]]) {
          const { result, seen } = await attempts(() => runTransformation({ ...deals(""), inputs, sqlFile: sql }));
          expect(seen.at(-1)?.path).to.equal(path);
          expect(Object.keys(result!.rowsRead), `${path}: ${inputs.map((i) => i.name)}`).to.deep.equal(inputs.map((i) => i.name));
        }
      }
    });

    it("reads a double column the same whether the check vouches for the file or the counting scan reads it", async () => {
      await mkdir(join(dir, "schemas"));
      await writeFile(join(dir, "schemas", "m.json"), JSON.stringify({ format: "csv", columns: [{ source: "S", name: "s", type: "string" }, { source: "X", name: "x", type: "double" }] }));
      const sql = join(dir, "m.sql");
      await writeFile(sql, "SELECT s, x, CAST(x AS VARCHAR) AS text, x = 0 AND 1 / x < 0 AS negative_zero FROM m ORDER BY s");
      const values = ["0", "-0", "-0.0", "1e10", "1E-5", "-2.5e+3", "7e-99", "1.5E99", "123456789012345.678", "0.1000000000000000055511151231257827", "3.14159265358979323846264338327950288", "-000012.50"];
      const lines = values.map((v, i) => `${String(i).padStart(2, "0")},${v}`);
      const answers = [];
      for (const [name, extra] of [["vouched", []], ["counted", ["99,1.5.5"]]] as const) {
        await writeFile(join(dir, `${name}.csv`), ["S,X", ...lines, ...extra].join("\n") + "\n");
        const { result, seen } = await attempts(() =>
          runTransformation({ inputs: [{ name: "m", path: join(dir, `${name}.csv`), format: "csv", schema: "m.json" }], sqlFile: sql, outputDir: join(dir, name), scriptsDir: dir }),
        );
        expect(seen.map((a) => a.path), name).to.deep.equal(name === "vouched" ? ["fast"] : ["fast", "exact"]);
        expect(result?.droppedRows, name).to.deep.equal({ m: extra.length });
        answers.push((await readParquet(result!.files)).rows);
      }
      expect(answers[0]).to.deep.equal(answers[1]);
      expect(answers[0].map((r) => r.negative_zero)).to.deep.equal(values.map((v) => /^-0(\.0)?$/.test(v)));
      expect(answers[0].map((r) => Number(r.text))).to.deep.equal(values.map(Number));
    });

    it("names the SQL file and its error when the job's SQL fails on a file without a bad row, and leaves no output", async () => {
      const sql = join(dir, "fails.sql");
      await writeFile(sql, "SELECT CAST(deal_name AS INTEGER) AS n FROM deals");
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], good[1]].join("\n") + "\n");
      const error = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: sql }).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.match(new RegExp(`^${sql}: the job's SQL failed \\(Conversion Error: .*US_SMB_`));
      expect(await readdir(dir)).to.deep.equal(["deals.csv", "fails.sql"]);
    });

    it("drops and counts a line with an unclosed quote alone: records are lines, as in Spark (the lines after it are kept)", async () => {
      const unclosed = good[3].replace(",TRUE", ',"TRUE'); // the last field opens a quote that never closes
      for (const eol of ["\n", "\r\n"]) {
        await writeFile(join(dir, "deals.csv"), [HEADER, good[0], unclosed, good[1], good[2]].join(eol) + eol);
        const result = await runTransformation(deals(join(dir, "deals.csv")));
        expect(result.droppedRows, JSON.stringify(eol)).to.deep.equal({ deals: 1 });
        expect((await readParquet(result.files)).rows, JSON.stringify(eol)).to.deep.equal([
          { date: "2011-01-02", deals: "3", amount: "345", leads: "2", lead_amount: "95" },
        ]);
      }
      // The last line, with no line break after it.
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], unclosed].join("\n"));
      expect((await runTransformation(deals(join(dir, "deals.csv")))).droppedRows).to.deep.equal({ deals: 1 });
    });

    it("skips blank and white-space-only lines without counting them, as Spark's reader does", async () => {
      await writeFile(join(dir, "deals.csv"), [HEADER, good[0], "", "   ", " \t", good[1], bad[8]].join("\n") + "\n");
      const result = await runTransformation(deals(join(dir, "deals.csv")));
      expect(result.droppedRows).to.deep.equal({ deals: 1 });
      expect(result.rowsWritten).to.equal(1);
    });

    it("reads every file of a folder whatever its name (recursively), except names starting with '_' or '.', and matches headers by snake_case name in any order", async () => {
      const reordered = "Stage,Amount ,Date,Owner,Deal  Name,Segment,Region,Close By,Weighted Amount,Closed,Active,Latest,Notes";
      await mkdir(join(dir, "in", "part"), { recursive: true });
      await writeFile(join(dir, "in", "a.csv"), [HEADER, good[0], bad[3]].join("\n") + "\n");
      await writeFile(join(dir, "in", "part", "b.txt"), [reordered, "Lead,40,1/2/2011,Ann,US_SMB_1,SMB,US,2/2/2011,4,FALSE,FALSE,TRUE,note"].join("\r\n") + "\r\n");
      await writeFile(join(dir, "in", "_SUCCESS"), "not data");
      await writeFile(join(dir, "in", ".a.csv.crc"), "not data");
      await mkdir(join(dir, "in", "_temporary"));
      await writeFile(join(dir, "in", "_temporary", "c.csv"), "not data");
      const result = await runTransformation(deals(join(dir, "in")));
      expect(result.droppedRows).to.deep.equal({ deals: 1 });
      expect((await readParquet(result.files)).rows).to.deep.equal([
        { date: "2011-01-02", deals: "2", amount: "140", leads: "2", lead_amount: "140" },
      ]);
    });

    it("fails naming the file and every missing column", async () => {
      const file = join(dir, "deals.csv");
      await writeFile(file, HEADER.replace(",Stage", "").replace(",Close By", "") + "\n");
      const error = await runTransformation(deals(file)).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.include(file).and.include('"Stage"').and.include('"Close By"').and.include("input 'deals'");
    });

    it("fails naming the file for a malformed header, an empty file, or a missing path", async () => {
      const cases: Array<[string, string | undefined, string]> = [
        ["quote.csv", 'Date,"Owner\n1/2/2011,Ann\n', "malformed CSV header"],
        ["empty.csv", "", "no header line"],
        ["missing.csv", undefined, "cannot read"],
      ];
      for (const [name, content, problem] of cases) {
        const file = join(dir, name);
        if (content !== undefined) await writeFile(file, content);
        const error = await runTransformation(deals(file)).then(() => undefined, (e: Error) => e);
        expect(error?.message, name).to.include(file).and.include(problem);
      }
    });

    it("refuses a header longer than HEADER_LIMIT bytes naming the file, plain or gzip, as the Athena check does; one within it is read", async () => {
      // Padding after the last name (names are matched trimmed): cut at the limit, the header would still name every column.
      const withHeaderOf = (bytes: number) => {
        const header = HEADER + " ".repeat(bytes - HEADER.length);
        return [header, good[0]].join("\n") + "\n";
      };
      for (const [name, write] of [
        ["long.csv", (text: string) => text],
        ["long.csv.gz", (text: string) => gzipSync(text)],
      ] as const) {
        const file = join(dir, name);
        await writeFile(file, write(withHeaderOf(HEADER_LIMIT + 1)));
        const error = await runTransformation(deals(file)).then(() => undefined, (e: Error) => e);
        expect(error?.message, name).to.equal(`${file}: malformed CSV header: the header is longer than ${HEADER_LIMIT} bytes`);
        // The line break within the limit: a complete header.
        await writeFile(file, write(withHeaderOf(HEADER_LIMIT - 1)));
        expect((await runTransformation(deals(file))).rowsRead, name).to.deep.equal({ deals: 1 });
      }
    });

    it("fails naming the input for a folder without CSV files, and the file for unreadable Parquet", async () => {
      await mkdir(join(dir, "empty"));
      await writeFile(join(dir, "empty", "_SUCCESS"), "");
      const noFiles = await runTransformation(deals(join(dir, "empty"))).then(() => undefined, (e: Error) => e);
      expect(noFiles?.message).to.include("input 'deals'").and.include("no data file");
      await writeFile(join(dir, "broken.parquet"), "not parquet");
      const broken = await runTransformation({ ...deals(""), inputs: [{ name: "deals", path: join(dir, "broken.parquet"), format: "parquet" }] }).then(() => undefined, (e: Error) => e);
      expect(broken?.message).to.include(join(dir, "broken.parquet"));
    });
  });

  // The table Spark runs too (npm run test:spark checks its answers on real Spark): each case the way the run goes,
  // then the exact way (a check that never vouches), with the same answer.
  describe("CSV line cases shared with Spark (test/csv-line-cases.ts)", () => {
    for (const c of CSV_LINE_CASES)
      it(c.name, async () => {
        const scripts = join(dir, "scripts");
        await mkdir(join(scripts, "schemas"), { recursive: true });
        await writeFile(join(scripts, "schemas", "lines.json"), JSON.stringify({ format: "csv", columns: c.columns }));
        await writeFile(join(scripts, "lines.sql"), CSV_LINE_SQL);
        await mkdir(join(dir, "in"));
        for (const [name, body] of Object.entries(c.files)) await writeFile(join(dir, "in", name), body);
        const path = Object.keys(c.files).length === 1 ? join(dir, "in", Object.keys(c.files)[0]) : join(dir, "in");
        const request: TransformationRequest = { inputs: [{ name: CSV_LINE_VIEW, path, format: "csv", schema: "lines.json" }], sqlFile: "lines.sql", outputDir: join(scripts, "out"), scriptsDir: scripts, quality: CSV_LINE_QUALITY };
        const expected = "error" in c.expected ? { error: c.expected.error(path) } : c.expected;
        const answer = async () => {
          const { result, error, seen } = await attempts(() => runTransformation(request));
          if (!result) return { seen: seen.map((a) => a.path), error: error!.message };
          return { seen: seen.map((a) => a.path), read: result.rowsRead[CSV_LINE_VIEW], dropped: result.droppedRows[CSV_LINE_VIEW], rows: await parquetRows(result.files) };
        };
        const { seen, ...first } = await answer();
        expect(first, seen.join(" then ")).to.deep.equal(expected);
        engineProbe.lineCounter = () => ({ push: () => false, end: () => undefined });
        const { seen: exactSeen, ...exact } = await answer();
        // (an input refused before any file is read fails before either way starts)
        expect(exactSeen).to.deep.equal(seen.length ? ["fast", "exact"] : []);
        expect(exact, "the exact way").to.deep.equal(expected);
      });
  });

  describe("output and SQL", () => {
    it("replaces whatever was in the output folder with the Parquet files alone", async () => {
      await writeFile(join(dir, "deals.csv"), generatedDeals(50, 1));
      const outputDir = join(dir, "out");
      await mkdir(join(outputDir, "old"), { recursive: true });
      await writeFile(join(outputDir, "stale.parquet"), "old run");
      const result = await runTransformation(deals(join(dir, "deals.csv"), outputDir));
      expect(await readdir(outputDir)).to.deep.equal(["part-00000.snappy.parquet"]);
      expect(result.files).to.deep.equal([join(outputDir, "part-00000.snappy.parquet")]);
      expect((await readFile(result.files[0])).subarray(0, 4).toString()).to.equal("PAR1");
    });

    it("fails naming the SQL file when it is missing or does not run", async () => {
      await writeFile(join(dir, "deals.csv"), generatedDeals(10, 1));
      const missing = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: "nope.sql" }).then(() => undefined, (e: Error) => e);
      expect(missing?.message).to.include(join(SCRIPTS_DIR, "nope.sql"));
      await writeFile(join(dir, "bad.sql"), "SELECT * FROM nowhere");
      const failing = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "bad.sql") }).then(() => undefined, (e: Error) => e);
      expect(failing?.message).to.include(join(dir, "bad.sql")).and.include("nowhere");
    });

    it("refuses SQL that makes more than one statement, naming the SQL file, before any of it runs: nothing it sets outlives the run", async () => {
      await writeFile(join(dir, "deals.csv"), generatedDeals(10, 1));
      await writeFile(join(dir, "two.sql"), "SELECT 1) TO '/dev/null' (FORMAT csv); SET threads = 4; COPY (SELECT 1");
      const two = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "two.sql") }).then(() => undefined, (e: Error) => e);
      expect(two?.message).to.equal(`${join(dir, "two.sql")}: the job's SQL must be one query (it makes 3 statements)`);
      // The next small run takes the DuckDB that one left idle: its threads are as they were.
      await writeFile(join(dir, "threads.sql"), "SELECT current_setting('threads') AS t");
      const threads = await runTransformation({ ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "threads.sql") });
      expect((await readParquet(threads.files)).rows).to.deep.equal([{ t: "1" }]);
    });

    it("rejects an input whose name is not a view name or whose CSV has no schema", async () => {
      await writeFile(join(dir, "deals.csv"), generatedDeals(10, 1));
      const badName = await runTransformation({ ...deals(join(dir, "deals.csv")), inputs: [{ name: "deals; DROP", path: join(dir, "deals.csv"), format: "csv", schema: "deals.json" }] }).then(() => undefined, (e: Error) => e);
      expect(badName?.message).to.include('"deals; DROP"');
      const noSchema = await runTransformation({ ...deals(join(dir, "deals.csv")), inputs: [{ name: "deals", path: join(dir, "deals.csv"), format: "csv" }] }).then(() => undefined, (e: Error) => e);
      expect(noSchema?.message).to.include("input 'deals'").and.include("schema");
    });
  });

  describe("data-quality gate", () => {
    const dealRow = (date: string) => `${date},Ann,L1,SMB,US,2/2/2011,100,Lead,10,FALSE,TRUE,TRUE`;
    const failure = (request: TransformationRequest) => runTransformation(request).then(() => undefined, (e: Error) => e);

    it("fails a job whose every input row was dropped (ISO dates) with DataQualityError and the counts, writing nothing", async () => {
      await writeFile(join(dir, "deals.csv"), [HEADER, dealRow("2015-03-04"), dealRow("2015-03-05"), dealRow("2015-03-06")].join("\n") + "\n");
      const error = await failure(deals(join(dir, "deals.csv")));
      expect(error).to.be.instanceOf(DataQualityError);
      expect(error!.message).to.equal(
        "DataQualityError: input 'deals': all 3 rows read were dropped (limit: not all, unless maxDroppedFraction is 1); output: 0 rows written (limit: minOutputRows 1) (rows read: deals 3; dropped: deals 3; written: 0)",
      );
      expect((error as DataQualityError).counts).to.deep.equal({ inputs: { deals: { read: 3, dropped: 3 } }, written: 0, nulls: {} });
      expect(await readdir(dir)).to.deep.equal(["deals.csv"]);
      // Allowed by its limits, the same job succeeds with an empty output.
      const allowed = await runTransformation({ ...deals(join(dir, "deals.csv")), quality: { inputs: { deals: { maxDroppedFraction: 1 } }, minOutputRows: 0, notNull: [] } });
      expect([allowed.rowsWritten, allowed.rowsRead, allowed.droppedRows]).to.deep.equal([0, { deals: 3 }, { deals: 3 }]);
    });

    it("gives the shared table's answer for the counts it produces", async () => {
      const c = QUALITY_CASES.find((q) => q.name === "a small fraction limit")!;
      // The shared table names its input; the job reads the same rows under that name.
      const [input] = Object.keys(c.counts.inputs);
      expect(c.counts).to.deep.equal({ inputs: { [input]: { read: 3, dropped: 1 } }, written: 2, nulls: {} });
      await writeFile(join(dir, "deals.csv"), [HEADER, dealRow("1/2/2011"), dealRow("bad"), dealRow("1/3/2011")].join("\n") + "\n");
      await writeFile(join(dir, "days.sql"), `SELECT date, CAST(COUNT(*) AS BIGINT) AS n FROM ${input} GROUP BY date`);
      const request: TransformationRequest = { ...deals(join(dir, "deals.csv")), inputs: [{ name: input, path: join(dir, "deals.csv"), format: "csv", schema: "deals.json" }], sqlFile: join(dir, "days.sql") };
      const error = await failure({ ...request, quality: c.limits });
      expect(error?.message).to.equal(`DataQualityError: ${c.error}`);
      const within = await runTransformation({ ...request, quality: { ...c.limits, inputs: { [input]: { maxDroppedFraction: 0.5 } } } });
      expect([within.rowsWritten, within.rowsRead, within.droppedRows]).to.deep.equal([2, { [input]: 3 }, { [input]: 1 }]);
    });

    it("counts nulls of notNull columns, and names a notNull column the output lacks", async () => {
      const rows = generatedDeals(30, 7).trim().split("\n");
      // An empty text value is NULL; blank the owner of every third row.
      const withEmpty = [rows[0], ...rows.slice(1).map((line, i) => (i % 3 ? line : line.replace(/^([^,]*),[^,]*,/, "$1,,")))];
      const emptyOwners = withEmpty.slice(1).filter((line) => line.split(",")[1] === "").length;
      expect(emptyOwners).to.be.greaterThan(0);
      await writeFile(join(dir, "deals.csv"), withEmpty.join("\n") + "\n");
      await writeFile(join(dir, "owners.sql"), "SELECT date, owner FROM deals");
      const owners = (notNull: string[]): TransformationRequest => ({ ...deals(join(dir, "deals.csv")), sqlFile: join(dir, "owners.sql"), quality: { inputs: {}, minOutputRows: 1, notNull } });
      expect((await runTransformation(owners(["date"]))).rowsWritten).to.equal(withEmpty.length - 1);
      const nulls = await failure(owners(["date", "owner"]));
      expect(nulls?.message).to.match(new RegExp(`^DataQualityError: output: column 'owner' has ${emptyOwners} null values \\(limit: notNull\\)`));
      const unknown = await failure(owners(["nope"]));
      expect(unknown?.message).to.include("notNull column(s) nope not in the job's output");
    });
  });

  describe("inputs people have", () => {
    it("refuses a required column named twice (after snake_case), naming it and both positions", async () => {
      await writeFile(join(dir, "deals.csv"), `${HEADER},date \n1/2/2011,Ann,L1,SMB,US,2/2/2011,100,Lead,10,FALSE,TRUE,TRUE,junk\n`);
      const error = await runTransformation(deals(join(dir, "deals.csv"))).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.include(join(dir, "deals.csv")).and.include("column 'date' twice, at positions 1 and 13");
    });

    it("reads a *.gz file and a folder of parts (plain and gzip) to the same result as the plain file", async () => {
      const csv = generatedDeals(200, 3);
      const lines = csv.trim().split("\n");
      const half = Math.floor(lines.length / 2);
      expect(lines.length - 1).to.be.greaterThan(250);
      await writeFile(join(dir, "deals.csv"), csv);
      await writeFile(join(dir, "deals.csv.gz"), gzipSync(csv));
      await mkdir(join(dir, "parts"));
      await writeFile(join(dir, "parts", "part-0.csv"), [lines[0], ...lines.slice(1, half)].join("\n") + "\n");
      await writeFile(join(dir, "parts", "part-1.csv.gz"), gzipSync([lines[0], ...lines.slice(half)].join("\n") + "\n"));
      const plain = await runTransformation(deals(join(dir, "deals.csv"), join(dir, "o1")));
      const expected = (await readParquet(plain.files)).rows;
      expect(expected).to.deep.equal(expectedDaily(csv));
      expect(expected.filter((r) => r.leads !== "0").length, "some days have leads").to.be.greaterThan(0);
      for (const [path, out] of [[join(dir, "deals.csv.gz"), "o2"], [join(dir, "parts"), "o3"]]) {
        const result = await runTransformation(deals(path, join(dir, out)));
        expect((await readParquet(result.files)).rows, path).to.deep.equal(expected);
        expect([result.rowsRead, result.droppedRows], path).to.deep.equal([{ deals: lines.length - 1 }, { deals: 0 }]);
      }
    });

    it("reads a gzip file named .GZ or .Gz, the fast way and the exact way (with and without a malformed line)", async () => {
      const good = generatedDeals(20, 4).trim().split("\n").slice(1);
      const unclosed = good[1].replace(/,(TRUE|FALSE)$/, ',"$1');
      const cases = [
        ["x.CSV.GZ", good, "fast", 0],
        ["y.csv.Gz", [...good, "1/2/2011,Ann,US_SMB_8,SMB,US,2/2/2011,1.5,Lead,10,FALSE,FALSE,TRUE"], "exact", 1],
        ["z.CSV.GZ", [good[0], unclosed, ...good.slice(2)], "exact", 1],
      ] as const;
      for (const [name, lines, path, dropped] of cases) {
        await writeFile(join(dir, name), gzipSync([HEADER, ...lines].join("\n") + "\n"));
        const { result, seen } = await attempts(() => runTransformation(deals(join(dir, name), join(dir, `out-${name}`))));
        expect(seen.at(-1)?.path, name).to.equal(path);
        expect([result?.rowsRead, result?.droppedRows, result?.rowsWritten && result.rowsWritten > 0], name).to.deep.equal([{ deals: lines.length }, { deals: dropped }, true]);
        const kept = lines.filter((l) => l !== unclosed && !l.includes(",1.5,"));
        expect((await readParquet(result!.files)).rows, name).to.deep.equal(expectedDaily([HEADER, ...kept].join("\n")));
      }
    });

    it("drops an unclosed-quote line of a *.gz file as of a plain one", async () => {
      const good = generatedDeals(20, 2).trim().split("\n");
      await writeFile(join(dir, "deals.csv.gz"), gzipSync([...good, 'x,"unterminated'].join("\n") + "\n"));
      expect((await runTransformation(deals(join(dir, "deals.csv.gz")))).droppedRows).to.deep.equal({ deals: 1 });
    });

    it("says what a binary file looks like, naming it, without its bytes", async () => {
      const cases: Array<[string, Buffer, string]> = [
        ["deals.csv", gzipSync(generatedDeals(5, 1)), "it holds gzip data; name it *.gz"],
        ["deals.xlsx", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), "ZIP archive"],
        ["deals.bin", Buffer.from([0x01, 0x02, 0xff, 0x00, 0x10, 0x7f, 0x0a]), "not text"],
        ["deals.csv.gz", Buffer.from("plain text, not gzip\n"), "not valid gzip data"],
      ];
      for (const [name, bytes, looksLike] of cases) {
        await writeFile(join(dir, name), bytes);
        const error = await runTransformation(deals(join(dir, name))).then(() => undefined, (e: Error) => e);
        expect(error?.message, name).to.include(join(dir, name)).and.include(looksLike);
        expect(error?.message, name).to.not.match(/[\x00-\x08\x1f\ufffd]/);
      }
    });
  });
});
