// Checks the CSV files a local run will upload before anything starts, so a bad path or header is exit 2, not a failed job.
import { stat } from "node:fs/promises";
import { schemaPath, type EtlConfig } from "../core/config";
import { readSchemaFile } from "../core/schema-file";
import { missingColumns, readCsvHeader } from "./csv";

export class InputError extends Error {
  override name = "InputError";
}

/**
 * Each dataset's file must exist and its header must hold every column of the dataset's schema
 * (matched as the engine matches them: snake_case, so 'Mailing list adds ' counts).
 */
export async function checkCsvHeaders(config: EtlConfig, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [dataset, file] of Object.entries(files)) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new InputError(`${file}: no such file (the ${dataset} dataset)`);
    let header: string[];
    try {
      header = await readCsvHeader(file);
    } catch (e) {
      throw new InputError(`${(e as Error).message} (the ${dataset} dataset)`);
    }
    const missing = missingColumns(header, readSchemaFile(schemaPath(config, config.datasets[dataset].schema)).columns);
    if (missing.length)
      throw new InputError(`${file}: malformed CSV header for the ${dataset} dataset: missing column(s) ${missing.map((c) => JSON.stringify(c)).join(", ")} (header: ${JSON.stringify(header)})`);
  }
}
