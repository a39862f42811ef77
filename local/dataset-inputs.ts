// `npm start`'s dataset options for any configured dataset: `--input NAME=FILE` and `--delay NAME=MS` (repeatable),
// with `--sales`, `--marketing`, `--delay-sales` and `--delay-marketing` kept as shorthands, and the help lines
// that list the datasets of the active configuration. Errors name the flag and the value.
import { resolve } from "node:path";
import { schemaPath, type EtlConfig } from "../core/config";
import { readSchemaFile } from "../core/schema-file";
import { sampleGeneratorFor } from "./dataset-samples";

/** Node's timers take at most 2^31-1 ms; a larger delay would fire after 1 ms. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Shorthand flag -> the dataset it stands for (kept from the two-dataset example's CLI). */
export const INPUT_SHORTHANDS = { sales: "sales", marketing: "marketing" } as const;
export const DELAY_SHORTHANDS = { "delay-sales": "sales", "delay-marketing": "marketing" } as const;

/**
 * The options these flags take, to merge into the CLI's: node:util parseArgs fields (type, multiple), plus the
 * value placeholder and description its usage text shows.
 */
export const DATASET_OPTIONS = {
  input: { type: "string", multiple: true, value: "NAME=FILE", description: "CSV of dataset NAME (the headers of its schema file): a file (*.gz too) or a folder\nof parts; may be repeated. Default: generated sample data" },
  delay: { type: "string", multiple: true, value: "NAME=MS", description: "wait MS milliseconds before uploading dataset NAME; may be repeated" },
  sales: { type: "string", value: "FILE", description: "shorthand for --input sales=FILE" },
  marketing: { type: "string", value: "FILE", description: "shorthand for --input marketing=FILE" },
  "delay-sales": { type: "string", value: "MS", description: "shorthand for --delay sales=MS" },
  "delay-marketing": { type: "string", value: "MS", description: "shorthand for --delay marketing=MS" },
} as const;

/** The parsed values of DATASET_OPTIONS (the other flags of the CLI may be there too). */
export type DatasetFlagValues = Partial<Record<"input" | "delay", string[]> & Record<keyof typeof INPUT_SHORTHANDS | keyof typeof DELAY_SHORTHANDS, string>>;

export interface DatasetArguments {
  /** Dataset -> absolute path of its file. */
  inputs: Record<string, string>;
  /** Dataset -> milliseconds to wait before uploading it. */
  uploadDelaysMs: Record<string, number>;
}

export class DatasetArgumentError extends Error {
  override name = "DatasetArgumentError";
}

const USAGE_LINES = {
  input: "expected NAME=FILE (a configured dataset and its CSV file)",
  delay: "expected NAME=MS (a configured dataset and a whole number of milliseconds)",
};

/**
 * Maps the dataset flags to inputs and upload delays by dataset, checked against the configuration: each NAME a
 * configured dataset, each dataset given once (a shorthand counts as `--input`/`--delay` for its dataset), FILE
 * not empty (resolved against the working folder; its content is checked before the run), MS a whole number of at
 * most MAX_DELAY_MS. Throws DatasetArgumentError naming the flag, the value and the configured datasets.
 */
export function datasetArguments(config: EtlConfig, values: DatasetFlagValues): DatasetArguments {
  const datasets = Object.keys(config.datasets);
  const configured = `configured datasets: ${datasets.join(", ")}`;
  const inputs: Record<string, string> = {};
  const uploadDelaysMs: Record<string, number> = {};
  const givenBy: Record<"input" | "delay", Record<string, string>> = { input: {}, delay: {} };

  const take = (kind: "input" | "delay", flag: string, dataset: string, value: string) => {
    if (!datasets.includes(dataset)) {
      const why = flag.startsWith(`--${kind} `) ? `unknown dataset '${dataset}'` : `the configuration has no dataset '${dataset}' (use --${kind} NAME=${kind === "input" ? "FILE" : "MS"})`;
      throw new DatasetArgumentError(`${flag}: ${why}; ${configured}`);
    }
    const earlier = givenBy[kind][dataset];
    if (earlier !== undefined) throw new DatasetArgumentError(`${flag}: the ${dataset} dataset is already given by ${earlier}`);
    givenBy[kind][dataset] = flag;
    if (kind === "input") {
      if (value === "") throw new DatasetArgumentError(`${flag}: the file name is empty`);
      inputs[dataset] = resolve(value);
    } else uploadDelaysMs[dataset] = milliseconds(flag, value);
  };

  for (const [flag, dataset] of Object.entries(INPUT_SHORTHANDS)) {
    const value = values[flag as keyof typeof INPUT_SHORTHANDS];
    if (value !== undefined) take("input", `--${flag}`, dataset, value);
  }
  for (const [flag, dataset] of Object.entries(DELAY_SHORTHANDS)) {
    const value = values[flag as keyof typeof DELAY_SHORTHANDS];
    if (value !== undefined) take("delay", `--${flag}`, dataset, value);
  }
  for (const kind of ["input", "delay"] as const) {
    for (const pair of values[kind] ?? []) {
      const equals = pair.indexOf("=");
      const flag = `--${kind} ${pair}`;
      if (equals <= 0) throw new DatasetArgumentError(`--${kind} ${JSON.stringify(pair)}: ${USAGE_LINES[kind]}; ${configured}`);
      take(kind, flag, pair.slice(0, equals), pair.slice(equals + 1));
    }
  }
  return { inputs, uploadDelaysMs };
}

function milliseconds(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new DatasetArgumentError(`${flag}: expected a whole number of milliseconds, got ${JSON.stringify(value)}`);
  if (Number(value) > MAX_DELAY_MS) throw new DatasetArgumentError(`${flag}: at most ${MAX_DELAY_MS} milliseconds (about 24.8 days), got ${value}`);
  return Number(value);
}

/** The help's list of the active configuration's datasets: name, upload prefix, schema, and the sample data it gets. */
export function datasetHelp(config: EtlConfig, source = "the active configuration", namesFor = "--input and --delay"): string {
  const datasets = Object.entries(config.datasets);
  const width = Math.max(...datasets.map(([name]) => name.length));
  const lines = datasets.map(([name, d]) => {
    let sample: string;
    try {
      const generator = sampleGeneratorFor(readSchemaFile(schemaPath(config, d.schema)));
      sample = generator === "schema" ? "generated from its schema" : `generated in the QuickSight ${generator} sample's shape`;
    } catch (e) {
      sample = `schema unreadable: ${(e as Error).message.split("\n")[0]}`;
    }
    return `  ${name.padEnd(width)}  upload prefix ${d.prefix}, schema ${d.schema}; default data ${sample}`;
  });
  return `Datasets of ${source} (NAME for ${namesFor}):\n${lines.join("\n")}`;
}
