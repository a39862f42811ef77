// Sample data for any configured dataset, so a new dataset runs with `npm start` and no file. A dataset whose
// schema the realistic generators of the shipped example cover (local/sample-data.ts: the QuickSight sales and
// marketing shapes) gets theirs; any other gets rows derived from its schema file: the headers in their exact
// spelling, M/D/YYYY dates (the contract's date format, as both engines parse it), and plausible values of each
// type. Deterministic: a seed and the dataset's name give the same bytes.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { schemaPath, type EtlConfig } from "../core/config";
import { readSchemaFile, type SchemaFile } from "../core/schema-file";
import { csvField, missingColumns } from "./csv";
import {
  DEFAULT_SALES_ROWS,
  DEFAULT_SEED,
  MARKETING_FILE,
  MARKETING_HEADER,
  marketingChunks,
  SALES_FILE,
  SALES_HEADER,
  salesChunks,
  seededRandom,
  writeChunks,
} from "./sample-data";

export interface SampleOptions {
  /** Default: DEFAULT_SEED. */
  seed?: number;
  /** Rows of the sales generator. Default: DEFAULT_SALES_ROWS. */
  salesRows?: number;
  /** Days covered by a schema-derived dataset (from 2013-01-01). Default: 1,461 (2013-2016, as the marketing sample). */
  days?: number;
}

/** The shipped example's realistic generators, by the header they write. */
const REALISTIC = [
  { generator: "sales", header: SALES_HEADER, file: SALES_FILE, chunks: (o: SampleOptions) => salesChunks(o.salesRows ?? DEFAULT_SALES_ROWS, o.seed ?? DEFAULT_SEED) },
  { generator: "marketing", header: MARKETING_HEADER, file: MARKETING_FILE, chunks: (o: SampleOptions) => marketingChunks(o.seed ?? DEFAULT_SEED) },
] as const;

export type SampleGenerator = (typeof REALISTIC)[number]["generator"] | "schema";

/** Which generator a schema gets: a realistic one whose header holds every column of the schema, else "schema". */
export function sampleGeneratorFor(schema: SchemaFile): SampleGenerator {
  const found = REALISTIC.find((r) => missingColumns(r.header.split(","), schema.columns).length === 0);
  return found?.generator ?? "schema";
}

const FIRST_DAY = Date.UTC(2013, 0, 1);
const DEFAULT_DAYS = 1461;
const DAY_MS = 86_400_000;
const CHUNK_CHARS = 1 << 16;

/** FNV-1a of a string: mixes the dataset's name into the seed, so two datasets do not get the same numbers. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const mdy = (epochMs: number) => {
  const d = new Date(epochMs);
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
};

/**
 * CSV rows derived from a schema, as text chunks (header first): day by day from 2013-01-01, one row per day,
 * or one to three when the schema has a text column (a category such as a page). The first date column is the
 * row's day, later ones fall up to 90 days after it; integers and decimals grow over the period around a
 * per-column magnitude; text columns draw from a few values named after the column ("Page 3"); booleans are
 * TRUE/FALSE.
 */
export function* schemaChunks(schema: SchemaFile, options: SampleOptions & { name?: string } = {}): Generator<string> {
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isSafeInteger(days) || days < 0) throw new Error(`days: expected a non-negative integer, got ${days}`);
  const random = seededRandom((options.seed ?? DEFAULT_SEED) ^ hash(options.name ?? ""));
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const firstDate = schema.columns.findIndex((c) => c.type === "date");
  const columns = schema.columns.map((c, index) => {
    const label = (c.source ?? c.name).trim();
    switch (c.type) {
      case "date":
        return (day: number) => mdy(FIRST_DAY + (day + (index === firstDate ? 0 : between(0, 90))) * DAY_MS);
      case "bigint": {
        const magnitude = between(10, 5000);
        return (day: number) => String(Math.round(magnitude * (1 + day / Math.max(days, 1)) * (0.5 + random())));
      }
      case "double": {
        const magnitude = between(1, 1000);
        return (day: number) => (magnitude * (1 + day / Math.max(days, 1)) * (0.5 + random())).toFixed(2);
      }
      case "boolean": {
        const truth = 0.2 + random() * 0.6;
        return () => (random() < truth ? "TRUE" : "FALSE");
      }
      case "string": {
        const values = Array.from({ length: between(3, 12) }, (_, i) => csvField(`${label} ${i + 1}`));
        return () => values[between(0, values.length - 1)];
      }
    }
  });
  const categorised = schema.columns.some((c) => c.type === "string");
  let chunk = schema.columns.map((c) => csvField(c.source ?? c.name)).join(",") + "\n";
  for (let day = 0; day < days; day++) {
    const rows = categorised ? between(1, 3) : 1;
    for (let r = 0; r < rows; r++) chunk += columns.map((value) => value(day)).join(",") + "\n";
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

/**
 * Writes a sample CSV for each of `datasets` (default: every configured one) under `dir/<dataset>/` and returns
 * their paths by dataset: the shipped example's realistic data where a realistic generator covers the schema,
 * else rows derived from the schema (`<dataset>.csv`).
 */
export async function writeDatasetSamples(
  config: EtlConfig,
  dir: string,
  datasets: readonly string[] = Object.keys(config.datasets),
  options: SampleOptions = {},
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const dataset of datasets) {
    const settings = config.datasets[dataset];
    if (!settings) throw new Error(`unknown dataset '${dataset}'; known: ${Object.keys(config.datasets).join(", ")}`);
    const schema = readSchemaFile(schemaPath(config, settings.schema));
    const generator = sampleGeneratorFor(schema);
    const realistic = REALISTIC.find((r) => r.generator === generator);
    const folder = join(dir, dataset);
    await mkdir(folder, { recursive: true });
    const file = join(folder, realistic?.file ?? `${dataset}.csv`);
    await writeChunks(file, realistic ? realistic.chunks(options) : schemaChunks(schema, { ...options, name: dataset }));
    files[dataset] = file;
  }
  return files;
}
