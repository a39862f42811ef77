// `node tools/launch.cjs <entry point .ts> [arguments]`: how every npm script and `cdktf synth` (cdktf.json) start.
// Runs the entry point from its prebuilt bundle (tools/app-build.ts) when every file that bundle read is unchanged,
// and rebuilds it first otherwise (through tsx, which only a rebuild loads). Plain JavaScript, so that a command
// starts no TypeScript loader; V8's code cache of the bundle saves compiling it. The app's handlers, built as entry
// points of their own, are loaded afresh per cold start (core/launched.ts), and its stack traces name the .ts sources
// (the build's source maps, read only when an error's stack trace is formatted).
"use strict";
const { createHash } = require("node:crypto");
const { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, watch, writeFileSync } = require("node:fs");
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

/**
 * The app's build, by this process or by another one building it at that moment: launches that start at once on a cold
 * cache (mocha's workers, a command's --help beside its run) build it once. The one that takes the lock (a file beside
 * the record, naming its process) builds; the others wait for the lock to go, then run what it cached. A lock whose
 * process is gone (killed mid-build), or whose file its holder has not touched for LOCK_STALE_MS (a reused process id),
 * is taken over; a process that cannot take one (an unwritable cache) builds unlocked, as does one that waited
 * LOCK_WAIT_MS: at worst both build, as they would without a lock, each writing the same content-named files
 * atomically.
 */
async function buildOnce() {
  // A first run builds for seconds before the app (and its own signal handling, local/early-signals.ts) loads: a
  // signal then ends it as the app's would, with 130 and a message, esbuild's service stopped. Removed before run().
  let building = false;
  const onSignal = (signal) => {
    if (building) {
      try {
        require("esbuild").stop();
      } catch {}
    }
    process.stderr.write(`${signal}: interrupted while building ${entry}\n`);
    process.exit(130); // the lock, if held, goes at exit
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const waitUntil = Date.now() + LOCK_WAIT_MS;
  try {
    for (;;) {
      const lock = cacheOn ? takeLock() : undefined;
      if (lock === false && Date.now() < waitUntil) {
        await lockGone(waitUntil);
        const cached = currentBuild();
        if (cached) return cached;
        continue; // its build was not cached (an input changed during it): build, or wait for another
      }
      try {
        // Built and released by another process between this one's look at the cache and its lock.
        const cached = lock ? currentBuild() : undefined;
        if (cached) return cached;
        building = true;
        return await build();
      } finally {
        if (lock) releaseLock();
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function build() {
  const { register } = require("tsx/cjs/api");
  // While registered, tsx lexes every file loaded (for ESM syntax), packages included: the build's own packages,
  // CommonJS, are loaded first (zod, through core/config.ts, is about a hundred files: 0.1-0.15 s of CPU per build).
  for (const name of BUILD_PACKAGES) require(name);
  // Registered for this one require (tsx's namespaced require would also namespace esbuild's binary path).
  const unregister = register();
  try {
    return await require("./app-build.ts").buildApp(entry, recordName);
  } finally {
    unregister();
    // esbuild's service process, ended and reaped now rather than left idle for the rest of the run.
    await require("esbuild").stop();
  }
}

/** The packages tools/app-build.ts and the project files it imports load (test/tools/launch.test.ts checks the list). */
const BUILD_PACKAGES = ["esbuild", "zod"];

/**
 * How long a launch waits for another process's build before building too (a build takes seconds, a minute loaded):
 * below the 150 s the tests give a launched child.
 */
const LOCK_WAIT_MS = 60_000;
/**
 * The holder touches its lock this often; a lock untouched for LOCK_STALE_MS is stale (its process id may be reused).
 * ETL_LAUNCH_LOCK_TOUCH_MS: a test's shorter period, so it sees a touch without waiting 5 s.
 */
const LOCK_TOUCH_MS = Number(process.env.ETL_LAUNCH_LOCK_TOUCH_MS) || 5_000;
const LOCK_STALE_MS = 30_000;
const lockFile = join(appDir, `${recordName}.lock`);
const lockHolder = () => {
  try {
    return Number(readFileSync(lockFile, "utf8"));
  } catch {
    return undefined; // released
  }
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
};
/**
 * Whether another process holds the lock: its file names a live process other than this one and was touched in the
 * last LOCK_STALE_MS, or is being written (empty for a moment). A process id reused after its holder was killed (this
 * process's own, or another's) leaves a lock untouched.
 */
const lockHeld = () => {
  const holder = lockHolder();
  if (holder === undefined) return false;
  let age;
  try {
    age = Date.now() - statSync(lockFile).mtimeMs;
  } catch {
    return false;
  }
  if (Number.isInteger(holder) && holder > 0) return holder !== process.pid && age < LOCK_STALE_MS && alive(holder);
  return age < 10_000;
};
let lockTouch;
const releaseLock = () => {
  process.off("exit", releaseLock);
  clearInterval(lockTouch);
  if (lockHolder() === process.pid) rmSync(lockFile, { force: true });
};
/** Touches the lock while this process holds it (not once another took it over). */
const touchLock = () => {
  try {
    if (lockHolder() === process.pid) utimesSync(lockFile, new Date(), new Date());
  } catch {
    // gone: nothing to keep fresh
  }
};

/** true: this process holds the lock; false: a live one does; undefined: none can be taken (the cache folder cannot be written). */
function takeLock() {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(appDir, { recursive: true });
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      process.once("exit", releaseLock);
      lockTouch = setInterval(touchLock, LOCK_TOUCH_MS).unref();
      return true;
    } catch (e) {
      if (e.code !== "EEXIST") return undefined;
    }
    if (lockHeld()) return false;
    try {
      rmSync(lockFile, { force: true }); // left by a process that is gone, or just released: taken (again) once
    } catch {
      return undefined; // a stale lock in a cache this process cannot write: built unlocked
    }
  }
  return lockHeld() ? false : undefined;
}

/**
 * Resolves when the lock file goes (a change in the cache folder), its process is gone (which sends no event: looked
 * at every second), or at `waitUntil`.
 */
function lockGone(waitUntil) {
  return new Promise((done) => {
    let watcher;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      watcher?.close();
      done();
    };
    const check = () => {
      if (!lockHeld() || Date.now() >= waitUntil) finish();
    };
    const timer = setInterval(check, 1000);
    try {
      watcher = watch(appDir, check);
      watcher.on("error", () => {}); // the folder gone or unwatchable: the timer still sees the lock
    } catch {
      // no watch: the timer still sees it
    }
    check(); // released before the watch began
  });
}

/**
 * Compiles a bundle, with V8's code cache of an earlier run when it has one (a cached build only). The cache is
 * written at exit, so that the functions the run compiled lazily are in it too, and written again by a run that
 * took over twice the CPU time of the run that wrote it (a --help wrote it, a whole run needs more of the app):
 * the file starts with that CPU time (8 bytes), counted from when the app is loaded (a first run's build is no use
 * of the app), then the bundle's file name as the writer named it (4 bytes of length, UTF-8). Not written for a bundle
 * a rebuild has removed since (it would be left behind). A failed write only costs the next compile.
 * A script compiled from a code cache keeps the file name it had in the process that wrote the cache, so its stack
 * frames would name a file this process has no source map for: a cache written under another name (the same
 * content-named bundle run by another project folder sharing this node_modules) is not used, and is written again.
 */
function compile({ file, code }, cached) {
  const codeCacheFile = `${file}.v8`;
  const keepCode = cacheOn && cached;
  let cachedData;
  let writerCpuMs = 0;
  const fileName = Buffer.from(file);
  if (keepCode) {
    try {
      const stored = readFileSync(codeCacheFile);
      const nameEnd = 12 + stored.readUInt32LE(8);
      if (stored.subarray(12, nameEnd).equals(fileName)) {
        writerCpuMs = stored.readDoubleLE(0);
        cachedData = stored.subarray(nameEnd);
      }
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
        const header = Buffer.alloc(12);
        header.writeDoubleLE(cpuMs, 0);
        header.writeUInt32LE(fileName.length, 8);
        const partial = `${codeCacheFile}.${process.pid}.tmp`;
        writeFileSync(partial, Buffer.concat([header, fileName, script.createCachedData()]));
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
  buildOnce().then(run, (e) => {
    console.error(`cannot build ${entry} (tools/app-build.ts): ${e.stack ?? e.message}`);
    process.exit(1);
  });
