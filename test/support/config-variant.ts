// A variant of the active configuration for one test, e.g. with a job on a given engine whatever the configuration has.
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_CONFIG_FILE, loadConfig, type EtlConfig } from "../../core/config";

/**
 * Writes the active configuration (ETL_CONFIG, default etl.config.json) changed by `change` to `dir/etl.config.json`,
 * its files still read from where the active one reads them; for a test that needs, say, a job on a given engine
 * whatever the configuration has. Returns the file (for ETL_CONFIG) and the loaded configuration.
 */
export function configVariant(dir: string, change: (raw: any) => void): { file: string; config: EtlConfig } {
  const active = resolve(process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE);
  const loaded = loadConfig(active);
  const raw = JSON.parse(readFileSync(active, "utf8"));
  delete raw.$schema;
  raw.scriptsDir = resolve(dirname(active), loaded.scriptsDir);
  // The definition must be asl/<name>.asl.json next to the configuration: the active one's asl/ folder, linked.
  symlinkSync(resolve(dirname(active), dirname(loaded.stateMachine.definition)), join(dir, dirname(loaded.stateMachine.definition)), "dir");
  for (const f of Object.values<any>(raw.lambdaFunctions ?? {})) f.localHandler = resolve(dirname(active), f.localHandler);
  change(raw);
  const file = join(dir, "etl.config.json");
  writeFileSync(file, JSON.stringify(raw, null, 2));
  return { file, config: loadConfig(file) };
}
