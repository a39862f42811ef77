// Builds one Lambda bundle exactly as the stacks do (stacks/bundle.ts), to measure it.
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { buildSync } from "esbuild";
import { bundleOptions, DEFAULT_FUNCTIONS_DIR } from "../stacks/bundle";

export const LAMBDA_ENTRIES = ["etl-runner", "data-arrival"] as const;

/** Writes `<outDir>/index.js` (+ .map) for functions/<entry>/handler.ts and returns the index.js path. */
export function buildLambdaBundle(entry: string, outDir: string): string {
  const { outputFiles } = buildSync({
    ...bundleOptions(DEFAULT_FUNCTIONS_DIR),
    entryPoints: { [`${entry}/index`]: join(DEFAULT_FUNCTIONS_DIR, entry, "handler.ts") },
  });
  mkdirSync(outDir, { recursive: true });
  for (const file of outputFiles!) writeFileSync(join(outDir, basename(file.path)), file.contents);
  return join(outDir, "index.js");
}
