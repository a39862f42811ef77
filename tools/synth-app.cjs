// The app of `cdktf synth` (cdktf.json): runs main.ts from its prebuilt bundle (tools/synth-app-build.ts) when every
// file that bundle read is unchanged, and rebuilds it first otherwise (through tsx, which only a rebuild loads).
// Plain JavaScript, so that a synth starts no TypeScript loader; V8's code cache of the bundle saves compiling it.
"use strict";
const { createHash } = require("node:crypto");
const { readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const { dirname, join, resolve } = require("node:path");
const { performance } = require("node:perf_hooks");
const vm = require("node:vm");

performance.mark("synth-app:start");

const root = resolve(__dirname, "..");
const cacheOn = process.env.ETL_BUILD_CACHE !== "off"; // as core/build-cache.ts reads it
// SYNTH_APP_DIR of tools/synth-app-build.ts (test/tools/synth-app.test.ts checks that a synth finds its build there).
const appDir = join(root, "node_modules", ".cache", "etl-orchestrator", "synth-app");
// One record per project folder: a worktree may share this node_modules (npm run synth:diff).
const recordName = `${createHash("sha256").update(root).digest("hex").slice(0, 16)}.json`;

/** The cached build's main file, if its record says every input is unchanged; any read error is a miss. */
function currentBuild() {
  if (!cacheOn) return undefined;
  try {
    const record = JSON.parse(readFileSync(join(appDir, recordName), "utf8"));
    const { inputsUnchanged } = require(join(appDir, record.check));
    if (!inputsUnchanged(record, root)) return undefined;
    const mainFile = join(appDir, record.main);
    return { mainFile, code: readFileSync(mainFile, "utf8") };
  } catch {
    return undefined;
  }
}

async function build() {
  // Registered for this one require (tsx's namespaced require would also namespace esbuild's binary path).
  const unregister = require("tsx/cjs/api").register();
  try {
    return await require("./synth-app-build.ts").buildSynthApp(recordName);
  } finally {
    unregister();
  }
}

/** Runs the bundle as a CommonJS module, with V8's code cache of an earlier run when it has one (a cached build only). */
function run({ mainFile, code, cached = true }) {
  const codeCacheFile = `${mainFile}.v8`;
  const keepCode = cacheOn && cached;
  let cachedData;
  if (keepCode) {
    try {
      cachedData = readFileSync(codeCacheFile);
    } catch {
      // first run of this build: the cache is written at exit
    }
  }
  const script = new vm.Script(Module.wrap(code), { filename: mainFile, cachedData });
  if (keepCode && (!cachedData || script.cachedDataRejected)) {
    // At exit, so the functions the synth compiled lazily are in it too. A failed write only costs the next compile.
    process.once("exit", () => {
      try {
        const partial = `${codeCacheFile}.${process.pid}.tmp`;
        writeFileSync(partial, script.createCachedData());
        renameSync(partial, codeCacheFile);
      } catch {}
    });
  }
  const app = new Module(mainFile, module);
  app.filename = mainFile;
  app.paths = Module._nodeModulePaths(dirname(mainFile));
  const requireFromApp = Object.assign((id) => app.require(id), { resolve: (id) => Module._resolveFilename(id, app), cache: Module._cache, main: process.mainModule });
  performance.mark("synth-app:loaded");
  script.runInThisContext().call(app.exports, app.exports, requireFromApp, app, mainFile, dirname(mainFile));
}

const built = currentBuild();
if (built) run(built);
else
  build().then(run, (e) => {
    console.error(`cannot build the synth app (tools/synth-app-build.ts): ${e.stack ?? e.message}`);
    process.exit(1);
  });
