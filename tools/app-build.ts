// Builds an app that tools/launch.cjs runs: one entry point (main.ts for `cdktf synth`, local/cli.ts for `npm start`,
// each npm script's file) and everything it imports, packages included, as one CommonJS file, so a command neither
// starts tsx nor resolves and parses hundreds of modules. An app that can load handlers (the local runtime, through
// core/launched.ts) also gets each Lambda handler as an entry point of its own, loaded afresh per cold start. The build is
// cached (core/build-cache.ts) beside its record of the files it read (core/build-inputs.ts), with that check compiled
// on its own for the launcher, and a source map per file for the launcher's stack traces.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { build, type BuildOptions, type BuildResult, type Loader, type Plugin } from "esbuild";
import { cacheEnabled, writeCache } from "../core/build-cache";
import { recordInputs, sha256, startBuild, typescriptSettingsOf } from "../core/build-inputs";
import { PROJECT_ROOT } from "../core/config";
import { FUNCTIONS } from "../core/topology";
import { APP_DIR, appFiles, readRecord, removeOldSynthApp, removeUnnamedAppFiles, type AppRecord } from "./app-records";


/**
 * Packages left out of the file, required from node_modules when used: esbuild and DuckDB have native binaries;
 * asl-validator (with ajv) is loaded only when a definition is not in the build cache; dynalite requires its
 * actions by a computed name without extension, which esbuild's glob requires do not match; the HCL tools load
 * WebAssembly beside them and require a `performance` package that does not exist.
 */
export const APP_EXTERNAL = ["esbuild", "@duckdb/node-api", "asl-validator", "dynalite", "@cdktf/hcl-tools", "@cdktf/hcl2json"];

/** What the local runtime loads by path, once per cold start: each function's handler (local/runtime.ts coldStart). */
export const HANDLER_ENTRIES = Object.values(FUNCTIONS).map((spec) => `functions/${spec.entry}/handler.ts`);

/** How an app loads them (local/runtime.ts does): an app that bundles it gets them as entry points too. */
const LOADS_ENTRIES = "core/launched.ts";

export function appOptions(entryPoints: Record<string, string>): BuildOptions {
  return {
    entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, file]) => [name, join(PROJECT_ROOT, file)])),
    outdir: APP_DIR, // never written by esbuild: writeCache does it
    bundle: true,
    write: false,
    metafile: true,
    // Read by the launcher only when a stack trace is printed (its sources stay on disk, so the map stays small).
    sourcemap: "external",
    sourcesContent: false,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: APP_EXTERNAL,
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
 * Likewise `require.main` (an entry point's "run as a script", `require.main === module`) is the entry point's own
 * module in the build's entry points, as when node runs the file, and the launcher's in every other file: esbuild
 * replaces it (define, so in code only, never in a string or comment) by a variable the bundle's first line sets to
 * the launcher's and an entry point's own declaration to its module.
 */
export const ownLocation: Plugin = {
  name: "own-location",
  setup(build) {
    const options = build.initialOptions;
    const entries = entryFiles(options);
    options.define = { ...options.define, "require.main": REQUIRE_MAIN };
    options.banner = { ...options.banner, js: [`var ${REQUIRE_MAIN} = require.main;`, options.banner?.js].filter(Boolean).join("\n") };
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, ({ path }) => {
      const source = readFileSync(path, "utf8");
      const located = /\b__(dirname|filename)\b/.test(source);
      const runsAsScript = entries.has(path) && source.includes("require.main");
      if (!located && !runsAsScript) return undefined; // esbuild reads it as usual
      const prologue = /^(?:#![^\n]*\n)?(?:\s*(["'])use strict\1;?)?/.exec(source)![0];
      const declared = [
        located ? `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};` : "",
        runsAsScript ? `var ${REQUIRE_MAIN} = module;` : "",
      ].join("");
      return { contents: `${prologue}${declared}${source.slice(prologue.length)}`, loader: LOADERS[extname(path)], resolveDir: dirname(path) };
    });
  },
};

/** What `require.main` becomes in the app (named so that no bundled file has a variable of that name). */
const REQUIRE_MAIN = "__etlOrchestratorRequireMain";

/** The absolute paths of a build's entry points, whichever form its options give them in. */
function entryFiles(options: BuildOptions): Set<string> {
  const points = options.entryPoints ?? [];
  const files = Array.isArray(points) ? points.map((p) => (typeof p === "string" ? p : p.in)) : Object.values(points);
  // esbuild names a file by its real path (a project copy may be reached through a link).
  return new Set(
    files.flatMap((file) => {
      const path = resolve(options.absWorkingDir ?? process.cwd(), file);
      return existsSync(path) ? [path, realpathSync(path)] : [path];
    }),
  );
}

const LOADERS: Record<string, Loader> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".js": "js", ".mjs": "js", ".cjs": "js" };

/** Besides the files esbuild reads: its options (this file) and the TypeScript settings it applies. */
const EXTRA_INPUTS = [join(PROJECT_ROOT, "tools/app-build.ts"), ...typescriptSettingsOf(PROJECT_ROOT)];

/** One built file, in memory: where it is (or would be) cached, its code and its source map. */
export interface BuiltFile {
  file: string;
  code: string;
  map: string;
}

export interface BuiltApp {
  main: BuiltFile;
  entries: Record<string, BuiltFile>;
  /** Whether it is in the cache (not with ETL_BUILD_CACHE=off, nor when an input changed during the build). */
  cached: boolean;
}

/** Builds the app of `entry` (project-relative) and, unless ETL_BUILD_CACHE=off, caches it under `recordName` in APP_DIR. */
export async function buildApp(entry: string, recordName: string): Promise<BuiltApp> {
  const start = cacheEnabled() ? startBuild(PROJECT_ROOT) : undefined; // before esbuild reads anything
  const results = [await build(appOptions({ main: entry, check: "core/build-inputs.ts" }))];
  const runsHandlers = LOADS_ENTRIES in results[0].metafile!.inputs;
  if (runsHandlers) results.push(await build(appOptions(Object.fromEntries(HANDLER_ENTRIES.map((file) => [entryName(file), file])))));
  const inputs = [...new Set(results.flatMap((r) => Object.keys(r.metafile!.inputs)))].map((input) => join(PROJECT_ROOT, input));
  const main = output(results[0], "main");
  const entries = Object.fromEntries((runsHandlers ? HANDLER_ENTRIES : []).map((file) => [file, output(results[1], entryName(file))]));
  const built = (cached: boolean): BuiltApp => ({ main, entries, cached });
  if (!start) return built(false);
  // An input changed during the build: the app runs as built, but is not cached (the next launch builds it again).
  const recorded = recordInputs([...inputs, ...EXTRA_INPUTS], PROJECT_ROOT, start);
  if (!recorded) return built(false);
  const check = output(results[0], "check");
  const previous = readRecord(join(APP_DIR, recordName));
  const written = [main, check, ...Object.values(entries)];
  // Content-named, written before the record that names them: a launch reading the previous record still finds its
  // files, and two launches building at once write the same bytes under the same names.
  for (const f of written) {
    writeCache(`apps/${name(f)}`, f.code);
    writeCache(`apps/${name(f)}.map`, f.map);
  }
  const record: AppRecord = { ...recorded, entry, main: name(main), check: name(check), entries: Object.fromEntries(Object.entries(entries).map(([file, f]) => [file, name(f)])) };
  writeCache(`apps/${recordName}`, JSON.stringify(record));
  if (previous) removeUnnamedAppFiles(appFiles(previous));
  removeOldSynthApp();
  return built(true);
}

const entryName = (file: string) => `handler-${file.split("/")[1]}`;
const name = (f: BuiltFile) => f.file.slice(APP_DIR.length + 1);

function output(result: BuildResult, entry: string): BuiltFile {
  const find = (ext: string) => {
    const file = result.outputFiles!.find((f) => f.path === join(APP_DIR, `${entry}${ext}`));
    if (!file) throw new Error(`esbuild wrote no ${entry}${ext} for the app`);
    return file;
  };
  const js = find(".js");
  // Named by content: a launch still running the previous build never sees the file change under it.
  const file = join(APP_DIR, `${entry}-${sha256(Buffer.from(js.contents)).slice(0, 16)}.js`);
  // The bundle's own comment names esbuild's file name: the launcher finds the map beside the file instead.
  const code = js.text.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, "\n");
  return { file, code, map: find(".js.map").text };
}
