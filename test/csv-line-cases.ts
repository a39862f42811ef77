// The shared table of CSV line cases: blank lines, line endings and quoting at the edges, each on a schema of its own
// (most read a file of one column, where a blank line and a value are hardest to tell apart). `expected` is Spark's
// answer: npm run test:spark runs every case on real Spark (etl_common.py) and on the local engine and checks both
// give it; test/local/etl-engine.test.ts checks the local engine gives it, the fast way and the exact way.
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import type { SchemaFile } from "../core/schema-file";

export interface CsvLineCase {
  name: string;
  /** The input's schema (every column read from the header by its `source`). */
  columns: Array<Required<Pick<SchemaFile["columns"][number], "source" | "name" | "type">>>;
  /** The input's files: path in the input's folder -> content. */
  files: Record<string, string | Buffer>;
  /** What Spark reads: rows read and dropped, and the rows kept (JSON values, as test/support/parquet.ts reads them) in
   * CSV_LINE_SQL's order; or the error both engines refuse the input with, given the input's path. */
  expected: { read: number; dropped: number; rows: unknown[][] } | { error: (path: string) => string };
}

/** The input's view name, and the job every case runs: every row, in order (NULL first in both engines). */
export const CSV_LINE_VIEW = "lines";
export const CSV_LINE_SQL = `SELECT * FROM ${CSV_LINE_VIEW} ORDER BY 1 NULLS FIRST`;
/** Limits that let every case's counts through (the cases are about reading, not the gate). */
export const CSV_LINE_QUALITY = { inputs: { [CSV_LINE_VIEW]: { maxDroppedFraction: 1 } }, minOutputRows: 0, notNull: [] as string[] };

const text = [{ source: "Name", name: "name", type: "string" as const }];
const number = [{ source: "N", name: "n", type: "bigint" as const }];
/** Rows enough to put a line past the first 64 KiB, which the header check reads for binary data. */
const past64KiB = (row: (i: number) => string) => Array.from({ length: 20_000 }, (_, i) => row(i)).join("\n") + "\n";

export const CSV_LINE_CASES: CsvLineCase[] = [
  {
    name: "one column: empty and white-space lines in the middle and at the end are no rows",
    columns: text,
    files: { "data.csv": "Name\na\n\n   \n\t\nb\n\n \n" },
    expected: { read: 2, dropped: 0, rows: [["a"], ["b"]] },
  },
  {
    name: "one column, CR LF endings: blank lines, and a last line without a line break",
    columns: text,
    files: { "data.csv": "Name\r\na\r\n\r\n \r\nb\r\n\r\nc" },
    expected: { read: 3, dropped: 0, rows: [["a"], ["b"], ["c"]] },
  },
  {
    name: "one column, lone CR endings: blank lines",
    columns: text,
    files: { "data.csv": "Name\ra\r\r  \rb\r" },
    expected: { read: 2, dropped: 0, rows: [["a"], ["b"]] },
  },
  {
    name: "one bigint column: a blank line is no row (not dropped), a value that does not parse is dropped",
    columns: number,
    files: { "data.csv": "N\r\n1\r\n\r\n  \r\nx\r\n2\r\n\r\n" },
    expected: { read: 3, dropped: 1, rows: [["1"], ["2"]] },
  },
  {
    name: "one column: a header and blank lines alone (no row read)",
    columns: text,
    files: { "data.csv": "Name\n\n \n\n" },
    expected: { read: 0, dropped: 0, rows: [] },
  },
  {
    name: "two columns: a header and blank lines alone (no row read)",
    columns: [...text, ...number],
    files: { "data.csv": "Name,N\r\n\r\n \r\n" },
    expected: { read: 0, dropped: 0, rows: [] },
  },
  {
    name: 'one column: an empty quoted string ("") is a NULL value, a quoted blank is a value',
    columns: text,
    files: { "data.csv": 'Name\na\n""\n"  "\nb\n' },
    expected: { read: 4, dropped: 0, rows: [[null], ["  "], ["a"], ["b"]] },
  },
  {
    name: "one column: an empty quoted string on the last line, without a line break",
    columns: text,
    files: { "data.csv": 'Name\na\n\n""' },
    expected: { read: 2, dropped: 0, rows: [[null], ["a"]] },
  },
  {
    name: "one column, a folder: last lines without a line break (a value, white space), a *.gz file with blank lines",
    columns: text,
    files: { "a.csv": "Name\na\nb", "b.csv": "Name\r\nc\r\n  ", "c.csv.gz": gzipSync("Name\n\nd\n \n") },
    expected: { read: 4, dropped: 0, rows: [["a"], ["b"], ["c"], ["d"]] },
  },
  {
    name: "one column: a line with an unclosed quote is dropped, the blank lines after it are no rows",
    columns: text,
    files: { "data.csv": 'Name\na\n"x\n\n  \nb\n' },
    expected: { read: 3, dropped: 1, rows: [["a"], ["b"]] },
  },
  {
    name: "one column, a folder: a line equal to the header is a row, in a file with a line with an unclosed quote and in one without",
    columns: text,
    // Two headers (one quoted), so two groups of files: only the first has a line with an unclosed quote.
    files: { "a.csv": 'Name\na\nName\n"x\nb\n', "b.csv": '"Name"\r\nc\r\n"Name"\r\n' },
    expected: { read: 6, dropped: 1, rows: [["Name"], ["Name"], ["a"], ["b"], ["c"]] },
  },
  {
    name: "one column: a file named with a comma, with a line with an unclosed quote",
    columns: text,
    // Hadoop splits a list of input paths at commas: the name must reach it escaped.
    files: { "x, y.csv": 'Name\na\n"x\nb\n' },
    expected: { read: 3, dropped: 1, rows: [["a"], ["b"]] },
  },
  {
    name: "one column, a folder: a file named with a comma beside another, both with a line with an unclosed quote",
    columns: text,
    files: { "a, b.csv": 'Name\na\n"x\n', "c.csv": 'Name\nc\n"y\n' },
    expected: { read: 4, dropped: 2, rows: [["a"], ["c"]] },
  },
  {
    name: "one column, a folder: files named with glob characters (\\ * ? [ ] { }) and a comma are read as named, each once; with and without a line with an unclosed quote",
    columns: text,
    // Spark's readers and Hadoop's FileInputFormat glob their paths: each name must reach them escaped. Two headers
    // (one quoted), so two groups of files: only the second has a line with an unclosed quote.
    files: {
      "a\\b.csv": "Name\nb1\n",
      "a*.csv": "Name\nstar\n",
      "ab.csv": "Name\nab\n",
      "d?.csv": "Name\nq\n",
      "dx.csv": "Name\ndx\n",
      "a[b].csv": '"Name"\nbracket\n"x\n',
      "{c}.csv": '"Name"\nbrace\n',
      "x, y\\z.csv": '"Name"\ncomma\n',
    },
    expected: { read: 9, dropped: 1, rows: [["ab"], ["b1"], ["brace"], ["bracket"], ["comma"], ["dx"], ["q"], ["star"]] },
  },
  {
    name: "two columns: a line equal to the header does not parse (dropped and counted) beside a line with an unclosed quote",
    columns: [...text, ...number],
    files: { "data.csv": 'Name,N\na,1\nName,N\n"x,1\nb,2\n' },
    expected: { read: 4, dropped: 2, rows: [["a", "1"], ["b", "2"]] },
  },
  {
    name: "one column: two values on a line are malformed, a quoted comma is a value",
    columns: text,
    files: { "data.csv": 'Name\na\nx,y\n"x,y"\nb\n' },
    expected: { read: 4, dropped: 1, rows: [["a"], ["b"], ["x,y"]] },
  },
  {
    name: "one column: a byte order mark before the header, a blank line after it",
    columns: text,
    files: { "data.csv": "\ufeffName\n\na\n" },
    expected: { read: 1, dropped: 0, rows: [["a"]] },
  },
  {
    name: "one column: a byte order mark at the start of a data line is part of its value (a quote after it is text)",
    columns: text,
    files: { "data.csv": 'Name\na\n\ufeffb\n\ufeff"c"\n' },
    expected: { read: 3, dropped: 0, rows: [["a"], ['\ufeff"c"'], ["\ufeffb"]] },
  },
  {
    name: "two columns: a byte order mark before a number makes it unparseable (dropped), before a text value it is kept",
    columns: [...number, ...text],
    files: { "data.csv": "N,Name\n1,a\n\ufeff2,b\n3,\ufeffc\n" },
    expected: { read: 3, dropped: 1, rows: [["1", "a"], ["3", "\ufeffc"]] },
  },
  {
    name: "one column: control characters in values are kept (Spark checks the header alone), in the first 64 KiB",
    columns: text,
    files: { "data.csv": "Name\na\nb\x01c\nd\x00e\n\x07f\n" },
    expected: { read: 4, dropped: 0, rows: [["\x07f"], ["a"], ["b\x01c"], ["d\x00e"]] },
  },
  {
    name: "one column: a data line that is not UTF-8 is refused, naming the file, line and byte",
    columns: text,
    files: { "data.csv": Buffer.concat([Buffer.from("Name\na\nb"), Buffer.from([0xff]), Buffer.from("c\n")]) },
    expected: { error: (path) => `${path}: input 'lines': line 3 is not UTF-8 text (byte 0xff at offset 8); save the file as UTF-8` },
  },
  {
    name: "one column, a folder: the first file (in order) with a line that is not UTF-8 is named; a *.gz file, CR LF and lone CR endings, an unclosed quote",
    columns: text,
    files: {
      "a.csv": 'Name\né\n"x\n',
      "b.csv.gz": gzipSync(Buffer.concat([Buffer.from('Name\r\n"x\ré\r\ny'), Buffer.from([0xe0, 0x80]), Buffer.from("z\r\n")])),
      "c.csv": Buffer.concat([Buffer.from("Name\nq"), Buffer.from([0xff]), Buffer.from("\n")]),
    },
    expected: { error: (path) => `${join(path, "b.csv.gz")}: input 'lines': line 4 is not UTF-8 text (byte 0xe0 at offset 14); save the file as UTF-8` },
  },
  {
    name: "one column: a file named alone whose name starts with '_' is refused, not read as no rows (Spark skips it as hidden)",
    columns: text,
    files: { "_data.csv": "Name\na\n" },
    expected: { error: (path) => `input 'lines': ${path}: the file's name starts with '_' or '.', which Spark and Hadoop skip as hidden (read as no rows); rename it` },
  },
  {
    name: "one column: lines of control characters alone are blank (as Java's String.trim sees them), past the first 64 KiB",
    columns: number,
    files: { "data.csv": `N\n${past64KiB((i) => String(i))}\x0b\n\x01\x02\n \x0c\n\x00\n20000\n` },
    expected: { read: 20_001, dropped: 0, rows: Array.from({ length: 20_001 }, (_, i) => [String(i)]) },
  },
  {
    name: "two columns: lines of control characters alone are blank, not malformed, past the first 64 KiB",
    columns: [...number, ...text],
    files: { "data.csv": `N,Name\n${past64KiB((i) => `${i},r`)}\x0b\n\x01\x02\n \x0c\n\x00\n20000,r\n` },
    expected: { read: 20_001, dropped: 0, rows: Array.from({ length: 20_001 }, (_, i) => [String(i), "r"]) },
  },
];
