// `node tools/launch.cjs <entry point .ts> [arguments]`: how every npm script and `cdktf synth` (cdktf.json) start.
// Runs the entry point from its prebuilt bundle (tools/app-build.ts) when every file that bundle read is unchanged,
// and rebuilds it first otherwise (through tsx, which only a rebuild loads). Plain JavaScript, so that a command
// starts no TypeScript loader; V8's code cache of the bundle saves compiling it. The app's handlers, built as entry
// points of their own, are loaded afresh per cold start (core/launched.ts), and its stack traces name the .ts sources
// (the build's source maps, read only when an error's stack trace is formatted).
"use strict";
const { createHash } = require("node:crypto");
const { existsSync, openSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { dirname, isAbsolute, join, relative, resolve, sep } = require("node:path");
const { performance } = require("node:perf_hooks");
const { isNativeError } = require("node:util/types");
const vm = require("node:vm");

performance.mark("launch:start");

const root = resolve(__dirname, "..");
const cacheOn = process.env.ETL_BUILD_CACHE !== "off"; // as core/build-cache.ts reads it
// APP_DIR of tools/app-records.ts (test/tools/launch.test.ts checks that a launch finds its build there).
const appDir = join(root, "node_modules", ".cache", "etl-orchestrator", "apps");

const [entryArg, ...args] = process.argv.slice(2);
const entryFile = resolve(entryArg ?? "");
const entry = relative(root, entryFile).split(sep).join("/");
if (!entryArg || entry.startsWith("..") || isAbsolute(entry) || !entry.endsWith(".ts")) {
  console.error(`usage: node tools/launch.cjs <a .ts file of ${root}> [arguments]${entryArg ? ` (got ${entryArg})` : ""}`);
  process.exit(2);
}
// As if node had run the entry point itself.
process.argv = [process.argv[0], entryFile, ...args];
// One record per project folder and entry point: a worktree may share this node_modules (npm run synth:diff).
const recordName = `${createHash("sha256").update(`${root}\0${entry}`).digest("hex").slice(0, 16)}.json`;

/**
 * The cached build, if its record says every input is unchanged; any read error is a miss. Its other entry points
 * are opened now, so that a rebuild removing them while this app runs does not take them away.
 */
function currentBuild() {
  if (!cacheOn) return undefined;
  try {
    const record = JSON.parse(readFileSync(join(appDir, recordName), "utf8"));
    if (record.entry !== entry) return undefined;
    const { inputsUnchanged } = require(join(appDir, record.check));
    if (!inputsUnchanged(record, root)) return undefined;
    const mainFile = join(appDir, record.main);
    const entries = Object.fromEntries(Object.entries(record.entries).map(([source, name]) => [source, { file: join(appDir, name), fd: openSync(join(appDir, name), "r") }]));
    return { main: { file: mainFile, code: readFileSync(mainFile, "utf8") }, entries, cached: true };
  } catch {
    return undefined;
  }
}

async function build() {
  // A first run builds for seconds before the app (and its own signal handling, local/early-signals.ts) loads: a
  // signal then ends it as the app's would, with 130 and a message, esbuild's service stopped. Removed before run().
  const onSignal = (signal) => {
    try {
      require("esbuild").stop();
    } catch {}
    process.stderr.write(`${signal}: interrupted while building ${entry}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Registered for this one require (tsx's namespaced require would also namespace esbuild's binary path).
  const unregister = require("tsx/cjs/api").register();
  try {
    return await require("./app-build.ts").buildApp(entry, recordName);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    unregister();
    // esbuild's service process, ended and reaped now rather than left idle for the rest of the run.
    await require("esbuild").stop();
  }
}

/**
 * Compiles a bundle, with V8's code cache of an earlier run when it has one (a cached build only). The cache is
 * written at exit, so that the functions the run compiled lazily are in it too, and written again by a run that
 * took over twice the CPU time of the run that wrote it (a --help wrote it, a whole run needs more of the app):
 * the file starts with that CPU time (8 bytes), counted from when the app is loaded (a first run's build is no use
 * of the app). Not written for a bundle a rebuild has removed since (it would be left behind). A failed write only costs the
 * next compile.
 */
function compile({ file, code }, cached) {
  const codeCacheFile = `${file}.v8`;
  const keepCode = cacheOn && cached;
  let cachedData;
  let writerCpuMs = 0;
  if (keepCode) {
    try {
      const stored = readFileSync(codeCacheFile);
      writerCpuMs = stored.readDoubleLE(0);
      cachedData = stored.subarray(8);
    } catch {
      // first run of this build
    }
  }
  const script = new vm.Script(Module.wrap(code), { filename: file, cachedData });
  if (keepCode) {
    const stale = !cachedData || script.cachedDataRejected;
    process.once("exit", () => {
      const { user, system } = process.cpuUsage(cpuAtLoad);
      const cpuMs = (user + system) / 1000;
      if (!stale && cpuMs <= 2 * writerCpuMs) return;
      if (!existsSync(file)) return;
      try {
        const header = Buffer.alloc(8);
        header.writeDoubleLE(cpuMs);
        const partial = `${codeCacheFile}.${process.pid}.tmp`;
        writeFileSync(partial, Buffer.concat([header, script.createCachedData()]));
        renameSync(partial, codeCacheFile);
      } catch {}
    });
  }
  return script;
}

/**
 * Runs a compiled bundle as a new CommonJS module of its own file; returns its exports. No parent: a parent keeps
 * each module in its `children` for good, so every handler cold start would stay in memory.
 */
function execute(script, file) {
  const app = new Module(file);
  app.filename = file;
  app.paths = Module._nodeModulePaths(dirname(file));
  const requireFromApp = Object.assign((id) => app.require(id), {
    resolve: (id, options) => Module._resolveFilename(id, app, false, options),
    cache: Module._cache,
    main: process.mainModule,
    extensions: Module._extensions,
  });
  script.runInThisContext().call(app.exports, app.exports, requireFromApp, app, file, dirname(file));
  app.loaded = true;
  return app.exports;
}

/** Stack frames in a bundle name the .ts line they came from: the bundle's source map, parsed on first use. */
function mapStackTraces(bundles) {
  const maps = new Map();
  const sourceMap = (file) => {
    if (!maps.has(file)) {
      let map;
      try {
        const bundle = bundles.get(file);
        map = new Module.SourceMap(JSON.parse(bundle.map ?? readFileSync(`${file}.map`, "utf8")));
      } catch {
        map = undefined; // removed by a rebuild since: the bundle's own positions
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  const frameText = (frame) => {
    const text = String(frame);
    const file = frame.getFileName();
    if (!file || !bundles.has(file)) return text;
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const found = sourceMap(file)?.findEntry(line - 1, column - 1);
    if (!found || found.originalSource === undefined) return text;
    const source = found.originalSource.startsWith("file://") ? new URL(found.originalSource).pathname : resolve(dirname(file), found.originalSource);
    return text.replace(`${file}:${line}:${column}`, `${source}:${found.originalLine + 1}:${found.originalColumn + 1}`);
  };
  Error.prepareStackTrace = (error, frames) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
      // Node's own errors print their code (`TypeError [ERR_INVALID_ARG_TYPE]: …`) through their class's toString.
      if (typeof error.code === "string" && error.toString !== Error.prototype.toString) {
        const own = String(error);
        if (own.startsWith(`${error.name} [${error.code}]`)) head = own;
      }
    } catch {
      head = "Error";
    }
    // Only an error's frames are worth the source map. A stack captured onto another object (cdktf takes one per
    // token it creates, its creation stack, and formats it at once) keeps the bundle's positions: mapping those
    // parsed the whole app's map on every synth (about 0.2 s).
    const frameOf = isNativeError(error) || error instanceof Error ? frameText : String;
    try {
      return [head, ...frames.map((frame) => `    at ${frameOf(frame)}`)].join("\n");
    } catch {
      return [head, ...frames.map((frame) => `    at ${frame}`)].join("\n");
    }
  };
}

/** The process's CPU time when the app starts loading (after a build), where the V8 code cache's measure of a run starts. */
let cpuAtLoad;

function run(built) {
  const bundles = new Map([built.main, ...Object.values(built.entries)].map((b) => [b.file, b]));
  mapStackTraces(bundles);
  const scripts = new Map();
  let tsxRegistered = false;
  globalThis[Symbol.for("etl-orchestrator.launched")] = {
    loadFresh(sourceFile) {
      const bundle = built.entries[relative(root, sourceFile).split(sep).join("/")];
      if (!bundle) return undefined;
      if (!scripts.has(bundle.file)) scripts.set(bundle.file, compile({ file: bundle.file, code: bundle.code ?? readFileSync(bundle.fd, "utf8") }, built.cached));
      return execute(scripts.get(bundle.file), bundle.file);
    },
    requireSource(file) {
      // tsx's hooks, registered for the rest of the run, only when such a file is TypeScript.
      if (/\.[cm]?ts$/.test(file) && !tsxRegistered) {
        require("tsx/cjs/api").register();
        tsxRegistered = true;
      }
      return require(file);
    },
  };
  cpuAtLoad = process.cpuUsage();
  const script = compile(built.main, built.cached);
  performance.mark("launch:loaded");
  execute(script, built.main.file);
}

const built = currentBuild();
if (built) run(built);
else
  build().then(run, (e) => {
    console.error(`cannot build ${entry} (tools/app-build.ts): ${e.stack ?? e.message}`);
    process.exit(1);
  });
