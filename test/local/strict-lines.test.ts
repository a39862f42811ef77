// The strict line check (local/strict-lines.ts) only vouches: every value it accepts, the strict forms accept
// (checked against the engine's own SQL for them, in DuckDB), and every line it counts is one record. What it is
// not sure of it leaves to the counting scan, so these cases list both answers.
import { expect } from "chai";
import { DuckDBInstance } from "@duckdb/node-api";
import { typedValue } from "../../local/etl-engine";
import { SALES_COLUMNS, salesChunks, seededRandom } from "../../local/sample-data";
import { StrictLineCounter, jsRecordScan, type FieldKind, type RecordScanner } from "../../local/strict-lines";
import { wasmRecordScanner } from "../../local/strict-lines-wasm";

/** The record scan these cases run on: the TypeScript one, then the WebAssembly one (the engine's). */
let scanner: RecordScanner = jsRecordScan;

/** The counter's answer for `text`, pushed in chunks of `size` bytes. */
function count(kinds: FieldKind[], text: string | Buffer, size = Infinity): number | undefined {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const counter = new StrictLineCounter(kinds, scanner);
  for (let at = 0; at < bytes.length; at += size) counter.push(bytes.subarray(at, Math.min(at + size, bytes.length)));
  return counter.end();
}

/** The kinds of the sales sample's columns, as its generator writes them. */
const SALES_KINDS: FieldKind[] = SALES_COLUMNS.map((c) => c.type);

/** The generated sales data (the same for both record scans). */
let salesCsv: string | undefined;

/** The values that case checks, each with whether the strict forms accept it (the engine's SQL for them, in DuckDB):
 * the same for both record scans, so computed once per file. */
let verdicts: Promise<Record<string, { list: string[]; strict: Map<string, boolean> }>> | undefined;
function strictVerdicts() {
  verdicts ??= (async () => {
    const next = seededRandom(14);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
    const values: Record<"date" | "bigint" | "double" | "boolean", string[]> = {
      date: ["1/2/2020", "01/02/2020", "12/31/9999", "2/29/2000", "2/29/2020", "2/29/1900", "2/29/2019", "2/30/2020", "4/31/2020", "0/1/2020", "13/1/2020", "1/0/2020", "1/32/2020", "1/2/20", "1/2/0020", "1/2/999", "1/2/20200", " 1/2/2020", "1/2/2020 ", "001/2/2020", "1-2-2020", "2020-01-02"],
      bigint: ["0", "-0", "007", "42", "-42", "999999999999999999", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "+5", " 5", "5 ", "1_000", "1.0", "1e3", "-", "", "0x10"],
      double: ["0", "-0", "1.5", "-1.5", "1e3", "1E-3", "1.5e+10", "1.", ".5", "+1.5", "1e", "1e+", "1e999", "NaN", "inf", "1_0.5", "1.5.5", " 1.5"],
      boolean: ["TRUE", "FALSE", "true", "false", "True", "fAlSe", "t", "f", "1", "0", "yes", "TRUE ", " TRUE", "TRU", "FALSEE"],
    };
    for (let i = 0; i < 3000; i++) {
      const two = () => String(Math.floor(next() * 40)).padStart(Math.floor(next() * 3), "0");
      values.date.push(`${two()}/${two()}/${pick("0123456789", 1 + Math.floor(next() * 5))}`, pick("0123456789/ -", 1 + Math.floor(next() * 11)));
      values.bigint.push(pick("0123456789-+ _.e", 1 + Math.floor(next() * 21)));
      values.double.push(pick("0123456789-+ .eE_", 1 + Math.floor(next() * 20)));
      // TRUE or FALSE in random case, half of them with one character changed, added or removed.
      const word = [...(next() < 0.5 ? "true" : "false")].map((c) => (next() < 0.5 ? c.toUpperCase() : c)).join("");
      const at = Math.floor(next() * (word.length + 1));
      const edit = [word, word.slice(0, at) + pick("TRUEFALStruefals 1", 1) + word.slice(at + 1), word.slice(0, at) + pick("TRUEFALStruefals 1", 1) + word.slice(at), word.slice(0, at) + word.slice(at + 1)];
      values.boolean.push(next() < 0.5 ? word : edit[Math.floor(next() * edit.length)]);
    }
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      const out: Record<string, { list: string[]; strict: Map<string, boolean> }> = {};
      for (const [type, list] of Object.entries(values)) {
        const literals = list.map((v) => `'${v.replace(/'/g, "''")}'`).join(", ");
        const rows = (await connection.runAndReadAll(`SELECT v, (${typedValue("v", type)}) IS NOT NULL FROM (SELECT unnest([${literals}]) AS v)`)).getRows();
        out[type] = { list, strict: new Map(rows.map(([v, ok]) => [String(v), ok === true])) };
      }
      return out;
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  })();
  return verdicts;
}

for (const scan of ["TypeScript", "WebAssembly"] as const) {
  describe(`local/strict-lines (record scan in ${scan})`, () => {
    before(async () => {
      scanner = scan === "TypeScript" ? jsRecordScan : await wasmRecordScanner();
      if (scan === "WebAssembly") expect(scanner, "the WebAssembly scan loaded").to.not.equal(jsRecordScan);
    });

    it("vouches for the generated sales data however it is cut into chunks, counting its records", () => {
      salesCsv ??= [...salesChunks(3_000, 5)].join("");
      const csv = salesCsv;
      const records = csv.split("\n").length - 2; // the header, and the empty text after the last line break
      for (const size of [Infinity, 1, 7, 4096]) expect(count(SALES_KINDS, csv, size), `chunks of ${size}`).to.equal(records);
      expect(count(SALES_KINDS, csv.replaceAll("\n", "\r\n"), 5)).to.equal(records);
      expect(count(SALES_KINDS, csv.trimEnd())).to.equal(records);
    });

    it("vouches only for values the strict forms accept (the engine's SQL for them, in DuckDB)", async () => {
      for (const [type, { list, strict }] of Object.entries(await strictVerdicts())) {
        const vouched = list.filter((v) => count([type as FieldKind], `h\n${v}\n`) === 1);
        expect(vouched.filter((v) => !strict.get(v)), `${type}: vouched for, but the strict forms drop them`).to.deep.equal([]);
        // Not vacuous: the usual forms are vouched for (those it leaves to the counting scan are listed in the module).
        const usual = { date: ["1/2/2020", "01/02/2020", "2/29/2000", "12/31/9999"], bigint: ["0", "-0", "007", "999999999999999999"], double: ["1.5", "-0", "1E-3", "1.5e+10"], boolean: ["TRUE", "false", "fAlSe"] }[type]!;
        expect(usual.filter((v) => !vouched.includes(v)), `${type}: usual forms not vouched for`).to.deep.equal([]);
        expect(vouched.length, `${type}: random values vouched for`).to.be.greaterThan(100);
      }
    });

    it("counts lines that are one record each and gives up on any other line", () => {
      const kinds: FieldKind[] = ["bigint", "string", "boolean"];
      const cases: Array<[string, string | Buffer, number | undefined]> = [
        ["plain", "n,s,b\n1,x,TRUE\n2,,false\n", 2],
        ["header only", "n,s,b\n", 0],
        ["header only, no line break", "n,s,b", 0],
        ["quoted text with ',' and '\"\"'", 'n,s,b\n1,"a, ""b""",TRUE\n2,"",FALSE\n', 2],
        ["quoted header", '"n","s, t",b\n1,x,TRUE\n', 1],
        ["CR LF throughout", "n,s,b\r\n1,x,TRUE\r\n2,y,FALSE\r\n", 2],
        ["UTF-8 text", "n,s,b\n1,Ünïcödé ✓,TRUE\n", 1],
        ["tab inside text", "n,s,b\n1,a\tb,TRUE\n", 1],
        ["no line break at the end", "n,s,b\n1,x,TRUE", 1],
        ["a long line (under 1 MiB) over many chunks", `n,s,b\n1,${"x".repeat(5000)},TRUE\n2,y,FALSE\n`, 2],
        ["a long last line without a line break", `n,s,b\n1,x,TRUE\n2,${"y".repeat(5000)},FALSE`, 2],
        ["a field too many", "n,s,b\n1,x,TRUE,4\n", undefined],
        ["a field too few", "n,s,b\n1,x\n", undefined],
        ["an empty line", "n,s,b\n1,x,TRUE\n\n2,y,FALSE\n", undefined],
        ["a blank line", "n,s,b\n1,x,TRUE\n  \n", undefined],
        ["an empty line at the end", "n,s,b\n1,x,TRUE\n\n", undefined],
        ["LF and CR LF mixed (DuckDB refuses the file)", "n,s,b\n1,x,TRUE\r\n2,y,FALSE\n", undefined],
        ["CR LF header, LF line", "n,s,b\r\n1,x,TRUE\n", undefined],
        ["a lone CR", "n,s,b\n1,x\ry,TRUE\n", undefined],
        ["a lone CR ending the file", "n,s,b\n1,x,TRUE\r", undefined],
        ["a quote inside plain text", 'n,s,b\n1,x"y,TRUE\n', undefined],
        ["an unclosed quote", 'n,s,b\n1,"x,TRUE\n2,y,FALSE\n', undefined],
        ["a line break inside quotes", 'n,s,b\n1,"x\ny",TRUE\n', undefined],
        // Spark's reader ends the line at that CR; the exact path reads the rest as another line.
        ["a CR inside quotes", 'n,s,b\n1,"x\ry",TRUE\n2,z,FALSE\n', undefined],
        ["a CR inside quotes, CR LF file", 'n,s,b\r\n1,"x\ry",TRUE\r\n2,z,FALSE\r\n', undefined],
        ["text after a closing quote", 'n,s,b\n1,"x"y,TRUE\n', undefined],
        ["a quoted typed value", 'n,s,b\n"1",x,TRUE\n', undefined],
        ["a header with an odd quote", 'n,"s,b\n1,x,TRUE\n', undefined],
        ["a control byte", "n,s,b\n1,x\u0000y,TRUE\n", undefined],
        ["bytes that are not UTF-8", Buffer.concat([Buffer.from("n,s,b\n1,"), Buffer.from([0xc3, 0x28]), Buffer.from(",TRUE\n")]), undefined],
        ["a bad value", "n,s,b\n1,x,yes\n", undefined],
        ["an empty typed value", "n,s,b\n,x,TRUE\n", undefined],
        ["a line past 1 MiB", `n,s,b\n1,${"x".repeat(1 << 20)},TRUE\n`, undefined],
        ["an empty file", "", undefined],
      ];
      for (const [name, text, expected] of cases) {
        for (const size of [Infinity, 3, 4096]) expect(count(kinds, text, size), `${name} (chunks of ${size})`).to.equal(expected);
      }
    });
  });
}
