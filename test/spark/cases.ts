// The cases of npm run test:spark, as data: each case writes the CSV files of every dataset of the active
// configuration, derived from the dataset's sample rows and its schema (never from a dataset's name), and the
// whole workflow runs on them in both engines. A new case is a new row: a name and a function of the samples.
import { gzipSync } from "node:zlib";
import { csvField } from "../../local/csv";
import { sampleGeneratorFor, schemaChunks } from "../../local/dataset-samples";
import { marketingChunks, salesChunks } from "../../local/sample-data";
import type { QualityLimits } from "../../core/quality";
import type { SchemaFile } from "../../core/schema-file";
import { splitCsvLine } from "../csv-line";

/** One dataset's sample: its schema, the header and data lines of generated CSV (no line breaks in fields). */
export interface DatasetSample {
  dataset: string;
  schema: SchemaFile;
  header: string[];
  lines: string[];
}

/** Files of one dataset's input folder: path relative to the dataset's prefix -> content (a Buffer: bytes as they are). */
export type InputFiles = Record<string, string | Buffer>;

export interface SparkCase {
  name: string;
  /** The files of one dataset; `index` is the dataset's position in the configuration. */
  files(sample: DatasetSample, index: number): InputFiles;
  /** The job's data-quality limits in this case, from its configured ones (`--etl_quality`); absent: as configured. */
  quality?(limits: QualityLimits, job: { id: string; outputColumns: string[] }): QualityLimits;
}

/** Every input of the job limited to `fraction` of its rows dropped. */
const maxDropped = (fraction: number) => (limits: QualityLimits): QualityLimits => ({
  ...limits,
  inputs: Object.fromEntries(Object.keys(limits.inputs).map((name) => [name, { maxDroppedFraction: fraction }])),
});

/** Sample lines for a dataset (header first), from local/dataset-samples.ts: the shipped example's realistic
 * generators where they cover the schema (`rows` sales rows), else rows derived from the schema. */
export function sampleLines(dataset: string, schema: SchemaFile, rows: number): string[] {
  const generator = sampleGeneratorFor(schema);
  const chunks = generator === "sales" ? salesChunks(rows) : generator === "marketing" ? marketingChunks() : schemaChunks(schema, { name: dataset });
  return [...chunks].join("").replace(/\n$/, "").split("\n");
}

const join = (header: string[], lines: string[], eol = "\n") => [header.map(csvField).join(","), ...lines].join(eol) + eol;

/** The line with column `source` set to `raw` (written as is, so it may hold quotes). */
function withField(sample: DatasetSample, line: string, source: string, raw: string): string {
  const fields = splitCsvLine(line).map(csvField);
  fields[sample.header.indexOf(source)] = raw;
  return fields.join(",");
}

// Values that must not parse as their type (each replaces one field of one row), and values that must.
const UNPARSEABLE: Record<string, string[]> = {
  date: ["13/1/2011", "1/2/11", "2/30/2011", "2/29/2013", "2011-01-02", "1/1/0000", "", " 1/2/2011"],
  bigint: ["1.5", "12a", "", " 7", "99999999999999999999", "+5", "0x10"],
  double: ["1.2.3", "abc", "", "1e", "NaN", "Infinity"],
  boolean: ["yes", "", "1", "T"],
};
const PARSEABLE: Record<string, string[]> = {
  date: ["01/02/2012", "2/29/2012", "12/31/9999", "1/1/1500"],
  bigint: ["-0", "007", "-9223372036854775808"],
  double: ["-1.5e3", "0.000001", "1E+2"],
  boolean: ["true", "False"],
};

/**
 * Data lines enough for every case to keep its point on a sample cut to that many (test/local/athena-service.test.ts):
 * the unparseable values, one row each (replaceValues), stay under a third of the rows, so that "within
 * maxDroppedFraction 0.5" still passes its gate and the others still keep rows.
 */
export function caseRows(schema: SchemaFile): number {
  return 3 * schema.columns.reduce((values, column) => values + (UNPARSEABLE[column.type]?.length ?? 0), 0);
}

/** Puts each value on a line of its own (a line with two bad values would hide one), spread through the sample. */
function replaceValues(sample: DatasetSample, values: Record<string, string[]>): InputFiles {
  const lines = [...sample.lines];
  const count = sample.schema.columns.reduce((n, column) => n + (values[column.type]?.length ?? 0), 0);
  if (count > lines.length) throw new Error(`test/spark/cases.ts: ${count} values for ${lines.length} lines: each needs a line of its own`);
  // A stride coprime with the line count visits each line once.
  const stride = [7, 11, 13].find((s) => lines.length % s !== 0)!;
  let row = 0;
  for (const column of sample.schema.columns)
    for (const value of values[column.type] ?? []) {
      const at = (row++ * stride) % lines.length;
      lines[at] = withField(sample, lines[at], column.source!, csvField(value));
    }
  return { "data.csv": join(sample.header, lines) };
}

/** A CSV of `lines` with the header's columns in reverse order (the same columns, nothing added). */
function reordered(sample: DatasetSample, lines: string[]): string {
  const order = sample.header.map((_, i) => sample.header.length - 1 - i);
  return join(
    order.map((i) => sample.header[i]),
    lines.map((line) => {
      const fields = splitCsvLine(line);
      return order.map((i) => csvField(fields[i])).join(",");
    }),
  );
}

const firstString = (sample: DatasetSample) => sample.schema.columns.find((c) => c.type === "string")?.source;
const firstTyped = (sample: DatasetSample) => sample.schema.columns.find((c) => c.type !== "string")?.source;

/** Every row of the first dataset with a value that does not parse (so every row is dropped). */
function allUnparseable(s: DatasetSample, index: number): InputFiles {
  const source = firstTyped(s);
  if (index > 0 || !source) return { "data.csv": join(s.header, s.lines) };
  return { "data.csv": join(s.header, s.lines.map((line) => withField(s, line, source, "not a value"))) };
}

export const CASES: SparkCase[] = [
  { name: "sample data", files: (s) => ({ "data.csv": join(s.header, s.lines) }) },
  { name: "unparseable values (dropped and counted)", files: (s) => replaceValues(s, UNPARSEABLE) },
  { name: "unusual values that parse", files: (s) => replaceValues(s, PARSEABLE) },
  {
    name: "malformed lines: extra and missing fields, unclosed quote, blank lines",
    files: (s) => {
      const lines = [...s.lines];
      const at = (i: number) => Math.min(i, lines.length - 1);
      lines[at(3)] += ",extra";
      lines[at(5)] = splitCsvLine(lines[at(5)]).slice(0, 2).join(",");
      lines[at(8)] = `"${lines[at(8)]}`;
      lines.splice(at(10), 0, "", "   ");
      return { "data.csv": join(s.header, lines) };
    },
  },
  {
    name: "lines of control characters alone (blank, as Java's String.trim sees them: no rows)",
    files: (s) => {
      const lines = [...s.lines];
      lines.splice(Math.min(4, lines.length), 0, "\x0b", "\x0c\x01", " \x1f\t", "\x00");
      return { "data.csv": join(s.header, lines) };
    },
  },
  { name: "CRLF line endings, no line break at the end", files: (s) => ({ "data.csv": join(s.header, s.lines, "\r\n").replace(/\r\n$/, "") }) },
  {
    name: "quoted fields: commas, doubled quotes, empty quoted strings",
    files: (s) => {
      const source = firstString(s);
      if (!source) return { "data.csv": join(s.header, s.lines) };
      const lines = [...s.lines];
      ['"a, b"', '"say ""hi"""', '""', '" padded "'].forEach((raw, i) => {
        const at = (i * 11) % lines.length;
        lines[at] = withField(s, lines[at], source, raw);
      });
      return { "data.csv": join(s.header, lines) };
    },
  },
  {
    name: "an input folder: several files, another column order, extra column, hidden files",
    files: (s) => {
      const half = Math.ceil(s.lines.length / 2);
      const order = s.header.map((_, i) => s.header.length - 1 - i);
      const reordered = s.lines.slice(half).map((line) => {
        const fields = splitCsvLine(line);
        return [...order.map((i) => csvField(fields[i])), "note"].join(",");
      });
      return {
        "a.csv": join(s.header, s.lines.slice(0, half)),
        "part/b.txt": join([...order.map((i) => s.header[i]), "Notes"], reordered),
        _SUCCESS: "",
        ".a.csv.crc": "not data",
        "_temporary/c.csv": "not,data\n1,2\n",
      };
    },
  },
  { name: "another column order in one file (read by its header's names)", files: (s) => ({ "data.csv": reordered(s, s.lines) }) },
  {
    name: "a folder whose files order the columns differently (each read by its own header)",
    files: (s) => {
      const half = Math.ceil(s.lines.length / 2);
      return { "a.csv": join(s.header, s.lines.slice(0, half)), "b.csv": reordered(s, s.lines.slice(half)) };
    },
  },
  { name: "a header without rows (an empty output: DataQualityError)", files: (s) => ({ "data.csv": join(s.header, []) }) },
  { name: "a header without rows, minOutputRows 0 (an empty output allowed)", files: (s) => ({ "data.csv": join(s.header, []) }), quality: (l) => ({ ...l, minOutputRows: 0 }) },
  { name: "every row of the first dataset dropped (DataQualityError)", files: allUnparseable },
  { name: "every row of the first dataset dropped, maxDroppedFraction 1 and minOutputRows 0 (allowed)", files: allUnparseable, quality: (l) => ({ ...maxDropped(1)(l), minOutputRows: 0 }) },
  { name: "unparseable values over maxDroppedFraction 0.001 (DataQualityError)", files: (s) => replaceValues(s, UNPARSEABLE), quality: maxDropped(0.001) },
  { name: "unparseable values within maxDroppedFraction 0.5", files: (s) => replaceValues(s, UNPARSEABLE), quality: maxDropped(0.5) },
  {
    name: "notNull on a column the output lacks (the job fails naming it)",
    files: (s) => ({ "data.csv": join(s.header, s.lines) }),
    quality: (l) => ({ ...l, notNull: ["no_such_column"] }),
  },
  {
    name: "empty values in every string column, notNull on every output column (fails where a job keeps one)",
    files: (s) => {
      const strings = s.schema.columns.filter((c) => c.type === "string").map((c) => c.source!);
      const lines = s.lines.map((line, i) => (i % 5 === 0 ? strings.reduce((l, source) => withField(s, l, source, ""), line) : line));
      return { "data.csv": join(s.header, lines) };
    },
    quality: (l, job) => ({ ...l, notNull: job.outputColumns }),
  },
  {
    name: "gzip files (*.gz) in a folder and alone",
    files: (s, index): InputFiles => {
      const half = Math.ceil(s.lines.length / 2);
      return index % 2 === 0
        ? { "data.csv.gz": gzipSync(join(s.header, s.lines)) }
        : { "a.csv.gz": gzipSync(join(s.header, s.lines.slice(0, half))), "b.csv": join(s.header, s.lines.slice(half)) };
    },
  },
  {
    name: "a header naming one column twice (same snake_case name; the job fails naming both positions)",
    files: (s) => {
      const twin = ` ${s.schema.columns[0].source!.toUpperCase()} `;
      return { "data.csv": join([...s.header, twin], s.lines.map((l) => `${l},not a value`)) };
    },
  },
  {
    name: "a missing column in the first dataset (the job fails naming it)",
    files: (s, index) => {
      if (index > 0) return { "data.csv": join(s.header, s.lines) };
      const drop = s.header.indexOf(s.schema.columns[s.schema.columns.length - 1].source!);
      const without = (fields: string[]) => fields.filter((_, i) => i !== drop);
      return { "data.csv": join(without(s.header), s.lines.map((l) => without(splitCsvLine(l)).map(csvField).join(","))) };
    },
  },
  {
    name: "an empty file in the first dataset (the job fails naming the file)",
    files: (s, index) => ({ "data.csv": index === 0 ? "" : join(s.header, s.lines) }),
  },
  {
    name: "only hidden files in the first dataset's folder (the job fails naming the input)",
    files: (s, index): InputFiles => (index === 0 ? { _SUCCESS: "", ".data.csv.crc": "x", "_temporary/data.csv": join(s.header, s.lines) } : { "data.csv": join(s.header, s.lines) }),
  },
  {
    name: "a malformed header in the first dataset (the job fails naming the file)",
    files: (s, index) => ({ "data.csv": (index === 0 ? `"${s.header.join(",")}\n` : join(s.header, [])) + s.lines.join("\n") + "\n" }),
  },
];
