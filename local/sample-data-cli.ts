// `npm run sample-data -- --out DIR [--dataset NAME]... [--sales-rows N] [--days N] [--seed N]`: writes generated
// sample data for every dataset of the active configuration (ETL_CONFIG, ETL_ENV), or for the ones named, as
// `DIR/<dataset>/<file>.csv`: the shipped example's realistic generators where they cover the dataset's schema, rows
// derived from its schema file otherwise (local/dataset-samples.ts). --help lists the datasets.
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { defineCommand, integerOption, usageErrorLine, UsageError, type CommandIo } from "../core/cli-args";
import { ConfigError, loadConfig, schemaPath, type EtlConfig } from "../core/config";
import { readSchemaFile } from "../core/schema-file";
import { datasetHelp } from "./dataset-inputs";
import { sampleGeneratorFor, writeDatasetSamples } from "./dataset-samples";
import { DEFAULT_SALES_ROWS, DEFAULT_SEED } from "./sample-data";

const DEFAULT_DAYS = 1461;

export const SAMPLE_DATA_COMMAND = defineCommand({
  command: "npm run sample-data --",
  summary: `Writes generated sample data for every dataset of the active configuration (or those named with --dataset)
as DIR/<dataset>/<file>.csv, ready for npm start -- --input NAME=FILE. A dataset in the shape of the
QuickSight sales or marketing sample gets that realistic generator; any other gets rows derived from its
schema file (its headers, M/D/YYYY dates, plausible values of each type).`,
  options: {
    out: { type: "string", value: "DIR", required: true, description: "folder the CSV files are written to (one subfolder per dataset)" },
    dataset: { type: "string", value: "NAME", multiple: true, description: "write only this dataset. Default: every configured dataset" },
    "sales-rows": { type: "string", value: "N", description: `rows of the sales-shaped generator. Default: ${DEFAULT_SALES_ROWS}` },
    days: { type: "string", value: "N", description: `days covered by a schema-derived dataset (from 1/1/2013). Default: ${DEFAULT_DAYS}` },
    seed: { type: "string", value: "N", description: `seed of the generators (same seed, same files). Default: ${DEFAULT_SEED}` },
  },
  epilogue: "Environment: ETL_CONFIG (configuration file), ETL_ENV (environment).",
});

export interface SampleDataArguments {
  out: string;
  datasets: string[];
  salesRows: number;
  days: number;
  seed: number;
}

/** Parses argv against the configuration's datasets ("help" for --help); a UsageError names the flag or value. */
export function parseSampleDataArgs(argv: readonly string[], config: EtlConfig): SampleDataArguments | "help" {
  const values = SAMPLE_DATA_COMMAND.parse(argv);
  if (values === "help") return "help";
  const known = Object.keys(config.datasets);
  const unknown = (values.dataset ?? []).filter((d) => !known.includes(d));
  if (unknown.length) throw new UsageError(`--dataset: unknown dataset ${unknown.join(", ")}; known: ${known.join(", ")}`);
  return {
    out: resolve(values.out),
    datasets: values.dataset?.length ? [...new Set(values.dataset)] : known,
    salesRows: integerOption("sales-rows", values["sales-rows"]) ?? DEFAULT_SALES_ROWS,
    days: integerOption("days", values.days) ?? DEFAULT_DAYS,
    seed: integerOption("seed", values.seed) ?? DEFAULT_SEED,
  };
}

/** The usage text and the datasets of `config` (what --help prints). */
export function sampleDataHelp(config: EtlConfig, source: string): string {
  return `${SAMPLE_DATA_COMMAND.usage}\n\n${datasetHelp(config, source, "--dataset")}`;
}

/** Data rows of a CSV file (its lines after the header), counted as a stream. */
async function dataRows(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
  return Math.max(lines - 1, 0);
}

/** Runs the command: 0 written (or help), 2 bad usage or configuration. */
export async function runSampleData(argv: readonly string[], io: CommandIo = { out: (t) => console.log(t), err: (t) => console.error(t) }): Promise<number> {
  let config: EtlConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`error: ${e.message}`);
    return 2;
  }
  let args: SampleDataArguments | "help";
  try {
    args = parseSampleDataArgs(argv, config);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(usageErrorLine(SAMPLE_DATA_COMMAND.spec.command, e));
    return 2;
  }
  if (args === "help") {
    io.out(sampleDataHelp(config, process.env.ETL_CONFIG ?? "etl.config.json"));
    return 0;
  }
  const files = await writeDatasetSamples(config, args.out, args.datasets, { salesRows: args.salesRows, days: args.days, seed: args.seed });
  for (const [dataset, file] of Object.entries(files)) {
    const generator = sampleGeneratorFor(readSchemaFile(schemaPath(config, config.datasets[dataset].schema)));
    io.out(`${dataset}: ${file} (${await dataRows(file)} rows, ${generator === "schema" ? "derived from its schema" : `QuickSight ${generator} shape`})`);
  }
  return 0;
}

if (require.main === module) {
  runSampleData(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(`error: ${(e as Error)?.message ?? e}`);
      process.exitCode = 1;
    },
  );
}
