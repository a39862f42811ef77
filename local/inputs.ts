// Checks the CSV inputs a local run will upload before anything starts, so a bad path or header is exit 2, not a failed job.
import { schemaPath, type EtlConfig } from "../core/config";
import { readSchemaFile } from "../core/schema-file";
import { dataFiles, duplicateColumnError, missingColumns, readCsvHeader } from "./csv";

export class InputError extends Error {
  override name = "InputError";
}

/**
 * Each dataset's path must be a file or a folder of parts (csv.ts dataFiles; *.gz files are decompressed), and
 * every file's header must hold each column of the dataset's schema exactly once (matched as the engines match
 * them: snake_case, so 'Mailing list adds ' counts). Returns each dataset's files. Stops between files once
 * `signal` is aborted.
 */
export async function checkCsvHeaders(config: EtlConfig, inputs: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const [dataset, path] of Object.entries(inputs)) {
    const files = await dataFiles(path).catch((e: Error) => {
      throw new InputError(`${e.message} (the ${dataset} dataset)`);
    });
    const columns = readSchemaFile(schemaPath(config, config.datasets[dataset].schema)).columns;
    for (const file of files) {
      if (signal?.aborted) throw new Error("interrupted while checking the inputs");
      let header: string[];
      try {
        header = await readCsvHeader(file);
      } catch (e) {
        throw new InputError(`${(e as Error).message} (the ${dataset} dataset)`);
      }
      const duplicate = duplicateColumnError(header, columns, dataset, file);
      if (duplicate) throw new InputError(duplicate);
      const missing = missingColumns(header, columns);
      if (missing.length)
        throw new InputError(`${file}: malformed CSV header for the ${dataset} dataset: missing column(s) ${missing.map((c) => JSON.stringify(c)).join(", ")} (header: ${JSON.stringify(header)})`);
    }
    found[dataset] = files;
  }
  return found;
}
