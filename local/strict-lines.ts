// Vouches for a clean CSV file in one pass over its bytes, so the engine can skip its counting scan. It only ever says
// "every line is a record whose typed values all hold their strict forms" (and how many there are) or "not sure": it
// never decides a drop. Anything it does not recognise (a quoted typed value, an empty or blank line, a lone CR, a
// year before 1000, a bigint of 19 digits, bytes that are not UTF-8...) makes it give up, and the engine's exact
// path (DuckDB's counting scan) decides. So it accepts a subset of what the strict forms accept (a test pins that).
import { isUtf8 } from "node:buffer";

/** The kind of a header position: a schema type, or "string" for a column no schema column reads. */
export type FieldKind = "string" | "date" | "bigint" | "double" | "boolean";

export const KIND_CODES: Record<FieldKind, number> = { string: 0, date: 1, bigint: 2, double: 3, boolean: 4 };
// The bytes the hot loop compares, as constants of this module: imported ones become property reads in the compiled
// CommonJS (the check ran 1.7x slower with csv.ts's, and with a date helper passing its value through a module variable).
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const SLASH = 0x2f;
const MINUS = 0x2d;
const DOT = 0x2e;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Longest bigint it vouches for (19 digits may overflow BIGINT). */
const BIGINT_DIGITS = 18;
// Dates of years 1000-9999 and doubles of at most 15 integer digits and a 2-digit exponent (never Infinity): a margin
// kept to the values the tests compare on both paths, not a known difference (both parse with DuckDB). Rarer values
// are left to the exact path; real files seldom hold them.
const DOUBLE_DIGITS = 15;
const EXPONENT_DIGITS = 2;
/** Longest line it vouches for (DuckDB's reader has a maximum line size). */
const MAX_LINE = 1 << 20;

/**
 * Counts a CSV file's records when every line after the header is well formed (one field per header column, ',' as
 * delimiter, text fields plain or in '"' with '""' inside, every line ending as the header does: LF or CR LF) and every typed value holds its
 * strict form (VALUE_PATTERNS) and parses. Chunks are pushed in order; `end()` gives the count, or undefined.
 */
export class StrictLineCounter {
  private readonly scan: RecordScan;
  private headerDone = false;
  /** Whether the header ends in CR LF: every line must end as it does (DuckDB refuses a file that mixes them). */
  private crlf = false;
  private failed = false;
  private records = 0;
  /** The bytes of a line not yet ended, pending[0, pendingLength) (copied: the caller may reuse its chunk), in one
   * buffer grown by doubling, so a line cut into many small chunks costs no allocation per chunk. */
  private pending = new Uint8Array(0);
  private pendingLength = 0;

  /** `scanner` gives the scan of complete lines (local/strict-lines-wasm.ts); the default is this module's own. */
  constructor(kinds: readonly FieldKind[], scanner: RecordScanner = jsRecordScan) {
    this.scan = scanner(Uint8Array.from(kinds.map((k) => KIND_CODES[k])));
  }

  /** False once it is no longer sure (the rest need not be pushed). */
  push(chunk: Uint8Array): boolean {
    this.take(chunk);
    return !this.failed;
  }

  private take(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    let start = 0;
    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf === -1) {
      this.keep(chunk);
      if (this.pendingLength > MAX_LINE) this.failed = true;
      return;
    }
    if (this.pendingLength) {
      const firstLf = chunk.indexOf(LF);
      this.keep(chunk.subarray(0, firstLf + 1));
      this.endPendingLine();
      start = firstLf + 1;
    }
    this.lines(chunk, start, lastLf + 1);
    if (lastLf + 1 < chunk.length) this.keep(chunk.subarray(lastLf + 1));
  }

  /** The number of records, or undefined when some line was not vouched for. */
  end(): number | undefined {
    if (this.pendingLength && !this.failed) {
      // A last line without a line break, ended as the others (one ending in a lone CR then fails as any lone CR does).
      this.keep(this.crlf ? Uint8Array.of(CR, LF) : Uint8Array.of(LF));
      this.endPendingLine();
    }
    return this.failed || !this.headerDone ? undefined : this.records;
  }

  private keep(bytes: Uint8Array): void {
    const length = this.pendingLength + bytes.length;
    if (length > this.pending.length) {
      const grown = new Uint8Array(Math.max(length, 2 * this.pending.length, 256));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength = length;
  }

  /** Checks the pending line (just ended by a LF) and empties it. */
  private endPendingLine(): void {
    const length = this.pendingLength;
    this.pendingLength = 0;
    this.lines(this.pending, 0, length);
  }

  /** Checks the complete lines data[start, end) (end is just after a LF). */
  private lines(data: Uint8Array, start: number, end: number): void {
    if (this.failed) return;
    if (!isUtf8(data.subarray(start, end))) {
      this.failed = true;
      return;
    }
    if (!this.headerDone) {
      // The header is its first line (read and checked by the engine); here it must simply be one line.
      const lf = data.indexOf(LF, start);
      let quotes = 0;
      for (let at = data.indexOf(QUOTE, start); at !== -1 && at < lf; at = data.indexOf(QUOTE, at + 1)) quotes++;
      const cr = data.indexOf(CR, start);
      if (quotes % 2 === 1 || (cr !== -1 && cr < lf - 1)) {
        this.failed = true;
        return;
      }
      this.headerDone = true;
      this.crlf = lf > start && data[lf - 1] === CR;
      start = lf + 1;
    }
    const counted = start < end ? this.scan(data, start, end, this.crlf) : 0;
    if (counted < 0) this.failed = true;
    else this.records += counted;
  }
}

/** Counts the records in data[start, end) (start < end, end just after a LF), every one vouched for, or -1. */
export type RecordScan = (data: Uint8Array, start: number, end: number, crlf: boolean) => number;
/** A RecordScan for one file's kinds (a header position's KIND_CODES). */
export type RecordScanner = (kinds: Uint8Array) => RecordScan;

/** The rules in TypeScript: the reference that local/strict-lines.wat must match (test/local/strict-lines-wasm.test.ts). */
export const jsRecordScan: RecordScanner = (kinds) => (data, start, end, crlf) => countRecords(data, start, end, kinds, crlf);

/** The records in data[start, end), every one vouched for, or -1. */
function countRecords(data: Uint8Array, start: number, end: number, kinds: Uint8Array, crlf: boolean): number {
  const last = kinds.length - 1;
  let p = start;
  let records = 0;
  while (p < end) {
    const lineStart = p;
    // An empty or blank line is no record (Spark and DuckDB skip it); a line starting with white space is left to
    // the exact path rather than told apart from a blank one here.
    const first = data[p];
    if (first === LF || first === CR || first === 0x20 || first === 0x09) return -1;
    for (let k = 0; k <= last; k++) {
      let b = data[p];
      switch (kinds[k]) {
        case 0: // text: plain, or quoted with "" inside
          if (b === QUOTE) {
            for (;;) {
              b = data[++p];
              if (b === QUOTE) {
                if (data[p + 1] !== QUOTE) break;
                p++;
              } else if (b === LF || b === CR || p >= end) return -1;
            }
            b = data[++p];
          } else {
            while (b > COMMA || (b !== COMMA && b !== QUOTE && (b >= 0x20 || b === 0x09))) b = data[++p];
          }
          break;
        case 1: {
          // date: M/D/YYYY, month and day with an optional leading zero, a real calendar day, year 1000-9999
          let month = b - 48;
          if (month < 0 || month > 9) return -1;
          b = data[++p];
          if (b !== SLASH) {
            const d = b - 48;
            if (d < 0 || d > 9) return -1;
            month = month * 10 + d;
            b = data[++p];
            if (b !== SLASH) return -1;
          }
          b = data[++p];
          let day = b - 48;
          if (day < 0 || day > 9) return -1;
          b = data[++p];
          if (b !== SLASH) {
            const d = b - 48;
            if (d < 0 || d > 9) return -1;
            day = day * 10 + d;
            b = data[++p];
            if (b !== SLASH) return -1;
          }
          let year = 0;
          for (let i = 0; i < 4; i++) {
            const d = data[++p] - 48;
            if (!(d >= 0 && d <= 9)) return -1;
            year = year * 10 + d;
          }
          b = data[++p];
          if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month] || year < 1000) return -1;
          if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return -1;
          break;
        }
        case 2: {
          // bigint: -?[0-9]+, at most 18 digits
          if (b === MINUS) b = data[++p];
          const digits = p;
          while (b >= 48 && b <= 57) b = data[++p];
          if (p === digits || p - digits > BIGINT_DIGITS) return -1;
          break;
        }
        case 3: {
          // double: -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?, at most 15 integer digits and a 2-digit exponent
          if (b === MINUS) b = data[++p];
          let digits = p;
          while (b >= 48 && b <= 57) b = data[++p];
          if (p === digits || p - digits > DOUBLE_DIGITS) return -1;
          if (b === DOT) {
            b = data[++p];
            digits = p;
            while (b >= 48 && b <= 57) b = data[++p];
            if (p === digits) return -1;
          }
          if (b === 0x65 || b === 0x45) {
            b = data[++p];
            if (b === 0x2b || b === MINUS) b = data[++p];
            digits = p;
            while (b >= 48 && b <= 57) b = data[++p];
            if (p === digits || p - digits > EXPONENT_DIGITS) return -1;
          }
          break;
        }
        default: {
          // boolean: TRUE or FALSE in any case
          const c = b | 0x20;
          if (c === 0x74 && (data[p + 1] | 0x20) === 0x72 && (data[p + 2] | 0x20) === 0x75 && (data[p + 3] | 0x20) === 0x65) p += 4;
          else if (c === 0x66 && (data[p + 1] | 0x20) === 0x61 && (data[p + 2] | 0x20) === 0x6c && (data[p + 3] | 0x20) === 0x73 && (data[p + 4] | 0x20) === 0x65) p += 5;
          else return -1;
          b = data[p];
        }
      }
      if (k < last) {
        if (b !== COMMA) return -1;
        p++;
      } else {
        if (crlf) {
          if (b !== CR) return -1;
          b = data[++p];
        }
        if (b !== LF) return -1;
        p++;
      }
    }
    if (p - lineStart > MAX_LINE) return -1;
    records++;
  }
  return records;
}
