// The Glue Data Catalog tables of the project: one per raw dataset (the CSV as uploaded, every column a string)
// and one per job output that has a catalogSchema (Parquet, typed). Read by the glue stack (the tables) and by
// Athena's statements and the local Athena (the same names, locations and columns). Must not import cdktf.
import { basename } from "node:path";
import type { EtlConfig } from "./config";
import { schemaPath } from "./config";
import { readSchemaFile, type SchemaFile } from "./schema-file";

export interface CatalogColumn {
  name: string;
  /** The catalog (Hive) type: every raw column is a string. */
  type: string;
  comment?: string;
}

export interface CatalogTable {
  name: string;
  /** Key prefix of the table's data in the data-lake bucket. */
  prefix: string;
  /** csv: RegexSerDe over the CSV text (csvLineRegex), header line skipped, columns by position; parquet: typed columns by name. */
  format: "csv" | "parquet";
  /** The table's properties (skip.header.line.count, ...). */
  parameters: Record<string, string>;
  /** How Athena reads the table's files (the stacks write it, the local Athena follows it). */
  serde: { library: string; parameters: Record<string, string> };
  columns: CatalogColumn[];
  description: string;
  /** What the table holds: a raw dataset's uploads or a job's output. */
  source: { dataset: string } | { job: string };
}

/** The raw table of a dataset. */
export const rawTableName = (dataset: string) => `raw_${dataset}`;

/** The table of a job's output, if the job has a catalogSchema. */
export function outputTableName(config: EtlConfig, jobId: string): string | undefined {
  const schema = config.jobs[jobId]?.catalogSchema;
  return schema === undefined ? undefined : basename(schema, ".json");
}

/** The schema file of a dataset (its raw columns, their source headers and types). */
export const datasetSchema = (config: EtlConfig, dataset: string): SchemaFile => readSchemaFile(schemaPath(config, config.datasets[dataset].schema));

/** A CSV field as the other engines' readers accept it: quoted (RFC 4180, a quote inside doubled), or unquoted and not starting with a quote. */
const CSV_FIELD = '("(?:[^"]|"")*"|[^,"][^,]*|)';

/**
 * The RegexSerDe pattern of a raw table with `columns` columns: one capture group per field, the line matched
 * whole. A line with an odd number of quotes (an unclosed quote: records never span lines), text after a closing
 * quote, or too many fields does not match, so every column is NULL; a line with one field only (too few fields,
 * or a blank line) matches the first group alone and leaves the others NULL. core/athena-query.ts reads those
 * NULLs as the other engines' drop rules: every field present is a record, a blank line is no record, any other
 * line is malformed (read and dropped).
 */
export function csvLineRegex(columns: number): string {
  const evenQuotes = '(?=(?:[^"]*"[^"]*")*[^"]*$)';
  return columns === 1 ? `^${evenQuotes}${CSV_FIELD}$` : `^${evenQuotes}${CSV_FIELD}(?:${Array(columns - 1).fill(`,${CSV_FIELD}`).join("")})?$`;
}

export const REGEX_SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe";
export const PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

export function catalogTables(config: EtlConfig): CatalogTable[] {
  const raw = Object.entries(config.datasets).map(([dataset, d]): CatalogTable => ({
    name: rawTableName(dataset),
    prefix: d.prefix,
    format: "csv",
    parameters: { EXTERNAL: "TRUE", classification: "csv", "skip.header.line.count": "1" },
    serde: { library: REGEX_SERDE, parameters: { "input.regex": csvLineRegex(datasetSchema(config, dataset).columns.length) } },
    // Every column is the field's text as written (quotes included); the dates are M/D/YYYY, which no Hive type parses.
    columns: datasetSchema(config, dataset).columns.map((c) => ({ name: c.name, type: "string", comment: `${c.source ?? c.name}: ${c.type}` })),
    description: `Raw ${dataset} CSV uploads. Every column is a string (dates are M/D/YYYY); the processed tables carry the types.`,
    source: { dataset },
  }));
  const outputs = Object.entries(config.jobs).flatMap(([jobId, job]): CatalogTable[] => {
    if (!job.catalogSchema) return [];
    const schema = readSchemaFile(schemaPath(config, job.catalogSchema));
    return [
      {
        name: outputTableName(config, jobId)!,
        prefix: job.output,
        format: "parquet",
        parameters: { EXTERNAL: "TRUE", classification: "parquet", "parquet.compression": "SNAPPY" },
        serde: { library: PARQUET_SERDE, parameters: {} },
        columns: schema.columns.map((c) => ({ name: c.name, type: c.type })),
        description: `Output of job ${jobId}${job.description ? `: ${job.description}` : ""}`,
        source: { job: jobId },
      },
    ];
  });
  return [...raw, ...outputs];
}
