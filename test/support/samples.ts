// Sample CSV text of a configured dataset, as `npm start` generates it (local/dataset-samples.ts): the shipped
// example's realistic generators where they cover the dataset's schema, else rows derived from the schema.
import { datasetSchema } from "../../core/catalog";
import { loadConfig, type EtlConfig } from "../../core/config";
import { snakeCase } from "../../core/csv-header";
import { sampleGeneratorFor, schemaChunks, type SampleOptions } from "../../local/dataset-samples";
import { DEFAULT_SALES_ROWS, DEFAULT_SEED, marketingChunks, SALES_HEADER, salesChunks } from "../../local/sample-data";
import type { FieldKind } from "../../local/strict-lines";

export { datasetSchema };

export function sampleCsv(config: EtlConfig, dataset: string, options: SampleOptions = {}): string {
  const schema = datasetSchema(config, dataset);
  const seed = options.seed ?? DEFAULT_SEED;
  const generator = sampleGeneratorFor(schema);
  const chunks =
    generator === "sales" ? salesChunks(options.salesRows ?? DEFAULT_SALES_ROWS, seed) : generator === "marketing" ? marketingChunks(seed) : schemaChunks(schema, { ...options, name: dataset });
  return [...chunks].join("");
}

/**
 * The strict line check's kinds for salesChunks' header: each header column's type in the schema of the active
 * configuration's dataset that the sales generator serves ("string" for a column it does not read), as the engine
 * places them.
 */
export function salesKinds(config: EtlConfig = loadConfig()): FieldKind[] {
  const dataset = Object.keys(config.datasets).find((d) => sampleGeneratorFor(datasetSchema(config, d)) === "sales");
  if (dataset === undefined) throw new Error("salesKinds: no dataset of the active configuration gets the sales sample generator");
  const types = new Map(datasetSchema(config, dataset).columns.flatMap((c) => (c.source !== undefined ? [[snakeCase(c.source), c.type] as const] : [])));
  return SALES_HEADER.split(",").map((title) => types.get(snakeCase(title)) ?? "string");
}
