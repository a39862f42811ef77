// The Athena statement of a job: its own SQL file (the one definition of its transformation on every engine) over
// views that read its inputs through the Data Catalog, wrapped in an UNLOAD to the staging marker. Raw CSV datasets
// are typed and renamed by the same schema files, with the same drop rules, as etl_common.py and local/etl-engine.ts:
// only the dialect (Trino) differs. Must not import cdktf.
import { readFileSync } from "node:fs";
import type { EtlConfig } from "./config";
import { sqlPath } from "./config";
import { datasetSchema, outputTableName, rawTableName } from "./catalog";
import { STAGING_URI_MARKER } from "./job-spec";

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

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

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
      // OpenCSVSerde reads an empty field as ''; Spark's and DuckDB's CSV readers as NULL.
      return `NULLIF(${c}, '')`;
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
      `    FROM ${database}.${quoteIdentifier(rawTableName(input.dataset))}`,
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

/**
 * The whole statement of a job on Athena: `UNLOAD (WITH <input views> <job SQL>) TO '{{etl_staging_uri}}' WITH (...)`.
 * A job SQL that starts with its own WITH gets the input views prepended to its list. Errors name the file or field.
 */
export function athenaQuery(config: EtlConfig, jobId: string): string {
  const job = config.jobs[jobId];
  if (!job) throw new Error(`unknown job '${jobId}'; known: ${Object.keys(config.jobs).join(", ")}`);
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
