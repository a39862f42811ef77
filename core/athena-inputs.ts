// The raw CSV inputs of a job on Athena, bound per run to the files the runner checked. The raw table reads fields by
// position (core/catalog.ts csvLineRegex) and skips each file's header, so the runner reads every file's header first
// (functions/etl-runner/engines/athena-headers.ts) with the rules of the other engines (core/csv-header.ts), and the
// job's statement then reads exactly those files ("$path"), each file's columns taken from the positions its own header
// gives, as Spark and the local engine read them. The counts statement is bound to the same files when the job's is
// (the runner keeps both for the run), so the counts describe what the job read. Pure functions: the runner's bundle
// takes this file. Must not import cdktf.
import { headerColumnsError, snakeCase } from "./csv-header";
import { escapeRegExp } from "./regex";
import { literal } from "./sql";

export interface AthenaRawInput {
  /** The job's input (its view's name). */
  input: string;
  database: string;
  /** The raw table (core/catalog.ts rawTableName). */
  table: string;
  /** s3://bucket/prefix/ of the table's files. */
  uri: string;
  /** The table's columns, in field order, with the header each is found by. */
  columns: Array<{ name: string; source: string }>;
}

/** One file of a raw input: its "$path" (s3://bucket/key) and, per table column, the 0-based field that holds it. */
export interface RawFile {
  uri: string;
  positions: number[];
}

/** Athena's limit on a statement's length in bytes (StartQueryExecution QueryString, UTF-8). */
export const ATHENA_QUERY_LIMIT = 262_144;

/** Columns of the raw rows expression beside the table's: the line's first and last fields, by position (what csvLineRegex matched). */
export const FIRST_FIELD = "etl_first_field";
export const LAST_FIELD = "etl_last_field";

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The raw rows of an input as a parenthesized SELECT: the table's columns by name, plus FIRST_FIELD and LAST_FIELD.
 * Without `files` (the statement as generated, in the job spec): every file of the table, fields by position. With
 * `files` (as the runner binds it for a run): only those files, each column from the field its file's header gives.
 */
export function rawRows(raw: Pick<AthenaRawInput, "database" | "table" | "columns">, files?: readonly RawFile[]): string {
  const table = `${quoteIdentifier(raw.database)}.${quoteIdentifier(raw.table)}`;
  const at = (position: number) => quoteIdentifier(raw.columns[position].name);
  const edges = `${at(0)} AS ${quoteIdentifier(FIRST_FIELD)}, ${at(raw.columns.length - 1)} AS ${quoteIdentifier(LAST_FIELD)}`;
  if (files === undefined) return `(SELECT ${raw.columns.map((_, j) => at(j)).join(", ")}, ${edges} FROM ${table})`;
  if (files.length === 0) throw new Error(`table ${raw.table}: no file to bind`);
  const orders = new Map<string, { positions: number[]; files: string[] }>();
  for (const file of files) {
    const key = file.positions.join(",");
    (orders.get(key) ?? orders.set(key, { positions: file.positions, files: [] }).get(key)!).files.push(file.uri);
  }
  const among = (uris: readonly string[]) => `"$path" IN (${uris.map(literal).join(", ")})`;
  // The top-level "$path" IN (...) of the files checked, whatever their orders: Athena prunes the table's other files
  // (not read, not billed), which a filter on a CASE result would not let it do.
  const scan = `FROM ${table} WHERE ${among(files.map((f) => f.uri))}`;
  const groups = [...orders.values()];
  if (groups.length === 1) {
    const [{ positions }] = groups;
    return `(SELECT ${raw.columns.map((c, j) => `${at(positions[j])} AS ${quoteIdentifier(c.name)}`).join(", ")}, ${edges} ${scan})`;
  }
  // Files of several column orders: each row's order from its file, chosen once per row by one IN list per order but
  // the largest, whose files are the ELSE (named once, in the scan's list; the others twice: the statement's length
  // bounds the number of files).
  const rest = groups.reduce((largest, g, i) => (g.files.length > groups[largest].files.length ? i : largest), 0);
  const order = `CASE ${groups.flatMap((g, i) => (i === rest ? [] : [`WHEN ${among(g.files)} THEN ${i}`])).join(" ")} ELSE ${rest} END`;
  const mapped = raw.columns.map((c, j) => `CASE "etl_column_order" ${groups.map((g, i) => `WHEN ${i} THEN ${at(g.positions[j])}`).join(" ")} END AS ${quoteIdentifier(c.name)}`);
  return `(SELECT ${mapped.join(", ")}, ${edges} FROM (SELECT ${raw.columns.map((_, j) => at(j)).join(", ")}, ${order} AS "etl_column_order" ${scan}))`;
}

/**
 * The fields of a file's header that hold the input's columns, or an error naming the file: a required column named
 * twice or missing (the message every engine gives, core/csv-header.ts), or a header of another width than the
 * table's (its lines could not be read: the table reads that many fields a line).
 */
export function rawFilePositions(raw: AthenaRawInput, header: readonly string[], path: string): number[] {
  const refused = headerColumnsError(header, raw.columns, raw.input, path);
  if (refused) throw new Error(refused);
  if (header.length !== raw.columns.length) {
    const required = new Set(raw.columns.map((c) => snakeCase(c.source)));
    const extra = header.filter((title) => !required.has(snakeCase(title)));
    throw new Error(
      `${path}: input '${raw.input}': the header has ${header.length} columns, the schema ${raw.columns.length}: on Athena every file of table ${raw.table} ` +
        `holds exactly the schema's columns, in any order (the table reads ${raw.columns.length} fields a line)${extra.length ? `; remove column(s) ${extra.map((c) => JSON.stringify(c)).join(", ")}` : ""}`,
    );
  }
  const first = new Map<string, number>();
  header.forEach((title, position) => first.has(snakeCase(title)) || first.set(snakeCase(title), position));
  return raw.columns.map((c) => first.get(snakeCase(c.source))!);
}

/** The raw inputs of distinct tables (two inputs may read one dataset: one binding serves both). */
export function distinctTables(raws: readonly AthenaRawInput[]): AthenaRawInput[] {
  return raws.filter((raw, i) => raws.findIndex((r) => r.table === raw.table) === i);
}

/** A statement of the job spec with each raw table's rows bound to its files (rawRows), `files` by table. */
export function bindRawRows(statement: string, raws: readonly AthenaRawInput[], files: Readonly<Record<string, readonly RawFile[]>>): string {
  let bound = statement;
  for (const raw of distinctTables(raws)) bound = bound.split(rawRows(raw)).join(rawRows(raw, files[raw.table]));
  return bound;
}

/**
 * The raw rows expressions a run's job statement was bound with, by table, found by aligning the statement as
 * executed with the spec's (`template`, its staging marker replaced as for the run): what was put in place of each
 * table's rawRows. Undefined when the executed statement is not the template bound (the spec changed since). How
 * runners before the kept statements found them, kept for the runs they started (bindCountsAsExecuted).
 */
export function boundRawRows(template: string, executed: string, raws: readonly AthenaRawInput[]): Record<string, string> | undefined {
  const tables = distinctTables(raws);
  let pattern = escapeRegExp(template);
  tables.forEach((raw, i) => {
    const [first, ...rest] = pattern.split(escapeRegExp(rawRows(raw)));
    if (rest.length === 0) return;
    pattern = `${first}(?<t${i}>[\\s\\S]*?)${rest.join(`\\k<t${i}>`)}`;
  });
  const match = new RegExp(`^${pattern}$`).exec(executed);
  if (!match) return undefined;
  return Object.fromEntries(tables.flatMap((raw, i) => (match.groups?.[`t${i}`] === undefined ? [] : [[raw.table, match.groups[`t${i}`]]])));
}

/**
 * The counts statement bound as a run's executed job statement was (boundRawRows), or undefined when they cannot be
 * aligned: the counts of a run started by a runner before the kept statements, as that runner computed them.
 */
export function bindCountsAsExecuted(countsTemplate: string, jobTemplate: string, executedJob: string, raws: readonly AthenaRawInput[]): string | undefined {
  const bound = boundRawRows(jobTemplate, executedJob, raws);
  if (bound === undefined) return undefined;
  let statement = countsTemplate;
  for (const raw of distinctTables(raws)) if (bound[raw.table] !== undefined) statement = statement.split(rawRows(raw)).join(bound[raw.table]);
  return statement;
}
