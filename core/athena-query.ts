// The Athena statements of a job: its own SQL file (the one definition of its transformation on every engine) over
// views that read its inputs through the Data Catalog, wrapped in an UNLOAD to the staging marker; and the counts
// statement (rows read and dropped per input, rows written, nulls per notNull column) that the runner's Athena
// adapter runs once the first succeeded, to report the counts and apply the data-quality gate. Raw CSV datasets are
// read through RegexSerDe (core/catalog.ts csvLineRegex) and typed and renamed by the same schema files, with the same
// drop rules, as etl_common.py and local/etl-engine.ts: only the dialect (Trino) differs. Must not import cdktf.
import { readFileSync } from "node:fs";
import type { EtlConfig } from "./config";
import { sqlPath } from "./config";
import { datasetSchema, outputTableName, rawTableName } from "./catalog";
import { STAGING_URI_MARKER } from "./job-spec";
import { countsColumn } from "./athena-counts";
import { jobQualityLimits } from "./quality";
import { FIRST_FIELD, LAST_FIELD, rawRows, type AthenaRawInput } from "./athena-inputs";
import { literal } from "./sql";

// The strict forms of typed values, identical to etl_common.py and local/etl-engine.ts (a test pins all three).
export const ATHENA_VALUE_PATTERNS = {
  date: "^(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4}$",
  bigint: "^-?[0-9]+$",
  double: "^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$",
} as const;

/** Trino's date_parse format of the M/D/YYYY dates (MySQL specifiers: %c month, %e day, %Y year). */
export const ATHENA_DATE_FORMAT = "%c/%e/%Y";

/** The UNLOAD options: Parquet with Snappy, as the other engines write. */
export const UNLOAD_OPTIONS = "format = 'PARQUET', compression = 'SNAPPY'";
/** The counts statement's UNLOAD options: one JSON line (gzip, Athena's default for JSON, named explicitly). */
export const COUNTS_UNLOAD_OPTIONS = "format = 'JSON', compression = 'GZIP'";

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A typed value in Trino, or NULL when the text does not parse (the row is then dropped). */
function typedValue(column: string, type: string): string {
  const c = quoteIdentifier(column);
  switch (type) {
    case "date":
      return `CASE WHEN regexp_like(${c}, ${literal(ATHENA_VALUE_PATTERNS.date)}) THEN TRY(CAST(date_parse(${c}, ${literal(ATHENA_DATE_FORMAT)}) AS DATE)) END`;
    case "bigint":
      return `CASE WHEN regexp_like(${c}, ${literal(ATHENA_VALUE_PATTERNS.bigint)}) THEN TRY_CAST(${c} AS BIGINT) END`;
    case "double":
      return `CASE WHEN regexp_like(${c}, ${literal(ATHENA_VALUE_PATTERNS.double)}) THEN TRY_CAST(${c} AS DOUBLE) END`;
    case "boolean":
      return `CASE upper(${c}) WHEN 'TRUE' THEN true WHEN 'FALSE' THEN false END`;
    case "string":
      return c;
    default:
      throw new Error(`column type ${JSON.stringify(type)} is not supported`);
  }
}

/** The job's SQL without its trailing ';' (every engine runs it as one statement). */
function jobSql(config: EtlConfig, jobId: string): string {
  const path = sqlPath(config, config.jobs[jobId]);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read the job's SQL (${(e as Error).message})`);
  }
  return text.trim().replace(/;\s*$/, "");
}

/**
 * A field's value as the CSV readers of the other engines give it: a quoted field without its quotes (a doubled quote
 * inside read as one), an empty field (quoted or not) NULL.
 */
function unquotedValue(column: string): string {
  const c = quoteIdentifier(column);
  return `CASE WHEN ${c} LIKE '"%' THEN NULLIF(replace(substr(${c}, 2, length(${c}) - 2), '""', '"'), '') ELSE NULLIF(${c}, '') END`;
}

/**
 * What a raw line is, from its first and last fields by position (core/athena-inputs.ts rawRows, csvLineRegex): blank
 * (white space and control characters alone: no record, as Spark's reader and the local engine skip it), a record (every field present), or else
 * malformed (read and dropped).
 */
function rawLine(columns: number): { blank: string; record: string } {
  const first = quoteIdentifier(FIRST_FIELD);
  const last = quoteIdentifier(LAST_FIELD);
  // Blank as Java's String.trim sees it (Spark's reader skips such lines), every character at most U+0020, written out:
  // '\s' is [ \t\n\x0B\f\r] in Athena's Java pattern syntax but lacks \x0B in the local Athena's RE2, and neither has \x01.
  const whiteSpace = `coalesce(regexp_like(${first}, '^[\\x00-\\x20]*$'), false)`;
  if (columns === 1) return { blank: whiteSpace, record: `${first} IS NOT NULL AND NOT ${whiteSpace}` };
  return { blank: `(${whiteSpace} AND ${last} IS NULL)`, record: `${last} IS NOT NULL` };
}

/** The raw tables a job reads on Athena, one per raw input: what the runner binds to each run's files. */
export function athenaRawInputs(config: EtlConfig, jobId: string, dataBucket: string): AthenaRawInput[] {
  return knownJob(config, jobId).inputs.flatMap((input) => {
    if (input.dataset === undefined) return [];
    return [{ input: input.name, ...rawTable(config, input.dataset), uri: `s3://${dataBucket}/${config.datasets[input.dataset].prefix}` }];
  });
}

function rawTable(config: EtlConfig, dataset: string): Pick<AthenaRawInput, "database" | "table" | "columns"> {
  const columns = datasetSchema(config, dataset).columns.map((c) => ({ name: c.name, source: c.source ?? c.name }));
  return { database: config.glue.databaseName, table: rawTableName(dataset), columns };
}

/** The view of one input, as a WITH item. */
function inputView(config: EtlConfig, jobId: string, index: number): string {
  const input = config.jobs[jobId].inputs[index];
  const database = quoteIdentifier(config.glue.databaseName);
  if (input.dataset !== undefined) {
    const columns = datasetSchema(config, input.dataset).columns;
    const typed = columns.map((c) => `${typedValue(c.name, c.type)} AS ${quoteIdentifier(c.name)}`);
    const valid = columns.filter((c) => c.type !== "string").map((c) => `${quoteIdentifier(c.name)} IS NOT NULL`);
    return [
      `${quoteIdentifier(input.name)} AS (`,
      `  SELECT * FROM (`,
      `    SELECT`,
      typed.map((t) => `      ${t}`).join(",\n"),
      `    FROM (`,
      `      SELECT ${columns.map((c) => `${unquotedValue(c.name)} AS ${quoteIdentifier(c.name)}`).join(",\n        ")}`,
      `      FROM ${rawRows(rawTable(config, input.dataset))}`,
      `      WHERE ${rawLine(columns.length).record}`,
      `    )`,
      `  )${valid.length ? ` WHERE ${valid.join(" AND ")}` : ""}`,
      `)`,
    ].join("\n");
  }
  const table = outputTableName(config, input.job!);
  if (table === undefined)
    throw new Error(
      `jobs.${jobId}.inputs[${index}].job: job ${jobId} runs on athena, which reads the output of job ${input.job} through its catalog table; give job ${input.job} a catalogSchema`,
    );
  return `${quoteIdentifier(input.name)} AS (SELECT * FROM ${database}.${quoteIdentifier(table)})`;
}

const LEADING_COMMENTS = /^(\s*(--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/))*\s*/;

function knownJob(config: EtlConfig, jobId: string) {
  const job = config.jobs[jobId];
  if (!job) throw new Error(`unknown job '${jobId}'; known: ${Object.keys(config.jobs).join(", ")}`);
  return job;
}

/**
 * The whole statement of a job on Athena: `UNLOAD (WITH <input views> <job SQL>) TO '{{etl_staging_uri}}' WITH (...)`.
 * A job SQL that starts with its own WITH gets the input views prepended to its list. Errors name the file or field.
 */
export function athenaQuery(config: EtlConfig, jobId: string): string {
  const job = knownJob(config, jobId);
  const views = job.inputs.map((_, i) => inputView(config, jobId, i));
  const sql = jobSql(config, jobId);
  const comments = LEADING_COMMENTS.exec(sql)![0];
  const body = sql.slice(comments.length);
  const ownWith = /^WITH\s/i.exec(body);
  const query = ownWith
    ? `${comments}WITH\n${views.join(",\n")},\n${body.slice(ownWith[0].length)}`
    : `WITH\n${views.join(",\n")}\n${comments}${body}`;
  // The newline before ')' ends a trailing '--' comment of the job's SQL.
  return `UNLOAD (\n${query}\n) TO '${STAGING_URI_MARKER}' WITH (${UNLOAD_OPTIONS})`;
}

/**
 * The counts statement of a job on Athena: one JSON line with the rows read and kept per input (a raw dataset's lines
 * that are not blank, and those its view keeps), the rows the job's SQL gives, and the nulls of each notNull column
 * (jobs.<ID>.quality), unloaded to the marker (the runner replaces it with the run's counts folder). It runs the job's
 * SQL a second time (Athena's UNLOAD reports no counts, and the staged output has no table): the job's data is
 * scanned twice, the same files (the runner binds both statements to the files it checked, core/athena-inputs.ts).
 */
export function athenaCountsQuery(config: EtlConfig, jobId: string, limits = jobQualityLimits(config, jobId)): string {
  const job = knownJob(config, jobId);
  const views = job.inputs.map((_, i) => inputView(config, jobId, i));
  const counts: string[] = [];
  for (const input of job.inputs) {
    const view = quoteIdentifier(input.name);
    const read =
      input.dataset !== undefined
        ? `(SELECT count_if(NOT ${rawLine(datasetSchema(config, input.dataset).columns.length).blank}) FROM ${rawRows(rawTable(config, input.dataset))})`
        : `(SELECT count(*) FROM ${view})`;
    counts.push(`${read} AS ${quoteIdentifier(countsColumn.read(input.name))}`, `(SELECT count(*) FROM ${view}) AS ${quoteIdentifier(countsColumn.kept(input.name))}`);
  }
  counts.push(`(SELECT count(*) FROM "etl_result") AS ${quoteIdentifier(countsColumn.written)}`);
  for (const column of limits.notNull)
    counts.push(`(SELECT count_if(${quoteIdentifier(column)} IS NULL) FROM "etl_result") AS ${quoteIdentifier(countsColumn.nulls(column))}`);
  // The newline before ')' ends a trailing '--' comment of the job's SQL.
  const query = `WITH\n${views.join(",\n")},\n"etl_result" AS (\n${jobSql(config, jobId)}\n)\nSELECT\n  ${counts.join(",\n  ")}`;
  return `UNLOAD (\n${query}\n) TO '${STAGING_URI_MARKER}' WITH (${COUNTS_UNLOAD_OPTIONS})`;
}
