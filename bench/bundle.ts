// Builds a Lambda bundle with the options of stacks/constructs/nodejs-function.ts (its bundle() is not
// exported; keep these in step with it).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { buildSync } from "esbuild";
import { PROJECT_ROOT } from "../stacks/config";

export const LAMBDA_ENTRIES = ["glue-runner", "data-arrival"] as const;

/** Writes `<outDir>/index.js` (+ .map) for functions/<entry>/handler.ts and returns the index.js path. */
export function buildLambdaBundle(entry: string, outDir: string): string {
  const { outputFiles } = buildSync({
    entryPoints: [join(PROJECT_ROOT, "functions", entry, "handler.ts")],
    outfile: join(PROJECT_ROOT, ".bundle", entry, "index.js"),
    bundle: true,
    write: false,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    mainFields: ["module", "main"],
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "silent",
    absWorkingDir: PROJECT_ROOT,
  });
  mkdirSync(outDir, { recursive: true });
  for (const file of outputFiles) writeFileSync(join(outDir, basename(file.path)), file.contents);
  return join(outDir, "index.js");
}
