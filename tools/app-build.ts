// Builds an app that tools/launch.cjs runs: one entry point (main.ts for `cdktf synth`, local/cli.ts for `npm start`,
// each npm script's file) and everything it imports, packages included, as one CommonJS file, so a command neither
// starts tsx nor resolves and parses hundreds of modules. An app that can load handlers (the local runtime, through
// core/launched.ts) also gets each Lambda handler as an entry point of its own, loaded afresh per cold start. The build is
// cached (core/build-cache.ts) beside its record of the files it read (core/build-inputs.ts), with that check compiled
// on its own for the launcher, and a source map per file for the launcher's stack traces. The handlers' build is also
// recorded on its own, per project folder: an app rebuilt while none of their inputs changed (an edit of local/) reuses
// it, as does another app of the folder that loads them.
import { existsSync, openSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { build, type BuildOptions, type BuildResult, type Loader, type Plugin } from "esbuild";
import { cacheEnabled, readCache, writeCache } from "../core/build-cache";
import { CHANGE_TIME_SLACK_MS, inputsUnchanged, recordInputs, sha256, startBuild, typescriptSettingsOf } from "../core/build-inputs";
import { PROJECT_ROOT } from "../core/config";
import { FUNCTIONS } from "../core/topology";
import { APP_DIR, appFiles, handlersRecordName, readRecord, removeOldSynthApp, removeUnnamedAppFiles, type AppRecord, type HandlersRecord } from "./app-records";

/**
 * Packages left out of the file, required from node_modules when used (as node resolves them from the importing file:
 * externalFromImporter): esbuild and DuckDB have native binaries;
 * asl-validator (with ajv) is loaded only when a definition is not in the build cache; dynalite requires its
 * actions by a computed name without extension, which esbuild's glob requires do not match; the HCL tools load
 * WebAssembly beside them and require a `performance` package that does not exist.
 */
export const APP_EXTERNAL = ["esbuild", "@duckdb/node-api", "asl-validator", "dynalite", "@cdktf/hcl-tools", "@cdktf/hcl2json"];

/**
 * Each import of a package of APP_EXTERNAL (a subpath too) left as a require() of the file node loads for it from the
 * importing file's folder, by absolute path: left as `require("<name>")`, the app would resolve it from its own folder
 * (the cache folder, so the project's top-level node_modules), while a bundled package may depend on another version
 * nested in its own node_modules (aws-local-stepfunctions on asl-validator 3, the project on asl-validator 4): the
 * app would run another version than tsx and node do. Resolved as node's require does (the app requires it; import()
 * becomes require() too) from esbuild's resolveDir, a real path, as node's is for a package file. A package node cannot
 * resolve from there is left to esbuild's `external`, required by name at run time (it fails then, as under node).
 * The files resolved are inputs of the build's record (externalInputs).
 */
const externalFromImporter: Plugin = {
  name: "external-from-importer",
  setup(build) {
    const filter = new RegExp(`^(?:${APP_EXTERNAL.map(escapeRegExp).join("|")})(?:/|$)`);
    build.onResolve({ filter }, ({ path, resolveDir, kind }) => {
      if (kind === "entry-point" || !resolveDir) return undefined;
      try {
        return { path: createRequire(join(resolveDir, "<importer>")).resolve(path), external: true };
      } catch {
        return undefined;
      }
    });
  },
};

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
    plugins: [externalFromImporter], // before ownLocation (buildLocated adds it)
    // import() of an external becomes require(): the app runs as a vm.Script (for V8's code cache), which has no
    // loader for import().
    supported: { "dynamic-import": false },
    // ownLocation: buildLocated adds it.
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
 * This plugin looks at every .js/.ts file the build loads; ownLocationOf, at a given set only.
 */
export const ownLocation: Plugin = ownLocationOf(undefined);

/**
 * ownLocation for the entry points and the files of `only` (absolute paths; every .js/.ts file without it): esbuild
 * calls back for them alone (a call back per file costs node and esbuild a message and a read each, 0.3 s of CPU for
 * the 564 files of main.ts's app, where a handful need it). Each file it rewrites is added to `rewritten`.
 */
function ownLocationOf(only: ReadonlySet<string> | undefined, rewritten = new Set<string>()): Plugin {
  return {
    name: "own-location",
    setup(build) {
      const options = build.initialOptions;
      const entries = entryFiles(options);
      options.define = { ...options.define, "require.main": REQUIRE_MAIN };
      options.banner = { ...options.banner, js: [`var ${REQUIRE_MAIN} = require.main;`, options.banner?.js].filter(Boolean).join("\n") };
      const filter = only ? new RegExp(`^(?:${[...new Set([...entries, ...only])].map(escapeRegExp).join("|")})$`) : SOURCE_FILE;
      build.onLoad({ filter }, ({ path }) => {
        const source = readFileSync(path, "utf8");
        const { located, runsAsScript } = locationNeeds(path, source, entries);
        if (!located && !runsAsScript) return undefined; // esbuild reads it as usual
        rewritten.add(path);
        const prologue = /^(?:#![^\n]*\n)?(?:\s*(["'])use strict\1;?)?/.exec(source)![0];
        const declared = [
          located ? `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};` : "",
          runsAsScript ? `var ${REQUIRE_MAIN} = module;` : "",
        ].join("");
        return { contents: `${prologue}${declared}${source.slice(prologue.length)}`, loader: LOADERS[extname(path)], resolveDir: dirname(path) };
      });
    },
  };
}

const SOURCE_FILE = /\.[cm]?[jt]s$/;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What ownLocation declares in the file at `path` with `source`, in a build of `entries`. */
function locationNeeds(path: string, source: string, entries: ReadonlySet<string>) {
  return { located: /\b__(dirname|filename)\b/.test(source), runsAsScript: entries.has(path) && source.includes("require.main") };
}

/**
 * esbuild's build of `options` with ownLocation for the files of `learned` (those earlier builds found needing it)
 * only, checked after the build: each other .js/.ts file it read is read again and, if it needs ownLocation (a package
 * upgraded, a project file added or edited), or changed since the build started (what esbuild read is then unknown),
 * the build is made again with ownLocation for every file. So no file that needs it is ever built without it.
 * Without `learned` (none yet, or ETL_BUILD_CACHE=off) that build is the only one. Returns the files rewritten too.
 */
export async function buildLocated(options: BuildOptions, learned: ReadonlySet<string> | undefined): Promise<{ result: BuildResult; rewritten: Set<string> }> {
  if (learned) {
    const startedAt = Date.now();
    const rewritten = new Set<string>();
    const result = await build({ ...options, metafile: true, plugins: [...(options.plugins ?? []), ownLocationOf(learned, rewritten)] });
    const entries = entryFiles(options);
    const others = inputFiles(result, options).filter((file) => SOURCE_FILE.test(file) && !learned.has(file) && !entries.has(file));
    const missed = (file: string) => {
      try {
        const { located, runsAsScript } = locationNeeds(file, readFileSync(file, "utf8"), entries);
        return located || runsAsScript;
      } catch {
        return true; // gone: built again (and esbuild says why if it cannot)
      }
    };
    // Read before the change times are looked at: a file edited after its read counts as changed.
    const changed = (file: string) => {
      const stat = statSync(file, { throwIfNoEntry: false });
      return !stat || stat.ctimeMs >= startedAt - CHANGE_TIME_SLACK_MS;
    };
    if (!others.some(missed) && !others.some(changed)) return { result, rewritten };
  }
  const rewritten = new Set<string>();
  return { result: await build({ ...options, metafile: true, plugins: [...(options.plugins ?? []), ownLocationOf(undefined, rewritten)] }), rewritten };
}

/** The files a build read, absolute (esbuild names them relative to its working folder). */
const inputFiles = (result: BuildResult, options: BuildOptions) => Object.keys(result.metafile!.inputs).map((input) => resolve(options.absWorkingDir ?? process.cwd(), input));

/**
 * The files the build's externals resolved to (externalFromImporter), each with its package's package.json (which
 * decides that file): the bundle requires them by path, so one gone (a reinstall laid node_modules out otherwise) or
 * changed rebuilds it. A copy nested closer to an importer that appears later is, like a move of a bundled package,
 * left to the record's lockfile hash (npm lays node_modules out from the lockfile).
 */
function externalInputs(result: BuildResult): string[] {
  const files = new Set<string>();
  for (const { imports } of Object.values(result.metafile!.inputs)) {
    for (const { path, external } of imports) {
      if (!external || !isAbsolute(path)) continue;
      files.add(path);
      const at = path.lastIndexOf("/node_modules/");
      if (at < 0) continue; // a package linked in from elsewhere: its file alone
      const [scope, name] = path.slice(at + "/node_modules/".length).split("/");
      files.add(join(path.slice(0, at), "node_modules", scope, ...(scope.startsWith("@") ? [name] : []), "package.json"));
    }
  }
  return [...files];
}

/**
 * The files ownLocation rewrote in earlier builds, every app's (a handful: core/config.ts, cdktf's fs helper, ...), in
 * the build cache: project files by their path in the project folder (so a copy of it learns from this checkout's),
 * others (packages, whose real path esbuild names) by their absolute path.
 */
const LEARNED_KEY = "own-location.json";

function learnedFiles(): Set<string> | undefined {
  try {
    const files = JSON.parse(readCache(LEARNED_KEY)?.toString("utf8") ?? "null") as string[] | null;
    // By its real path too, as esbuild names it: a copy of the project reaches packages through a link to node_modules.
    return files ? new Set(files.map((file) => resolve(PROJECT_ROOT, file)).flatMap((file) => (existsSync(file) ? [file, realpathSync(file)] : []))) : undefined;
  } catch {
    return undefined; // unreadable: every file looked at
  }
}

/** Adds what a build rewrote to the learned files (those gone dropped), when it adds any. */
function learn(learned: ReadonlySet<string> | undefined, rewritten: Iterable<string>): void {
  const all = new Set(learned);
  for (const file of rewritten) all.add(file);
  if (learned && all.size === learned.size) return;
  const kept = [...all].filter((file) => existsSync(file)).map((file) => (file.startsWith(`${PROJECT_ROOT}/`) ? relative(PROJECT_ROOT, file) : file));
  writeCache(LEARNED_KEY, JSON.stringify(kept.sort()));
}

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

/** A file of an earlier build, in the cache: opened, so that a rebuild removing it while the app runs does not take it away. */
export interface CachedFile {
  file: string;
  fd: number;
}

export interface BuiltApp {
  main: BuiltFile;
  entries: Record<string, BuiltFile | CachedFile>;
  /** Whether it is in the cache (not with ETL_BUILD_CACHE=off, nor when an input changed during the build). */
  cached: boolean;
}

/** The handlers' entry points of an app: built with it, or an earlier build's (cachedHandlers). */
interface Handlers {
  entries: Record<string, BuiltFile | CachedFile>;
  /** What their build read, EXTRA_INPUTS included. */
  inputs: string[];
  /** The files their build gave their own location (ownLocation), if it was built now. */
  rewritten: Iterable<string>;
}

/** Builds the app of `entry` (project-relative) and, unless ETL_BUILD_CACHE=off, caches it under `recordName` in APP_DIR. */
export async function buildApp(entry: string, recordName: string): Promise<BuiltApp> {
  const start = cacheEnabled() ? startBuild(PROJECT_ROOT) : undefined; // before esbuild reads anything
  const learned = learnedFiles();
  const app = await buildLocated(appOptions({ main: entry, check: "core/build-inputs.ts" }), learned);
  const runsHandlers = LOADS_ENTRIES in app.result.metafile!.inputs;
  const handlers = runsHandlers ? (start && cachedHandlers()) || (await buildHandlers(learned)) : undefined;
  learn(learned, [...app.rewritten, ...(handlers?.rewritten ?? [])]);
  const main = output(app.result, "main");
  const entries = handlers?.entries ?? {};
  const built = (cached: boolean): BuiltApp => ({ main, entries, cached });
  if (!start) return built(false);
  // Content-named, written before the record that names them: a launch reading the previous record still finds its
  // files, and two launches building at once write the same bytes under the same names.
  const writeFiles = (files: BuiltFile[]) => {
    for (const f of files) {
      writeCache(`apps/${name(f)}`, f.code);
      writeCache(`apps/${name(f)}.map`, f.map);
    }
  };
  const superseded: string[] = [];
  // Built now: cached for the project folder's next app build (its own record), unless one of their inputs changed.
  const builtHandlers = Object.values(entries).filter((f): f is BuiltFile => "code" in f);
  const handlersRecorded = builtHandlers.length > 0 && recordInputs(handlers!.inputs, PROJECT_ROOT, start);
  if (handlersRecorded) {
    const recordFile = handlersRecordName(PROJECT_ROOT);
    superseded.push(...Object.values(readRecord<HandlersRecord>(join(APP_DIR, recordFile))?.entries ?? {}));
    writeFiles(builtHandlers);
    const record: HandlersRecord = { ...handlersRecorded, root: PROJECT_ROOT, entries: names(entries) };
    writeCache(`apps/${recordFile}`, JSON.stringify(record));
  }
  // An input changed during the build: the app runs as built, but is not cached (the next launch builds it again).
  const inputs = [...new Set([...inputFiles(app.result, { absWorkingDir: PROJECT_ROOT }), ...externalInputs(app.result), ...EXTRA_INPUTS, ...(handlers?.inputs ?? [])])];
  const recorded = recordInputs(inputs, PROJECT_ROOT, start);
  if (recorded) {
    const check = output(app.result, "check");
    const previous = readRecord(join(APP_DIR, recordName));
    if (previous) superseded.push(...appFiles(previous));
    writeFiles([main, check]);
    const record: AppRecord = { ...recorded, entry, main: name(main), check: name(check), entries: names(entries) };
    writeCache(`apps/${recordName}`, JSON.stringify(record));
    removeOldSynthApp();
  }
  if (superseded.length > 0) removeUnnamedAppFiles(superseded);
  return built(recorded !== undefined);
}

/** The handlers' build cached for this project folder, if every file it read is unchanged and its bundles are there. */
function cachedHandlers(): Handlers | undefined {
  try {
    const record = readRecord<HandlersRecord>(join(APP_DIR, handlersRecordName(PROJECT_ROOT)));
    if (!record || record.root !== PROJECT_ROOT || Object.keys(record.entries).sort().join("\0") !== [...HANDLER_ENTRIES].sort().join("\0")) return undefined;
    if (!inputsUnchanged(record, PROJECT_ROOT)) return undefined;
    const entries = Object.fromEntries(Object.entries(record.entries).map(([source, file]) => [source, { file: join(APP_DIR, file), fd: openSync(join(APP_DIR, file), "r") }]));
    return { entries, inputs: record.inputs, rewritten: [] };
  } catch {
    return undefined; // a bundle gone, an unreadable record: built again
  }
}

/** Every handler of HANDLER_ENTRIES as an entry point, in one build. */
async function buildHandlers(learned: ReadonlySet<string> | undefined): Promise<Handlers> {
  const { result, rewritten } = await buildLocated(appOptions(Object.fromEntries(HANDLER_ENTRIES.map((file) => [entryName(file), file]))), learned);
  const entries = Object.fromEntries(HANDLER_ENTRIES.map((file) => [file, output(result, entryName(file))]));
  return { entries, inputs: [...new Set([...inputFiles(result, { absWorkingDir: PROJECT_ROOT }), ...externalInputs(result), ...EXTRA_INPUTS])], rewritten };
}

const names = (entries: Record<string, BuiltFile | CachedFile>) => Object.fromEntries(Object.entries(entries).map(([source, f]) => [source, name(f)]));
const entryName = (file: string) => `handler-${file.split("/")[1]}`;
const name = (f: { file: string }) => f.file.slice(APP_DIR.length + 1);

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
