// Builds an app that tools/launch.cjs runs: one entry point (main.ts for `cdktf synth`, local/cli.ts for `npm start`,
// each npm script's file) and everything it imports, packages included, as one CommonJS file, so a command neither
// starts tsx nor resolves and parses hundreds of modules. An app that can load handlers (the local runtime, through
// core/launched.ts) also gets each Lambda handler as an entry point of its own, loaded afresh per cold start. The build is
// cached (core/build-cache.ts) beside its record of the files it read (core/build-inputs.ts), with that check compiled
// on its own for the launcher, and a source map per file for the launcher's stack traces. The handlers' build is also
// recorded on its own, per project folder: an app rebuilt while none of their inputs changed (an edit of local/) reuses
// it, as does another app of the folder that loads them.
import { closeSync, existsSync, openSync, readFileSync, realpathSync, statSync } from "node:fs";
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
 * The plugin looks at the entry points and the files of `only` (absolute paths; every .js/.ts file without it): esbuild
 * calls back for them alone (buildLocated). Each file it looks at is compiled from the text it checked (esbuild does not
 * read it again); each one it rewrites is added to `rewritten`. Looking at a few files, then checking the others after
 * the build, saves about 0.35 s of CPU per cold build of local/cli.ts's app and handlers, nothing measurable for
 * main.ts's (BENCHMARKS.md, session 13).
 */
function ownLocation(only: ReadonlySet<string> | undefined, rewritten: Set<string>): Plugin {
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
        const loaded = { loader: LOADERS[extname(path)], resolveDir: dirname(path) };
        const { located, runsAsScript } = locationNeeds(path, source, entries);
        if (!located && !runsAsScript) return { contents: source, ...loaded }; // the text checked: an edit since changes nothing
        rewritten.add(path);
        const prologue = /^(?:#![^\n]*\n)?(?:\s*(["'])use strict\1;?)?/.exec(source)![0];
        const declared = [
          located ? `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};` : "",
          runsAsScript ? `var ${REQUIRE_MAIN} = module;` : "",
        ].join("");
        return { contents: `${prologue}${declared}${source.slice(prologue.length)}`, ...loaded };
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
 * esbuild's build of `options` with ownLocation for the files of `learned` (those earlier builds found needing it) only,
 * checked after the build: each other .js/.ts file it read (which esbuild read itself) is read again and, if it needs
 * its location (a package upgraded, a project file added or edited), or changed since the build started (what esbuild
 * read is then unknown), the build is made again with ownLocation for every file, which compiles each file from the text
 * it checked. So no file that needs its location is built without it, whenever it is edited.
 * Without `learned` (none yet, or ETL_BUILD_CACHE=off) that build is the only one. Returns the files rewritten too.
 */
export async function buildLocated(options: BuildOptions, learned: ReadonlySet<string> | undefined): Promise<{ result: BuildResult; rewritten: Set<string> }> {
  const buildWith = async (only: ReadonlySet<string> | undefined) => {
    const rewritten = new Set<string>();
    const result = await build({ ...options, metafile: true, plugins: [...(options.plugins ?? []), ownLocation(only, rewritten)] });
    return { result, rewritten };
  };
  if (!learned) return buildWith(undefined);
  const startedAt = Date.now();
  const built = await buildWith(learned);
  const entries = entryFiles(options);
  const others = inputFiles(built.result, options.absWorkingDir ?? process.cwd()).filter((file) => SOURCE_FILE.test(file) && !learned.has(file) && !entries.has(file));
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
  return others.some(missed) || others.some(changed) ? buildWith(undefined) : built;
}

/** The files a build read, absolute (esbuild names them relative to its working folder `dir`). */
const inputFiles = (result: BuildResult, dir: string) => Object.keys(result.metafile!.inputs).map((input) => resolve(dir, input));

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
 * The files ownLocation rewrote in earlier builds, every app's of every project folder on this node_modules (a handful:
 * core/config.ts, cdktf's fs helper, ...), in the build cache: project files by their path in the project folder (so a
 * copy of it learns from this checkout's), packages by the absolute real path esbuild names them by (the same for every
 * folder linking this node_modules).
 */
const LEARNED_KEY = "own-location.json";

/** The list as stored; none when there is none or it is not a list of file names (every file is then looked at). */
function storedLearned(): string[] | undefined {
  try {
    const files: unknown = JSON.parse(readCache(LEARNED_KEY)?.toString("utf8") ?? "null");
    return Array.isArray(files) && files.every((file) => typeof file === "string") ? files : undefined;
  } catch {
    return undefined;
  }
}

/** The learned files of this project folder, absolute: by their real path too, as esbuild names them (a copy of the project reaches packages through a link to node_modules). */
function learnedFiles(): Set<string> | undefined {
  const files = storedLearned()?.map((file) => resolve(PROJECT_ROOT, file));
  try {
    return files && new Set(files.flatMap((file) => (existsSync(file) ? [file, realpathSync(file)] : [])));
  } catch {
    return undefined; // one removed meanwhile: every file looked at
  }
}

/**
 * Adds what a build rewrote to the list, read again just before (another launch's additions since are kept), and writes
 * it if that changes it. Project files absent from this folder stay (another folder's, or a newer checkout's); packages
 * gone go. (Two launches writing at the same moment can still lose one's addition: its next build misses, builds again.)
 */
function learn(rewritten: Iterable<string>): void {
  const stored = storedLearned();
  const kept = (stored ?? []).filter((file) => !isAbsolute(file) || existsSync(file));
  const added = [...rewritten].map((file) => (file.startsWith(`${PROJECT_ROOT}/`) && !file.includes("/node_modules/") ? relative(PROJECT_ROOT, file) : file));
  const all = [...new Set([...kept, ...added])].sort();
  if (JSON.stringify(all) !== JSON.stringify(stored)) writeCache(LEARNED_KEY, JSON.stringify(all));
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
export interface Handlers {
  entries: Record<string, BuiltFile | CachedFile>;
  /** Those built now (none when reused from the cache). */
  built: BuiltFile[];
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
  // Told of what the app's build rewrote too: a file newly needing its location (a package upgraded) costs one rebuild, not two.
  const handlers = runsHandlers ? (start && cachedHandlers()) || (await buildHandlers(learned && new Set([...learned, ...app.rewritten]))) : undefined;
  learn([...app.rewritten, ...(handlers?.rewritten ?? [])]);
  const main = output(app.result, "main");
  const entries = handlers?.entries ?? {};
  const built = (cached: boolean): BuiltApp => ({ main, entries, cached });
  if (!start) return built(false);
  // Built now: cached for the project folder's next app build (its own record), unless one of their inputs changed.
  const handlersRecorded = handlers?.built.length ? recordInputs(handlers.inputs, PROJECT_ROOT, start) : undefined;
  // An input changed during the build: the app runs as built, but is not cached (the next launch builds it again).
  const inputs = [...new Set([...inputFiles(app.result, PROJECT_ROOT), ...externalInputs(app.result), ...EXTRA_INPUTS, ...(handlers?.inputs ?? [])])];
  const recorded = recordInputs(inputs, PROJECT_ROOT, start);
  // Content-named, written before any record that names them: a launch reading the previous record still finds its
  // files, and two launches building at once write the same bytes under the same names.
  const writeFiles = (files: BuiltFile[]) => {
    for (const f of files) {
      writeCache(`apps/${name(f)}`, f.code);
      writeCache(`apps/${name(f)}.map`, f.map);
    }
  };
  if (handlersRecorded || recorded) writeFiles(handlers?.built ?? []);
  const superseded: string[] = [];
  if (handlersRecorded) {
    const recordFile = handlersRecordName(PROJECT_ROOT);
    superseded.push(...Object.values(readRecord<HandlersRecord>(join(APP_DIR, recordFile))?.entries ?? {}));
    const record: HandlersRecord = { ...handlersRecorded, root: PROJECT_ROOT, entries: names(entries) };
    writeCache(`apps/${recordFile}`, JSON.stringify(record));
  }
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

/**
 * The handlers' build cached for the project folder `root`, if it has every handler, every file it read is unchanged and
 * its bundles are there: opened, as the launcher opens a cached app's (tools/launch.cjs currentBuild).
 */
export function cachedHandlers(root = PROJECT_ROOT): Handlers | undefined {
  const entries: Record<string, CachedFile> = {};
  try {
    const record = readRecord<HandlersRecord>(join(APP_DIR, handlersRecordName(root)));
    if (!record || record.root !== root || Object.keys(record.entries).sort().join("\0") !== [...HANDLER_ENTRIES].sort().join("\0")) return undefined;
    if (!inputsUnchanged(record, root)) return undefined;
    for (const [source, file] of Object.entries(record.entries)) entries[source] = { file: join(APP_DIR, file), fd: openSync(join(APP_DIR, file), "r") };
    return { entries, built: [], inputs: record.inputs, rewritten: [] };
  } catch {
    for (const { fd } of Object.values(entries)) closeSync(fd);
    return undefined; // a bundle gone, an unreadable record: built again
  }
}

/** Every handler of HANDLER_ENTRIES as an entry point, in one build. */
async function buildHandlers(learned: ReadonlySet<string> | undefined): Promise<Handlers> {
  const { result, rewritten } = await buildLocated(appOptions(Object.fromEntries(HANDLER_ENTRIES.map((file) => [entryName(file), file]))), learned);
  const built = HANDLER_ENTRIES.map((file) => output(result, entryName(file)));
  const entries = Object.fromEntries(HANDLER_ENTRIES.map((file, i) => [file, built[i]]));
  return { entries, built, inputs: [...new Set([...inputFiles(result, PROJECT_ROOT), ...externalInputs(result), ...EXTRA_INPUTS])], rewritten };
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
