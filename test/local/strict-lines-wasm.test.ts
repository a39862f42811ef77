// The strict line check's rules exist twice: in TypeScript (local/strict-lines.ts, the reference) and in WebAssembly
// (local/strict-lines.wat, the engine's). This test is what keeps them equal: the shared CSV line cases and a seeded
// set of lines (valid rows with every byte class put at every position, values at each kind's limits, and random
// values around them, each alone in a line of its kind) get the same answer from both. test/local/strict-lines.test.ts
// runs its own cases on both. It also checks that a damaged build cache entry costs neither a run nor an answer.
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { CACHE_DIR } from "../../core/build-cache";
import { SALES_COLUMNS, salesChunks, seededRandom } from "../../local/sample-data";
import { KIND_CODES, StrictLineCounter, jsRecordScan, type FieldKind, type RecordScanner } from "../../local/strict-lines";
import { loadRecordScanner, wasmRecordScanner, type Assembler } from "../../local/strict-lines-wasm";
import { CSV_LINE_CASES } from "../csv-line-cases";

/** The kinds of the sales sample's columns, as its generator writes them. */
const SALES_KINDS: FieldKind[] = SALES_COLUMNS.map((c) => c.type);
const EVERY_KIND: FieldKind[] = ["string", "date", "bigint", "double", "boolean", "string"];
const EVERY_KIND_ROWS = [
  '"a, ""b""",12/31/1999,-42,-1.5e+10,fAlSe,x',
  "plain text,1/2/2020,0,0.5,TRUE,\"q\"",
  ",2/29/2000,999999999999999999,123456789012345.25E-2,true,",
  "Ünïcödé ✓,02/09/1000,-007,42,FALSE,tab\there",
];
/** One byte of every class the rules tell apart: digits, separators, signs, letters of the booleans and exponents (and
 * "d", next to "e"), quote, line ends, white space, control bytes, and bytes of UTF-8 sequences. */
const BYTE_CLASSES = [..."0123456789/-+.eEtTrRuUfFaAlLsSdDx_,\"\n\r \t"].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff]);

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

const daysIn = (month: number, year: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** Values at each kind's limits: every month's last day and the day after in a leap year (padded or not), February 29
 * of years leap or not by each rule, years around 1000, and digit counts around each limit. */
const LIMIT_VALUES: Record<FieldKind, string[]> = {
  string: ['""', '"a""b"', "a b"],
  date: [
    ...Array.from({ length: 12 }, (_, i) => i + 1).flatMap((m) => [0, 1].flatMap((extra) => [`${m}/${daysIn(m, 2000) + extra}/2000`, `${String(m).padStart(2, "0")}/${daysIn(m, 2000) + extra}/2000`])),
    ...[1000, 1004, 1100, 1200, 1600, 1700, 1800, 1900, 2000, 2004, 2100, 2200, 2400, 9996, 9999].map((y) => `2/29/${y}`),
    "1/1/1000", "12/31/999", "1/1/0999", "1/1/100", "1/1/9999", "0/1/2000", "13/1/2000", "1/0/2000",
  ],
  bigint: ["9".repeat(18), "-" + "9".repeat(18), "1".repeat(19), "-" + "1".repeat(19), "0", "-"],
  double: ["9".repeat(15), "9".repeat(16), "1.5e99", "1.5e999", "-1E-99", "-1E-999", "1.", "1e"],
  boolean: ["true", "FALSE", "falsd", "fals", "truf", "tru", "falsee", "trues"],
};

/** Random values around each kind's limits (digit counts, dates, booleans' spelling), `count` of each kind. */
function randomValues(seed: number, count: number): Record<FieldKind, string[]> {
  const next = seededRandom(seed);
  const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
  const digits = (n: number) => pick("0123456789", n);
  const value: Record<FieldKind, () => string> = {
    string: () => (next() < 0.3 ? `"${pick('ab,"\n\r ', Math.floor(next() * 6))}"` : pick("ab \t\"\r", Math.floor(next() * 5))),
    date: () => {
      const monthOrDay = () => digits(next() < 0.05 ? 0 : 1 + Math.floor(next() * 2));
      return `${monthOrDay()}/${monthOrDay()}/${digits(next() < 0.6 ? 4 : [2, 3, 5][Math.floor(next() * 3)])}`;
    },
    bigint: () => (next() < 0.3 ? "-" : "") + digits(Math.floor(next() * 21)) + (next() < 0.1 ? pick("+-.e ", 1) : ""),
    double: () =>
      (next() < 0.3 ? "-" : "") + digits(Math.floor(next() * 18)) + (next() < 0.5 ? "." + digits(Math.floor(next() * 3)) : "") +
      (next() < 0.5 ? pick("eE", 1) + (next() < 0.5 ? pick("+-", 1) : "") + digits(Math.floor(next() * 4)) : ""),
    // TRUE or FALSE in random case, half of them with one letter changed (often to a letter next to it), added or removed.
    boolean: () => {
      const word = [...(next() < 0.5 ? "true" : "false")].map((c) => (next() < 0.5 ? c.toUpperCase() : c)).join("");
      const at = Math.floor(next() * (word.length + 1));
      const letter = at < word.length && next() < 0.5 ? String.fromCharCode(word.charCodeAt(at) + (next() < 0.5 ? -1 : 1)) : pick("tTrRuUeEfFaAlLsSx", 1);
      const edits = [word.slice(0, at) + letter + word.slice(at + 1), word.slice(0, at) + letter + word.slice(at), word.slice(0, at) + word.slice(at + 1)];
      return next() < 0.5 ? word : edits[Math.floor(next() * edits.length)];
    },
  };
  return Object.fromEntries(Object.entries(value).map(([kind, make]) => [kind, Array.from({ length: count }, make)])) as Record<FieldKind, string[]>;
}

/** A counter's answer for `bytes` in chunks of `size`. */
function count(scanner: RecordScanner, kinds: FieldKind[], bytes: Buffer, size = Infinity): number | undefined {
  const counter = new StrictLineCounter(kinds, scanner);
  for (let at = 0; at < bytes.length; at += size) if (!counter.push(bytes.subarray(at, Math.min(at + size, bytes.length)))) break;
  return counter.end();
}

describe("local/strict-lines: the WebAssembly record scan gives the TypeScript one's answers", () => {
  let wasm: RecordScanner;
  before(async () => {
    wasm = await wasmRecordScanner();
    // Else this file would compare the TypeScript scan with itself.
    expect(wasm, "the WebAssembly scan loaded").to.not.equal(jsRecordScan);
  });

  /** Each row alone as a line ended by LF, then by CR LF: the lines on which the two scans differ, and how many each answer got. */
  function compare(kinds: readonly FieldKind[], rows: readonly Buffer[]): { differ: string[]; vouched: number; refused: number } {
    const codes = Uint8Array.from(kinds.map((k) => KIND_CODES[k]));
    const [typescript, webassembly] = [jsRecordScan(codes), wasm(codes)];
    const result = { differ: [] as string[], vouched: 0, refused: 0 };
    for (const row of rows)
      for (const crlf of [false, true]) {
        const line = Buffer.concat([row, crlf ? Buffer.of(0x0d, 0x0a) : Buffer.of(0x0a)]);
        const answer = typescript(line, 0, line.length, crlf);
        if (webassembly(line, 0, line.length, crlf) !== answer) result.differ.push(`${JSON.stringify(line.toString("latin1"))}: TypeScript ${answer}`);
        result[answer > 0 ? "vouched" : "refused"]++;
      }
    return result;
  }

  it("gives the same answer for every line one byte away from a valid row", () => {
    const sales = [...salesChunks(40, 9)].join("").split("\n").slice(1, -1).map((r) => Buffer.from(r));
    for (const [kinds, rows] of [
      [SALES_KINDS, [sales[2], ...mutations(sales[2])]],
      [EVERY_KIND, EVERY_KIND_ROWS.flatMap((row) => [Buffer.from(row), ...mutations(Buffer.from(row))])],
    ] as const) {
      const { differ, vouched, refused } = compare(kinds, rows);
      expect(differ, kinds.join(",")).to.deep.equal([]);
      // Not vacuous: both answers are common (a mutation is often still valid: another digit, another letter of text).
      expect(vouched, `${kinds.join(",")}: vouched`).to.be.greaterThan(rows.length / 4);
      expect(refused, `${kinds.join(",")}: refused`).to.be.greaterThan(rows.length / 4);
    }
  });

  it("gives the same answer for values at and around each kind's limits, each alone in a line of its kind", () => {
    const random = randomValues(21, 400);
    for (const kind of Object.keys(LIMIT_VALUES) as FieldKind[]) {
      const limits = compare([kind], LIMIT_VALUES[kind].map((v) => Buffer.from(v)));
      const around = compare([kind], random[kind].map((v) => Buffer.from(v)));
      expect([...limits.differ, ...around.differ], kind).to.deep.equal([]);
      // Not vacuous: the random values of each kind get both answers.
      expect(around.vouched, `${kind}: random values vouched`).to.be.greaterThan(50);
      expect(around.refused, `${kind}: random values refused`).to.be.greaterThan(50);
    }
  });

  it("gives the same answer for every file of the shared CSV line cases", () => {
    // Whole files: chunking is the shared TypeScript's, tested in test/local/strict-lines.test.ts.
    let vouched = 0;
    for (const c of CSV_LINE_CASES)
      for (const [name, body] of Object.entries(c.files)) {
        const bytes = name.endsWith(".gz") ? gunzipSync(body) : Buffer.from(body);
        const header = bytes.subarray(0, bytes.indexOf(0x0a) === -1 ? bytes.length : bytes.indexOf(0x0a)).toString().replace(/\r$/, "").split(",");
        const kinds = header.map((h) => (c.columns.find((column) => column.source === h.replace(/^"|"$/g, ""))?.type ?? "string") as FieldKind);
        const typescript = count(jsRecordScan, kinds, bytes);
        expect(count(wasm, kinds, bytes), `${c.name}: ${name}`).to.equal(typescript);
        if (typescript !== undefined) vouched++;
      }
    expect(vouched, "files vouched for").to.be.greaterThan(3);
  });

  it("gives the same count for a file of many lines cut into chunks, with or without one changed line", () => {
    const next = seededRandom(5);
    const csv = Buffer.from([...salesChunks(5_000, 3)].join(""));
    const changed = [...mutations(Buffer.from(csv.subarray(csv.indexOf(0x0a) + 1, csv.indexOf(0x0a, csv.indexOf(0x0a) + 1))))];
    const answers = { counted: 0, notSure: 0 };
    for (let i = 0; i < 12; i++) {
      // A changed line replaces the line at a random offset's next line start.
      const at = csv.indexOf(0x0a, Math.floor(next() * csv.length)) + 1;
      const file = i === 0 ? csv : Buffer.concat([csv.subarray(0, at), changed[Math.floor(next() * changed.length)], Buffer.of(0x0a), csv.subarray(at)]);
      const size = [1 << 20, 65_536, 4_093, 97][i % 4];
      const typescript = count(jsRecordScan, SALES_KINDS, file, size);
      expect(count(wasm, SALES_KINDS, file, size), `file ${i}, chunks of ${size}`).to.equal(typescript);
      answers[typescript === undefined ? "notSure" : "counted"]++;
    }
    expect(answers.counted).to.be.greaterThan(2);
    expect(answers.notSure).to.be.greaterThan(2);
  });
});

describe("local/strict-lines-wasm: loading the scan from the build cache", () => {
  const key = `test-strict-lines-${randomUUID().slice(0, 8)}.wasm`;
  const file = join(CACHE_DIR, key);
  const cacheSetting = process.env.ETL_BUILD_CACHE;
  const wabtMissing = (): Assembler => {
    throw new Error("Cannot find module 'wabt/package.json'");
  };
  let good: Buffer;
  before(async () => {
    delete process.env.ETL_BUILD_CACHE;
    mkdirSync(CACHE_DIR, { recursive: true });
    rmSync(file, { force: true });
    await loadRecordScanner(key);
    good = readFileSync(file);
  });
  after(() => {
    if (cacheSetting !== undefined) process.env.ETL_BUILD_CACHE = cacheSetting;
    rmSync(file, { force: true });
  });

  /** The scanner `load` gives, and what it wrote on stderr. */
  async function loaded(load: () => Promise<RecordScanner>): Promise<{ scanner: RecordScanner; stderr: string[] }> {
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      return { scanner: await load(), stderr };
    } finally {
      process.stderr.write = write;
    }
  }

  /** Whether `scanner` gives the right answers: a valid file counted, an invalid one refused. */
  function answersRight(scanner: RecordScanner): boolean {
    const valid = Buffer.from(`h1,h2,h3,h4,h5,h6\n${EVERY_KIND_ROWS.join("\n")}\n`);
    return count(scanner, EVERY_KIND, valid) === EVERY_KIND_ROWS.length && count(scanner, EVERY_KIND, Buffer.from("h1,h2,h3,h4,h5,h6\na,2/30/2020,1,1,TRUE,b\n")) === undefined;
  }

  const binary = () => good.subarray(good.indexOf(0x0a) + 1);
  const damaged: Record<string, () => Buffer> = {
    truncated: () => good.subarray(0, good.length - 40),
    empty: () => Buffer.alloc(0),
    "one byte of the binary changed": () => Buffer.concat([good.subarray(0, good.length - 10), Buffer.of(good[good.length - 10] ^ 0x01), good.subarray(good.length - 9)]),
    "the binary alone (no header)": binary,
    "another wabt's": () => Buffer.from(good.toString("latin1").replace(/"wabt":"[^"]*"/, '"wabt":"0.0.1"'), "latin1"),
    // Its checksum matches, but it is no module: it fails to compile.
    "wrong bytes under a matching checksum": () => {
      const bytes = Buffer.from("not a WebAssembly module");
      const header = JSON.parse(good.subarray(0, good.indexOf(0x0a)).toString()) as { wabt: string };
      return Buffer.concat([Buffer.from(`${JSON.stringify({ wabt: header.wabt, sha256: createHash("sha256").update(bytes).digest("hex") })}\n`), bytes]);
    },
  };

  it("stores the binary under a header of wabt's version and its checksum, and loads it", async () => {
    expect(good.subarray(0, good.indexOf(0x0a)).toString()).to.match(/^\{"wabt":"[^"]+","sha256":"[0-9a-f]{64}"\}$/);
    expect(binary().subarray(0, 4)).to.deep.equal(Buffer.from("\0asm"));
    const { scanner, stderr } = await loaded(() => loadRecordScanner(key));
    expect(scanner).to.not.equal(jsRecordScan);
    expect(answersRight(scanner)).to.equal(true);
    expect(stderr).to.deep.equal([]);
  });

  for (const [damage, bytes] of Object.entries(damaged))
    it(`assembles again over a damaged entry (${damage}), overwriting it, and answers right`, async () => {
      writeFileSync(file, bytes());
      const { scanner, stderr } = await loaded(() => loadRecordScanner(key));
      expect(scanner).to.not.equal(jsRecordScan);
      expect(answersRight(scanner)).to.equal(true);
      expect(stderr).to.deep.equal([]);
      expect(readFileSync(file)).to.deep.equal(good);
    });

  it("loads a good entry without wabt", async () => {
    writeFileSync(file, good);
    const { scanner, stderr } = await loaded(() => loadRecordScanner(key, wabtMissing));
    expect(scanner).to.not.equal(jsRecordScan);
    expect(answersRight(scanner)).to.equal(true);
    expect(stderr).to.deep.equal([]);
  });

  it("without wabt nor a good entry, says so on stderr naming the entry and the cause, and the TypeScript scan serves", async () => {
    for (const [damage, bytes] of Object.entries(damaged)) {
      if (damage === "another wabt's") continue; // without wabt, any version's binary serves
      writeFileSync(file, bytes());
      const { scanner, stderr } = await loaded(() => loadRecordScanner(key, wabtMissing));
      expect(scanner, damage).to.equal(jsRecordScan);
      expect(stderr, damage).to.have.length(1);
      expect(stderr[0], damage).to.include(file).and.include("Cannot find module 'wabt/package.json'");
    }
    rmSync(file);
    const { stderr } = await loaded(() => loadRecordScanner(key, wabtMissing));
    expect(stderr[0]).to.include(`${file}: no entry`);
  });
});
