// The strict line check's rules exist twice: in TypeScript (local/strict-lines.ts, the reference) and in WebAssembly
// (local/strict-lines.wat, the engine's). This test is what keeps them equal: the shared CSV line cases and a seeded
// set of lines (valid rows with every byte class put at every position, and random values around each kind's limits)
// get the same answer from both. test/local/strict-lines.test.ts runs its own cases on both.
import { expect } from "chai";
import { gunzipSync } from "node:zlib";
import { salesChunks } from "../../local/sample-data";
import { KIND_CODES, StrictLineCounter, jsRecordScan, type FieldKind, type RecordScanner } from "../../local/strict-lines";
import { wasmRecordScanner } from "../../local/strict-lines-wasm";
import { CSV_LINE_CASES } from "../csv-line-cases";

/** Pseudo-random generator (mulberry32), so a failure names lines that reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SALES_KINDS: FieldKind[] = ["date", "string", "string", "string", "string", "date", "bigint", "string", "bigint", "boolean", "boolean", "boolean"];
const EVERY_KIND: FieldKind[] = ["string", "date", "bigint", "double", "boolean", "string"];
const EVERY_KIND_ROWS = [
  '"a, ""b""",12/31/1999,-42,-1.5e+10,fAlSe,x',
  "plain text,1/2/2020,0,0.5,TRUE,\"q\"",
  ",2/29/2000,999999999999999999,123456789012345.25E-2,true,",
  "Ünïcödé ✓,02/09/1000,-007,42,FALSE,tab\there",
];
/** One byte of every class the rules tell apart: digits, separators, signs, letters of the booleans and exponents,
 * quote, line ends, white space, control bytes, and bytes of UTF-8 sequences. */
const BYTE_CLASSES = [..."0159/-+.eEtTrRuUfFaAlLsSx_,\"\n\r \t"].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff]);

/** Every line made from `row` by replacing, inserting or deleting one byte at each position. */
function* mutations(row: Buffer): Generator<Buffer> {
  for (let at = 0; at <= row.length; at++) {
    if (at < row.length) yield Buffer.concat([row.subarray(0, at), row.subarray(at + 1)]);
    for (const b of BYTE_CLASSES) {
      if (at < row.length) {
        const replaced = Buffer.from(row);
        replaced[at] = b;
        yield replaced;
      }
      yield Buffer.concat([row.subarray(0, at), Buffer.of(b), row.subarray(at)]);
    }
  }
}

/** Random values around each kind's limits (digit counts, dates, booleans' spelling), put in lines of EVERY_KIND. */
function* randomRows(seed: number, count: number): Generator<Buffer> {
  const next = random(seed);
  const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
  const digits = (n: number) => pick("0123456789", n);
  const value: Record<FieldKind, () => string> = {
    string: () => (next() < 0.3 ? `"${pick('ab,"\n\r ', Math.floor(next() * 6))}"` : pick("ab \t\"\r", Math.floor(next() * 5))),
    date: () => `${digits(Math.floor(next() * 3))}/${digits(Math.floor(next() * 3))}/${digits(2 + Math.floor(next() * 4))}`,
    bigint: () => (next() < 0.3 ? "-" : "") + digits(Math.floor(next() * 21)) + (next() < 0.1 ? pick("+-.e ", 1) : ""),
    double: () =>
      (next() < 0.3 ? "-" : "") + digits(Math.floor(next() * 18)) + (next() < 0.5 ? "." + digits(Math.floor(next() * 3)) : "") +
      (next() < 0.5 ? pick("eE", 1) + (next() < 0.5 ? pick("+-", 1) : "") + digits(Math.floor(next() * 4)) : ""),
    boolean: () => pick("tTrRuUeEfFaAlLsS", 3 + Math.floor(next() * 4)),
  };
  for (let i = 0; i < count; i++) yield Buffer.from(EVERY_KIND.map((k) => value[k]()).join(","));
}

describe("local/strict-lines: the WebAssembly record scan gives the TypeScript one's answers", () => {
  let wasm: RecordScanner;
  before(async () => {
    wasm = await wasmRecordScanner();
  });

  it("gives the same answer for every line one byte away from a valid row, and for random values around the limits", () => {
    const sales = [...salesChunks(40, 9)].join("").split("\n").slice(1, -1).map((r) => Buffer.from(r));
    const sets: Array<[FieldKind[], Buffer[]]> = [
      [SALES_KINDS, [sales[0], sales[17], sales[39]].flatMap((row) => [...mutations(row)])],
      [EVERY_KIND, EVERY_KIND_ROWS.flatMap((row) => [...mutations(Buffer.from(row))])],
      [EVERY_KIND, [...randomRows(21, 10_000)]],
      [SALES_KINDS, sales],
    ];
    const tally = { vouched: 0, refused: 0 };
    const differ: string[] = [];
    for (const [kinds, rows] of sets) {
      const codes = Uint8Array.from(kinds.map((k) => KIND_CODES[k]));
      const [typescript, webassembly] = [jsRecordScan(codes), wasm(codes)];
      for (const row of rows)
        for (const crlf of [false, true]) {
          // Each line alone, ended by LF or CR LF (a count, or -1).
          const line = Buffer.concat([row, crlf ? Buffer.of(0x0d, 0x0a) : Buffer.of(0x0a)]);
          const answer = typescript(line, 0, line.length, crlf);
          if (webassembly(line, 0, line.length, crlf) !== answer) differ.push(`${JSON.stringify(line.toString("latin1"))}: TypeScript ${answer}`);
          tally[answer > 0 ? "vouched" : "refused"]++;
        }
    }
    expect(differ).to.deep.equal([]);
    // Not vacuous: both answers are common (a mutation is often still valid: another digit, another letter of text).
    expect(tally.vouched).to.be.greaterThan(20_000);
    expect(tally.refused).to.be.greaterThan(20_000);
  });

  /** A counter's answer for `bytes` in chunks of `size`. */
  function count(scanner: RecordScanner, kinds: FieldKind[], bytes: Buffer, size: number): number | undefined {
    const counter = new StrictLineCounter(kinds, scanner);
    for (let at = 0; at < bytes.length; at += size) if (!counter.push(bytes.subarray(at, Math.min(at + size, bytes.length)))) break;
    return counter.end();
  }

  it("gives the same answer for every file of the shared CSV line cases", () => {
    for (const c of CSV_LINE_CASES)
      for (const [name, body] of Object.entries(c.files)) {
        const bytes = name.endsWith(".gz") ? gunzipSync(body) : Buffer.from(body);
        const header = bytes.subarray(0, bytes.indexOf(0x0a) === -1 ? bytes.length : bytes.indexOf(0x0a)).toString().replace(/\r$/, "").split(",");
        const kinds = header.map((h) => (c.columns.find((column) => column.source === h.replace(/^"|"$/g, ""))?.type ?? "string") as FieldKind);
        for (const size of [Infinity, 3, 4096]) expect(count(wasm, kinds, bytes, size), `${c.name}: ${name}, chunks of ${size}`).to.equal(count(jsRecordScan, kinds, bytes, size));
      }
  });

  it("gives the same count for a file of many lines cut into chunks, with or without one changed line", () => {
    const next = random(5);
    const csv = Buffer.from([...salesChunks(5_000, 3)].join(""));
    const changed = [...mutations(Buffer.from(csv.subarray(csv.indexOf(0x0a) + 1, csv.indexOf(0x0a, csv.indexOf(0x0a) + 1))))];
    const answers = { counted: 0, notSure: 0 };
    for (let i = 0; i < 40; i++) {
      // A changed line replaces the line at a random offset's next line start.
      const at = csv.indexOf(0x0a, Math.floor(next() * csv.length)) + 1;
      const file = i === 0 ? csv : Buffer.concat([csv.subarray(0, at), changed[Math.floor(next() * changed.length)], Buffer.of(0x0a), csv.subarray(at)]);
      const size = [1 << 20, 65_536, 4_093, 97][i % 4];
      const typescript = count(jsRecordScan, SALES_KINDS, file, size);
      expect(count(wasm, SALES_KINDS, file, size), `file ${i}, chunks of ${size}`).to.equal(typescript);
      answers[typescript === undefined ? "notSure" : "counted"]++;
    }
    expect(answers.counted).to.be.greaterThan(5);
    expect(answers.notSure).to.be.greaterThan(5);
  });
});
