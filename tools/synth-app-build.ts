// Builds the synth app that cdktf.json runs (tools/synth-app.cjs): main.ts and everything it imports, cdktf and the
// provider classes included, as one CommonJS file, so a synth neither starts tsx nor resolves and parses ~500
// modules. The build is cached (core/build-cache.ts) beside its record of the files it read (core/build-inputs.ts),
// with that check compiled on its own for the launcher.
import { readFileSync, rmSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { build, type BuildOptions, type Loader, type Plugin } from "esbuild";
import { CACHE_DIR, cacheEnabled, writeCache } from "../core/build-cache";
import { recordInputs, sha256, startBuild, type BuildInputs } from "../core/build-inputs";
import { PROJECT_ROOT } from "../core/config";

/** The record of a cached build, `synth-app/<hash of the project folder>.json` in the build cache. */
export interface SynthAppRecord extends BuildInputs {
  /** The app and the compiled core/build-inputs.ts, by file name in the same folder. */
  main: string;
  check: string;
}

export const SYNTH_APP_DIR = join(CACHE_DIR, "synth-app");

/**
 * Packages left out of the file: esbuild and DuckDB have native binaries, and asl-validator (with ajv) is
 * loaded only when a definition is not in the build cache; all three are required from node_modules when used.
 */
export const SYNTH_APP_EXTERNAL = ["esbuild", "@duckdb/node-api", "asl-validator"];

export function synthAppOptions(): BuildOptions {
  return {
    entryPoints: { main: join(PROJECT_ROOT, "main.ts"), check: join(PROJECT_ROOT, "core/build-inputs.ts") },
    outdir: SYNTH_APP_DIR, // never written by esbuild: writeCache does it
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: SYNTH_APP_EXTERNAL,
    // import() of an external becomes require(): the app runs as a vm.Script (for V8's code cache), which has no
    // loader for import().
    supported: { "dynamic-import": false },
    plugins: [ownLocation],
    logLevel: "silent",
    absWorkingDir: PROJECT_ROOT,
  };
}

/**
 * The app runs from the cache folder, but a file that reads its own location must still get it: core/config.ts's
 * PROJECT_ROOT (resolve(__dirname, "..")), cdktf's zip helper that runs `node ${__filename}`. Such a file gets
 * `__dirname` and `__filename` declared as its own path, after its directive prologue ("use strict" stays one).
 */
export const ownLocation: Plugin = {
  name: "own-location",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, ({ path }) => {
      const source = readFileSync(path, "utf8");
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined; // esbuild reads it as usual
      const prologue = /^(?:#![^\n]*\n)?(?:\s*(["'])use strict\1;?)?/.exec(source)![0];
      const declared = `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};`;
      return { contents: `${prologue}${declared}${source.slice(prologue.length)}`, loader: LOADERS[extname(path)], resolveDir: dirname(path) };
    });
  },
};

const LOADERS: Record<string, Loader> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".js": "js", ".mjs": "js", ".cjs": "js" };

/** Besides the files esbuild reads: its options (this file) and the TypeScript settings it applies. */
const EXTRA_INPUTS = [join(PROJECT_ROOT, "tools/synth-app-build.ts"), join(PROJECT_ROOT, "tsconfig.json")];

export interface BuiltSynthApp {
  /** Where the app is cached (or would be, with ETL_BUILD_CACHE=off). */
  mainFile: string;
  code: string;
  /** Whether it is in the cache (not with ETL_BUILD_CACHE=off, nor when an input changed during the build). */
  cached: boolean;
}

/** Builds the app and, unless ETL_BUILD_CACHE=off, caches it under `recordName` in SYNTH_APP_DIR. */
export async function buildSynthApp(recordName: string): Promise<BuiltSynthApp> {
  const start = startBuild(PROJECT_ROOT); // before esbuild reads anything
  const result = await build(synthAppOptions());
  const inputs = [...Object.keys(result.metafile!.inputs).map((input) => join(PROJECT_ROOT, input)), ...EXTRA_INPUTS];
  const output = (entry: string) => {
    const file = result.outputFiles!.find((f) => f.path === join(SYNTH_APP_DIR, `${entry}.js`));
    if (!file) throw new Error(`esbuild wrote no ${entry}.js for the synth app`);
    // Named by content: a synth still running the previous build never sees the file change under it.
    return { name: `${entry}-${sha256(Buffer.from(file.contents)).slice(0, 16)}.js`, text: file.text };
  };
  const main = output("main");
  const mainFile = join(SYNTH_APP_DIR, main.name);
  if (!cacheEnabled()) return { mainFile, code: main.text, cached: false };
  const check = output("check");
  // An input changed during the build: the app runs as built, but is not cached (the next synth builds it again).
  const recorded = recordInputs(inputs, PROJECT_ROOT, start);
  if (!recorded) return { mainFile, code: main.text, cached: false };
  const previous = readRecord(recordName);
  writeCache(`synth-app/${main.name}`, main.text);
  writeCache(`synth-app/${check.name}`, check.text);
  const record: SynthAppRecord = { ...recorded, main: main.name, check: check.name };
  writeCache(`synth-app/${recordName}`, JSON.stringify(record));
  // The superseded build and its V8 code cache, best effort (a synth reading it rebuilds).
  for (const name of previous ? [previous.main, `${previous.main}.v8`, previous.check] : []) {
    try {
      if (name !== main.name && name !== check.name) rmSync(join(SYNTH_APP_DIR, name), { force: true });
    } catch {
      // a read-only cache folder: nothing was written either
    }
  }
  return { mainFile, code: main.text, cached: true };
}

function readRecord(recordName: string): SynthAppRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(SYNTH_APP_DIR, recordName), "utf8")) as SynthAppRecord;
  } catch {
    return undefined;
  }
}
