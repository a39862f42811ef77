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
  /** csv: OpenCSVSerde, header line skipped, columns by position; parquet: typed columns by name. */
  format: "csv" | "parquet";
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

export function catalogTables(config: EtlConfig): CatalogTable[] {
  const raw = Object.entries(config.datasets).map(([dataset, d]): CatalogTable => ({
    name: rawTableName(dataset),
    prefix: d.prefix,
    format: "csv",
    // OpenCSVSerde reads every column as a string; the dates are M/D/YYYY, which no Hive type parses.
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
        columns: schema.columns.map((c) => ({ name: c.name, type: c.type })),
        description: `Output of job ${jobId}${job.description ? `: ${job.description}` : ""}`,
        source: { job: jobId },
      },
    ];
  });
  return [...raw, ...outputs];
}
