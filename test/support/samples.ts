// Sample CSV text of a configured dataset, as `npm start` generates it (local/dataset-samples.ts): the shipped
// example's realistic generators where they cover the dataset's schema, else rows derived from the schema.
import { datasetSchema } from "../../core/catalog";
import type { EtlConfig } from "../../core/config";
import { sampleGeneratorFor, schemaChunks, type SampleOptions } from "../../local/dataset-samples";
import { DEFAULT_SALES_ROWS, DEFAULT_SEED, marketingChunks, salesChunks } from "../../local/sample-data";

export { datasetSchema };

export function sampleCsv(config: EtlConfig, dataset: string, options: SampleOptions = {}): string {
  const schema = datasetSchema(config, dataset);
  const seed = options.seed ?? DEFAULT_SEED;
  const generator = sampleGeneratorFor(schema);
  const chunks =
    generator === "sales" ? salesChunks(options.salesRows ?? DEFAULT_SALES_ROWS, seed) : generator === "marketing" ? marketingChunks(seed) : schemaChunks(schema, { ...options, name: dataset });
  return [...chunks].join("");
}
