// tools/launch.cjs, how every npm script starts: an entry point from its cached esbuild build (tools/app-build.ts),
// rebuilt when a file it read changes, the Lambda handlers loaded afresh from entry points of their own, stack traces
// naming the .ts sources. Run in a copy of the project with a probe entry point (so that editing files disturbs no
// other test); the probe uses core/launched.ts, as the local runtime in `npm start`'s app does, so its app has the
// handlers.
// (test/tools/synth-app.test.ts covers the same launcher for `cdktf synth`.)
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { expect } from "chai";
import { CACHE_DIR } from "../../core/build-cache";
import { PROJECT_ROOT } from "../../core/config";
import { FUNCTIONS } from "../../core/topology";
import { HANDLER_ENTRIES } from "../../tools/app-build";
import { APP_DIR, handlersRecordName, OLD_SYNTH_APP_DIR, removeAppBuild } from "../../tools/app-records";
import { appRecord, copyProject, removeProjectCopy } from "../support/project-copy";
import { launchedFile, SCRIPTS } from "../support/scripts";
import { workflowShape } from "../support/workflow";

const PROBE = "launch-probe.ts";
const HANDLER = `functions/${FUNCTIONS.dataArrival.entry}/handler.ts`;

/**
 * Reports on stdout: the handler loaded twice
 * by the launcher (fresh module state each: a counter the test appends to the handler; no module gaining a child per
 * load), what a file without an entry point gives, and the stack of an error thrown inside the handler's bundle, of
 * one inside the app, of a plain object's captured stack, and the first line of one of Node's own errors (its code).
 */
const PROBE_SOURCE = `import { dirname, join } from "node:path";
import { launched } from "./core/launched";
import { loadConfig } from "./core/config";

// A package the build leaves out, required from node_modules (the recorder's positive case).
if (process.argv.includes("--load-duckdb")) require("@duckdb/node-api");

type Probed = { bump(): number; edition: number; handler(event: unknown): Promise<unknown> };
const app = launched();
if (!app) throw new Error("not launched");
// Beside the entry point as the launch names it (a launch through a link to the project names the handler so too).
const handlerFile = join(dirname(process.argv[1]), ${JSON.stringify(HANDLER)});
// The launcher's module (the entry point's own require.main is its module, as when node runs it).
const launcherChildren = () => process.mainModule!.children.length;
const childrenBefore = launcherChildren();
const first = app.loadFresh(handlerFile) as Probed;
const second = app.loadFresh(handlerFile) as Probed;
// Nothing keeps a loaded handler alive: no module (the launcher's) gains a child per load.
const childrenGained = launcherChildren() - childrenBefore;
const bumps = [first.bump(), first.bump(), second.bump()];
let nodeError = "";
try {
  require("node:fs").readFileSync({});
} catch (e) {
  nodeError = (e as Error).stack!.split("\\n")[0];
}
async function stacks() {
  const inHandler = await first.handler(undefined).then(() => "", (e: Error) => e.stack);
  let inApp = "";
  try {
    loadConfig(join(__dirname, "no-such-config.json"));
  } catch (e) {
    inApp = (e as Error).stack ?? "";
  }
  // A stack captured onto a plain object, as cdktf takes one per token: not an error's, so not source-mapped.
  const captured: { stack?: string } = {};
  Error.captureStackTrace(captured);
  return { inHandler, inApp, captured: captured.stack };
}
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
stacks().then((s) => console.log(JSON.stringify({ cpuMs: cpuMs(), isMain: require.main === module, bumps, childrenGained, nodeError, edition: second.edition, noEntry: app.loadFresh(join(__dirname, "local/cli.ts")) ?? null, ...s })));
`;

/**
 * Preloaded to see a launch's build lock (LOCK_FILE): writes it first naming this process (LOCK_OWN_PID, as a reused
 * process id would), makes removing it fail (LOCK_RM_FAILS, as in a cache this process cannot write), and logs to
 * LOCK_LOG when the launch takes it ("locked") and when it starts building ("build", then ends the process), or with
 * LOCK_HOLD_MS holds it until the launch touches it ("touched", as the change is seen) or for LOCK_HOLD_MS ("untouched").
 */
const LOCK_PROBE = `const fs = require("node:fs");
const Module = require("node:module");
const { LOCK_FILE, LOCK_LOG, LOCK_OWN_PID, LOCK_RM_FAILS, LOCK_HOLD_MS } = process.env;
const log = (line) => fs.appendFileSync(LOCK_LOG, line + "\\n");
if (LOCK_OWN_PID) fs.writeFileSync(LOCK_FILE, String(process.pid));
let lockedAt;
const writeFileSync = fs.writeFileSync;
fs.writeFileSync = function (file, data, options) {
  const result = writeFileSync.apply(this, arguments);
  if (file === LOCK_FILE && options && options.flag === "wx") {
    log("locked");
    lockedAt = fs.statSync(LOCK_FILE).mtimeMs;
  }
  return result;
};
const rmSync = fs.rmSync;
fs.rmSync = function (file, ...rest) {
  if (LOCK_RM_FAILS && file === LOCK_FILE) throw Object.assign(new Error("EACCES: permission denied, rm " + file), { code: "EACCES" });
  return rmSync.call(this, file, ...rest);
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "tsx/cjs/api") {
    log("build");
    if (!LOCK_HOLD_MS) process.exit(0);
    return { register: () => () => {} };
  }
  if (request === "./app-build.ts") {
    return { buildApp: () => new Promise(() => {
      const end = (line) => {
        log(line);
        process.exit(0);
      };
      const touched = () => fs.statSync(LOCK_FILE).mtimeMs > lockedAt;
      fs.watch(LOCK_FILE, () => touched() && end("touched"));
      if (touched()) end("touched");
      setTimeout(() => end(touched() ? "touched" : "untouched"), Number(LOCK_HOLD_MS));
    }) };
  }
  return load.call(this, request, ...rest);
};
`;

/**
 * Appended to the copy's handler: module state the probe can count on, which edition of the file was built, and the
 * copy's folder, so that the handler's bundle (content-named, in the cache folder every copy shares) is this run's
 * own: another run of this file at the same time neither writes its V8 code cache nor removes it.
 */
const handlerProbe = (edition: number, copy: string) =>
  `\nlet probeCount = 0;\nexport const bump = () => ++probeCount;\nexport const edition = ${edition};\nexport const copy = ${JSON.stringify(copy)};\n`;

interface Launch {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The packages the process required from node_modules (the preload's record). */
  packages: string[];
  /** Those of them first required while tsx's hooks were registered. */
  firstLoadedWithTsx: string[];
  /** The bundles the launcher compiled (by file name), each with what became of its V8 code cache. */
  codeCaches: Record<string, "none" | "used" | "rejected">;
}

describe("tools/launch.cjs: the npm scripts' launcher", function () {
  this.timeout(300_000); // builds of the runtime's app, several at once in one case, on a loaded machine
  let root: string;
  let scratch: string;
  let handlerSource: string;
  let launches = 0;

  before(() => {
    root = copyProject("etl-launch-");
    scratch = mkdtempSync(join(tmpdir(), "etl-launch-out-"));
    writeFileSync(join(root, PROBE), PROBE_SOURCE);
    writeFileSync(join(scratch, "lock-probe.cjs"), LOCK_PROBE);
    handlerSource = readFileSync(join(root, HANDLER), "utf8");
    writeFileSync(join(root, HANDLER), handlerSource + handlerProbe(1, root));
    // Records every package a process requires (through node's loader: the packages the build leaves out, and tsx),
    // and in PACKAGES_FILE.with-tsx those first required while tsx's hooks were registered (a ".ts" loader other than
    // the one node had when the preload ran: Node 20 has none, newer Node may have its own). The app requires a package
    // it leaves out by the file node resolved for it from the importing file (tools/app-build.ts): recorded as the
    // request naming that file from its package's folder would be (the package's name for its main file).
    writeFileSync(
      join(scratch, "record-packages.cjs"),
      `const Module = require("node:module");\nconst { appendFileSync } = require("node:fs");\nconst load = Module._load;\nconst seen = new Set();\nconst nodeTs = Module._extensions[".ts"];\n` +
        `const named = (request) => {\n` +
        `  const at = request.startsWith("/") ? request.lastIndexOf("/node_modules/") : -1;\n` +
        `  if (at < 0) return request;\n` +
        `  const parts = request.slice(at + "/node_modules/".length).split("/");\n` +
        `  const name = parts.slice(0, parts[0].startsWith("@") ? 2 : 1).join("/");\n` +
        `  if (name.startsWith(".")) return request;\n` +
        `  try {\n` +
        `    if (require.resolve(name, { paths: [request.slice(0, at)] }) === request) return name;\n` +
        `  } catch {}\n` +
        `  return request.slice(at + "/node_modules/".length);\n` +
        `};\n` +
        `Module._load = function (fileOrRequest, ...rest) {\n` +
        `  const request = named(fileOrRequest);\n` +
        `  if (!/^(node:|[.\\/])/.test(request) && !Module.isBuiltin(request)) {\n` +
        `    appendFileSync(process.env.PACKAGES_FILE, request + "\\n");\n` +
        `    if (!seen.has(request) && Module._extensions[".ts"] !== nodeTs) appendFileSync(process.env.PACKAGES_FILE + ".with-tsx", request + "\\n");\n` +
        `    seen.add(request);\n` +
        `  }\n` +
        `  return load.call(this, fileOrRequest, ...rest);\n};\n`,
    );
    // Records the entry points of each esbuild build the process makes, one JSON line each, in BUILDS_FILE.
    writeFileSync(
      join(scratch, "record-builds.cjs"),
      `const Module = require("node:module");\nconst { appendFileSync } = require("node:fs");\nconst load = Module._load;\n` +
        `Module._load = function (request, ...rest) {\n` +
        `  const loaded = load.call(this, request, ...rest);\n` +
        `  if (request !== "esbuild") return loaded;\n` +
        `  const build = (options) => (appendFileSync(process.env.BUILDS_FILE, JSON.stringify(Object.keys(options.entryPoints)) + "\\n"), loaded.build(options));\n` +
        `  return { ...loaded, build };\n` +
        `};\n`,
    );
    // Records each script compiled with a file name (the launcher's bundles) and whether V8's code cache was used.
    writeFileSync(
      join(scratch, "record-scripts.cjs"),
      `const vm = require("node:vm");\nconst { appendFileSync } = require("node:fs");\n` +
        `vm.Script = class extends vm.Script {\n` +
        `  constructor(code, options) {\n` +
        `    super(code, options);\n` +
        `    const codeCache = options?.cachedData === undefined ? "none" : this.cachedDataRejected ? "rejected" : "used";\n` +
        `    if (options?.filename) appendFileSync(process.env.PACKAGES_FILE + ".scripts", JSON.stringify([options.filename, codeCache]) + "\\n");\n` +
        `  }\n};\n`,
    );
  });
  after(() => {
    removeAppBuild(join(scratch, "other-folder"));
    if (root) removeProjectCopy(root); // undefined if before() failed
    rmSync(scratch, { recursive: true, force: true });
  });

  /** `node tools/launch.cjs args` in `cwd` (the copy), with the package and script recorders preloaded. */
  function launch(
    args: string[],
    {
      cwd = root,
      env = {},
      onPackage,
      preload = [],
    }: { cwd?: string; env?: Record<string, string>; onPackage?: (packages: string, child: ChildProcess) => void; preload?: string[] } = {},
  ): Promise<Launch> {
    const packagesFile = join(scratch, `packages-${++launches}.txt`);
    writeFileSync(packagesFile, "");
    return new Promise((done, fail) => {
      const requires = [join(scratch, "record-packages.cjs"), join(scratch, "record-scripts.cjs"), ...preload].flatMap((file) => ["--require", file]);
      // By the path `cwd` names (the process's own cwd is the real path).
      const child = spawn(process.execPath, [...requires, join(cwd, "tools/launch.cjs"), ...args], {
        cwd,
        env: { ...process.env, PACKAGES_FILE: packagesFile, POWERTOOLS_LOG_LEVEL: "ERROR", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.on("error", fail);
      // Told of every package the process requires, as it requires it.
      const watcher = onPackage && watch(packagesFile, () => onPackage(readFileSync(packagesFile, "utf8"), child));
      child.on("close", () => watcher?.close());
      const recorded = (file: string) => (existsSync(file) ? [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean))] : []);
      const codeCaches = () => Object.fromEntries(recorded(`${packagesFile}.scripts`).map((line) => JSON.parse(line)));
      child.on("close", (code) =>
        done({ code, stdout, stderr, packages: recorded(packagesFile), firstLoadedWithTsx: recorded(`${packagesFile}.with-tsx`), codeCaches: codeCaches() }),
      );
    });
  }
  async function probe(env: Record<string, string> = {}, args: string[] = []) {
    const result = await launch([PROBE, ...args], { env });
    expect(result.code, result.stderr).to.equal(0);
    return { ...result, report: JSON.parse(result.stdout) };
  }
  const built = () => appRecord(root, PROBE);
  const recordTime = () => statSync(join(APP_DIR, built()!.name)).mtimeMs;
  const tsxLoaded = (l: Launch) => l.packages.some((p) => p.startsWith("tsx"));

  it("is how every npm script that runs a project .ts file starts (no tsx, no npx)", () => {
    const onTs = Object.entries(SCRIPTS).filter(([, command]) => /\.ts\b/.test(command));
    expect(onTs.map(([name]) => name)).to.include.members(["start", "serve", "watch", "bench", "synth:hcl"]);
    for (const [name, command] of onTs) expect(launchedFile(command), `${name}: ${command}`).to.not.equal(undefined);
  });

  /** BUILD_PACKAGES of tools/launch.cjs: the packages its build requires before registering tsx. */
  const buildPackages = (): string[] => {
    const listed = /^const BUILD_PACKAGES = (\[[^\]]*\]);$/m.exec(readFileSync(join(PROJECT_ROOT, "tools/launch.cjs"), "utf8"));
    expect(listed, "BUILD_PACKAGES in tools/launch.cjs").to.not.equal(null);
    return JSON.parse(listed![1].replace(/'/g, '"'));
  };

  it("lists in BUILD_PACKAGES (tools/launch.cjs) exactly the packages tools/app-build.ts and what it imports require", () => {
    // The packages tools/app-build.ts requires when tsx loads it, as the launcher's build does.
    const loads = spawnSync(
      process.execPath,
      ["--require", join(scratch, "record-packages.cjs"), "-e", 'require("tsx/cjs/api").register();\nrequire("./tools/app-build.ts");\n'],
      { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, PACKAGES_FILE: join(scratch, "build-packages.txt") } },
    );
    expect(loads.status, loads.stderr).to.equal(0);
    const required = new Set(readFileSync(join(scratch, "build-packages.txt"), "utf8").split("\n").filter((p) => p && !p.startsWith("tsx")));
    expect(buildPackages().sort()).to.deep.equal([...required].sort());
  });

  // Four full builds in all (the cold pair, the rebuild after a handler is edited, the uncached one) and one of the app
  // alone (after an edit of its own: its handlers reused).
  it("ends a first run with 130 and a message on a signal during its build (before the app's own handling loads)", async () => {
    removeAppBuild(root, PROBE);
    let signalled = false;
    const interrupted = await launch([PROBE], {
      onPackage: (packages, child) => {
        if (signalled || !packages.split("\n").includes("esbuild")) return; // the build has started
        signalled = true;
        child.kill("SIGTERM");
      },
    });
    expect(signalled, "the build started").to.equal(true);
    expect(interrupted.code, interrupted.stderr).to.equal(130);
    expect(interrupted.stderr).to.contain(`SIGTERM: interrupted while building ${PROBE}`);
    expect(built(), "nothing recorded").to.equal(undefined);
  });

  let cold: Launch;
  it("builds (through tsx) when launches start at once on a cold cache: each runs, one record names files that all exist", async () => {
    removeAppBuild(root, PROBE);
    // The synth app's folder from before the launcher, which a cached build removes.
    mkdirSync(OLD_SYNTH_APP_DIR, { recursive: true });
    writeFileSync(join(OLD_SYNTH_APP_DIR, "0123456789abcdef.json"), "{}");
    const launchesAtOnce = await Promise.all([probe(), probe()]); // as mocha's two workers start them
    for (const l of launchesAtOnce) expect(l.report.bumps).to.deep.equal([1, 2, 1]);
    // One builds (through tsx); the other waits for its lock and runs what it cached.
    expect(launchesAtOnce.map(tsxLoaded).sort(), "builds").to.deep.equal([false, true]);
    const builder = launchesAtOnce.find(tsxLoaded)!;
    cold = builder;
    const { record } = built()!;
    expect(Object.keys(record.entries).sort()).to.deep.equal([...HANDLER_ENTRIES].sort());
    for (const name of [record.main, `${record.main}.map`, record.check, ...Object.values(record.entries)]) expect(existsSync(join(APP_DIR, name)), name).to.equal(true);
    // Of this app (the cache folder is shared with every other test's apps).
    const ownFiles = [built()!.name, record.main, record.check, ...Object.values(record.entries)];
    const leftOver = readdirSync(APP_DIR).filter((n) => (n.endsWith(".tmp") || n.endsWith(".lock")) && ownFiles.some((own) => n.startsWith(own)));
    expect(leftOver, "no partial file or lock left").to.deep.equal([]);
    expect(existsSync(OLD_SYNTH_APP_DIR), "the old synth app's folder").to.equal(false);
    // V8's code cache is headed by the CPU time of the run that wrote it, counted from the app's load: a first run's
    // build (seconds of CPU, before the app loads) is not in it, so it is below what the building process had used.
    const writerCpuMs = readFileSync(join(APP_DIR, `${record.main}.v8`)).readDoubleLE(0);
    expect(writerCpuMs).to.be.above(0).and.below(builder.report.cpuMs);
  });

  it("requires the build's packages (BUILD_PACKAGES) before registering tsx, which would lex each of their files: none first required with tsx's hooks on", () => {
    // The cold case's building launch.
    expect(cold.packages).to.include.members(buildPackages());
    expect(cold.firstLoadedWithTsx, "first required while tsx's hooks were registered").to.deep.equal([]);
  });

  it("then runs from the cache without tsx; each handler load is a fresh module; stacks name the .ts", async () => {
    const builtAt = recordTime();
    const warm = await probe({}, ["--load-duckdb"]);
    expect(tsxLoaded(warm), `a warm launch loads no tsx: ${warm.packages.join(", ")}`).to.equal(false);
    expect(recordTime()).to.equal(builtAt);
    // Compiled from the V8 code caches the cold launches wrote at exit.
    const { record } = built()!;
    const copyAppDir = join(root, relative(PROJECT_ROOT, APP_DIR));
    expect(warm.codeCaches).to.deep.equal({ [join(copyAppDir, record.main)]: "used", [join(copyAppDir, record.entries[HANDLER])]: "used" });
    // The first load counts 1, 2; the second starts again at 1: nothing shared between the two loads.
    expect(warm.report.bumps).to.deep.equal([1, 2, 1]);
    expect(warm.report.childrenGained, "a module kept per handler load").to.equal(0);
    expect(warm.report.edition).to.equal(1);
    expect(warm.report.isMain, "the entry point runs as a script").to.equal(true);
    expect(warm.report.noEntry, "a file the build has no entry point for").to.equal(null);
    // A package the build leaves out is required from node_modules when the app requires it (and only then).
    expect(warm.packages).to.include("@duckdb/node-api");
    expect(cold.packages).to.not.include("@duckdb/node-api");
    // Stack traces name the .ts sources, from the app and from a handler's bundle.
    const { report } = warm;
    expect(report.inApp).to.contain("no-such-config.json").and.match(new RegExp(`\\(${join(root, "core/config.ts")}:\\d+:\\d+\\)`));
    expect(report.inHandler).to.match(new RegExp(`${join(root, "functions", FUNCTIONS.dataArrival.entry)}/[\\w-]+\\.ts:\\d+:\\d+`));
    // The copy's own path to the cache folder (its node_modules is a link to this checkout's): copyAppDir.
    for (const stack of [report.inApp, report.inHandler]) expect(stack, "no frame left in a bundle").to.not.contain(copyAppDir);
    // Only errors' stacks: one captured onto a plain object keeps the bundle's positions (no source map parsed for it).
    expect(report.captured).to.contain(`(${copyAppDir}/main-`).and.not.contain(join(root, PROBE));
    // Node's error codes stay, as Node prints them.
    expect(report.nodeError).to.match(/^TypeError \[ERR_INVALID_ARG_TYPE\]: The "path" argument/);
  });

  it("maps a handler's stack to the .ts when another folder's launch wrote the bundle's V8 code cache (V8 names the script as its writer did)", async () => {
    // Another project folder sharing this node_modules: this copy through a link, which node keeps (so the launcher's
    // folder is the link's), with its own record of the same build. Its app runs the same content-named handler bundle
    // under another file name, and is the first to write that bundle's code cache.
    const otherRoot = join(scratch, "linked-copy");
    symlinkSync(root, otherRoot, "dir");
    const { record } = built()!;
    const otherRecord = join(APP_DIR, `${createHash("sha256").update(`${otherRoot}\0${PROBE}`).digest("hex").slice(0, 16)}.json`);
    writeFileSync(otherRecord, JSON.stringify(record));
    const handlerCodeCache = join(APP_DIR, `${record.entries[HANDLER]}.v8`);
    try {
      rmSync(handlerCodeCache, { force: true });
      const other = await launch([join(otherRoot, PROBE)], { cwd: otherRoot, env: { NODE_OPTIONS: "--preserve-symlinks-main" } });
      expect(other.code, other.stderr).to.equal(0);
      expect(tsxLoaded(other), "the other folder's launch runs from the cache").to.equal(false);
      expect(JSON.parse(other.stdout).inHandler).to.match(new RegExp(`${join(otherRoot, "functions", FUNCTIONS.dataArrival.entry)}/[\\w-]+\\.ts:\\d+:\\d+`));
      const otherCodeCache = readFileSync(handlerCodeCache);
      const { report, codeCaches } = await probe();
      expect(report.inHandler, report.inHandler).to.match(new RegExp(`${join(root, "functions", FUNCTIONS.dataArrival.entry)}/[\\w-]+\\.ts:\\d+:\\d+`));
      for (const folder of [root, otherRoot]) expect(report.inHandler, "no frame left in a bundle").to.not.contain(join(folder, relative(PROJECT_ROOT, APP_DIR)));
      // Compiled afresh (the other folder's code cache names its own file), and written again under this folder's name.
      expect(codeCaches[join(root, relative(PROJECT_ROOT, APP_DIR), record.entries[HANDLER])], "the other folder's code cache of the handler").to.equal("none");
      expect(readFileSync(handlerCodeCache).equals(otherCodeCache), "the handler's code cache rewritten").to.equal(false);
    } finally {
      rmSync(otherRecord, { force: true });
    }
  });

  /** A launch of the probe with the esbuild builds it makes (their entry points' names, in order). */
  async function probeBuilds(env: Record<string, string> = {}) {
    const buildsFile = join(scratch, `builds-${++launches}.txt`);
    writeFileSync(buildsFile, "");
    const result = await launch([PROBE], { env: { BUILDS_FILE: buildsFile, ...env }, preload: [join(scratch, "record-builds.cjs")] });
    expect(result.code, result.stderr).to.equal(0);
    const builds = readFileSync(buildsFile, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as string[]);
    return { ...result, report: JSON.parse(result.stdout), builds };
  }
  const handlerBuild = HANDLER_ENTRIES.map((file) => `handler-${file.split("/")[1]}`);
  /** The copy's record of its handlers' build, which its apps share (tools/app-records.ts). */
  const handlersRecord = () => join(APP_DIR, handlersRecordName(realpathSync(root)));
  /** The files earlier builds found needing their own location (tools/app-build.ts), shared by every folder on this node_modules. */
  const learnedFile = join(CACHE_DIR, "own-location.json");
  const learnedList = () => JSON.parse(readFileSync(learnedFile, "utf8")) as string[];

  it("rebuilds the app alone after a file of its own is edited: the handlers' build, whose files are unchanged, is reused", async () => {
    const before = built()!.record;
    const handlersAt = statSync(handlersRecord()).mtimeMs;
    expect(JSON.parse(readFileSync(handlersRecord(), "utf8")).entries, "the handlers' record names the app's handlers").to.deep.equal(before.entries);
    writeFileSync(join(root, PROBE), `${PROBE_SOURCE}export const probeEdition = 2;\n`);
    // The learned files' list not a list (a foreign write): the app built once, every file looked at, the list repaired.
    writeFileSync(learnedFile, "{}");
    const edited = await probeBuilds();
    expect(tsxLoaded(edited), "rebuilt").to.equal(true);
    expect(edited.builds, "one esbuild build: the app's").to.deep.equal([["main", "check"]]);
    expect(learnedList(), "the list written again").to.include.members(["core/config.ts", PROBE]);
    expect(edited.report.bumps).to.deep.equal([1, 2, 1]);
    expect(edited.report.edition, "the cached handler runs").to.equal(1);
    const after = built()!.record;
    expect(after.main).to.not.equal(before.main);
    expect(after.entries, "the same handler bundles").to.deep.equal(before.entries);
    expect(statSync(handlersRecord()).mtimeMs, "the handlers' record not written again").to.equal(handlersAt);
    for (const name of Object.values(after.entries)) expect(existsSync(join(APP_DIR, name)), name).to.equal(true);
    // The app's record still names what the handlers' build read: editing a handler rebuilds the app (the next case).
    expect(after.inputs).to.include(join(realpathSync(root), HANDLER));
  });

  it("rebuilds after the app and a handler are edited: the edited ones run; superseded files are removed but those another record names", async () => {
    const before = built()!.record;
    const handlersAt = statSync(handlersRecord()).mtimeMs;
    // Another project folder sharing this node_modules whose app has the same handler bundle (content-named).
    const otherRoot = join(scratch, "other-folder"); // its record removed by after() too, if the case fails
    const otherRecord = join(APP_DIR, `launch-test-other-${basename(scratch)}.json`); // this run's own
    writeFileSync(otherRecord, JSON.stringify({ ...before, inputs: [join(otherRoot, PROBE)], main: "none.js", check: "none.js", entries: { [HANDLER]: before.entries[HANDLER] } }));
    // after() removes the copy
    writeFileSync(join(root, PROBE), `${PROBE_SOURCE}export const probeEdition = 3;\n`);
    writeFileSync(join(root, HANDLER), handlerSource + handlerProbe(2, root));
    // The handler edited again during the handlers' build, right after it was read: that build runs, but neither record
    // is written (the next launch builds both again). With a list of learned files holding no file name: every file
    // looked at, the list repaired.
    const preload = join(scratch, "edit-handler-during-build.cjs");
    writeFileSync(
      preload,
      `const fs = require("node:fs");\nconst read = fs.readFileSync;\nlet edited = false;\n` +
        `fs.readFileSync = function (path, ...rest) {\n  const text = read.call(this, path, ...rest);\n` +
        `  if (!edited && path === ${JSON.stringify(join(realpathSync(root), HANDLER))}) { edited = true; fs.appendFileSync(path, "\\n// edited during the build\\n"); }\n` +
        `  return text;\n};\n`,
    );
    writeFileSync(learnedFile, "[1]");
    const recordBefore = readFileSync(join(APP_DIR, built()!.name), "utf8");
    const during = await launch([PROBE], { preload: [preload] });
    expect(during.code, during.stderr).to.equal(0);
    expect(JSON.parse(during.stdout).edition, "the build as read runs").to.equal(2);
    expect(readFileSync(join(root, HANDLER), "utf8")).to.include("// edited during the build");
    expect(statSync(handlersRecord()).mtimeMs, "the handlers' record not written").to.equal(handlersAt);
    expect(readFileSync(join(APP_DIR, built()!.name), "utf8"), "nor the app's").to.equal(recordBefore);
    expect(learnedList(), "the list written again").to.include.members(["core/config.ts", PROBE]);
    // A build lock left by a process that is gone (killed mid-build) is taken over, not waited for.
    const lockFile = join(APP_DIR, `${built()!.name}.lock`);
    writeFileSync(lockFile, String(spawnSync(process.execPath, ["-e", "0"]).pid));
    const edited = await probeBuilds();
    expect(tsxLoaded(edited)).to.equal(true);
    expect(edited.builds, "the handlers built again, an input of theirs edited").to.deep.equal([["main", "check"], handlerBuild]);
    expect(existsSync(lockFile), "the lock released").to.equal(false);
    expect(edited.report.edition).to.equal(2);
    const after = built()!.record;
    expect(after.main).to.not.equal(before.main);
    expect(after.entries[HANDLER]).to.not.equal(before.entries[HANDLER]);
    expect(statSync(handlersRecord()).mtimeMs, "the handlers' record written again").to.not.equal(handlersAt);
    expect(JSON.parse(readFileSync(handlersRecord(), "utf8")).entries).to.deep.equal(after.entries);
    expect(existsSync(join(APP_DIR, before.main)), "the superseded app").to.equal(false);
    expect(existsSync(join(APP_DIR, before.entries[HANDLER])), "the superseded handler the other record names").to.equal(true);
    removeAppBuild(otherRoot);
    expect(existsSync(otherRecord)).to.equal(false);
    expect(existsSync(join(APP_DIR, before.entries[HANDLER])), "named by none now").to.equal(false);
    const again = await probe();
    expect(tsxLoaded(again), "and the new build is reused").to.equal(false);
    expect(again.report.edition).to.equal(2);
  });

  it("with ETL_BUILD_CACHE=off builds in memory, handlers included, and writes nothing to the cache", async () => {
    const before = built()!;
    const builtAt = recordTime();
    const handlersBefore = readFileSync(handlersRecord(), "utf8");
    const handlersAt = statSync(handlersRecord()).mtimeMs;
    const learnedBefore = { text: readFileSync(learnedFile, "utf8"), at: statSync(learnedFile).mtimeMs };
    const uncached = await probeBuilds({ ETL_BUILD_CACHE: "off" });
    expect(tsxLoaded(uncached), "built, not read from the cache").to.equal(true);
    expect(uncached.builds, "the handlers built too, not reused from the cache").to.deep.equal([["main", "check"], handlerBuild]);
    expect(uncached.report.bumps).to.deep.equal([1, 2, 1]);
    expect(uncached.report.edition).to.equal(2);
    expect(uncached.report.inHandler).to.match(new RegExp(`${join(root, "functions")}/.*\\.ts:\\d+:\\d+`));
    expect(built(), "the record as it was").to.deep.equal(before);
    expect(recordTime()).to.equal(builtAt);
    expect(readFileSync(handlersRecord(), "utf8"), "the handlers' record as it was").to.equal(handlersBefore);
    expect(statSync(handlersRecord()).mtimeMs).to.equal(handlersAt);
    expect({ text: readFileSync(learnedFile, "utf8"), at: statSync(learnedFile).mtimeMs }, "the learned files' list").to.deep.equal(learnedBefore);
  });

  it("refuses what is not a .ts file of the project, with exit 2 and the usage; a build error names the file", async () => {
    for (const args of [[], ["tools/launch.cjs"], [join(tmpdir(), "elsewhere.ts")]]) {
      const refused = await launch(args);
      expect(refused.code, args.join(" ")).to.equal(2);
      expect(refused.stderr).to.match(/^usage: node tools\/launch\.cjs <a \.ts file of /);
    }
    writeFileSync(join(root, "broken-entry.ts"), "export const broken = ;\n");
    const failed = await launch(["broken-entry.ts"]);
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.contain("cannot build broken-entry.ts").and.contain("broken-entry.ts:1");
  });

  it("takes over a build lock of its own process id or untouched for 30 s, touches the lock it holds, builds unlocked when a stale lock cannot be removed", async () => {
    const entry = "lock-entry.ts"; // never built: each launch below stops as its build starts
    writeFileSync(join(root, entry), "export {};\n");
    // As tools/launch.cjs names it: in the copy's cache folder (through its node_modules link), by the project folder
    // (as node resolves the launcher's) and the entry point.
    const copyRoot = realpathSync(root);
    const lockFile = join(copyRoot, relative(PROJECT_ROOT, APP_DIR), `${createHash("sha256").update(`${copyRoot}\0${entry}`).digest("hex").slice(0, 16)}.json.lock`);
    const lockLaunch = async (env: Record<string, string>) => {
      const logFile = join(scratch, `lock-${++launches}.log`);
      writeFileSync(logFile, "");
      const result = await launch([entry], { env: { LOCK_FILE: lockFile, LOCK_LOG: logFile, ...env }, preload: [join(scratch, "lock-probe.cjs")] });
      expect(result.code, result.stderr).to.equal(0);
      return readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    };
    /** A lock naming a live process (this one), last touched a minute ago. */
    const untouchedLock = () => {
      writeFileSync(lockFile, String(process.pid));
      const minuteAgo = new Date(Date.now() - 60_000);
      utimesSync(lockFile, minuteAgo, minuteAgo);
    };
    try {
      // Its own process id (a holder killed, its id reused by this launch): taken, held and touched while building.
      // The launch touches it every 100 ms here (5 s by default); held until it does, at most 60 s.
      expect(await lockLaunch({ LOCK_OWN_PID: "1", LOCK_HOLD_MS: "60000", ETL_LAUNCH_LOCK_TOUCH_MS: "100" })).to.deep.equal(["locked", "build", "touched"]);
      expect(existsSync(lockFile), "released at exit").to.equal(false);
      untouchedLock();
      expect(await lockLaunch({})).to.deep.equal(["locked", "build"]);
      expect(existsSync(lockFile), "released at exit").to.equal(false);
      // A stale lock the launch cannot remove: it builds without one.
      untouchedLock();
      expect(await lockLaunch({ LOCK_RM_FAILS: "1" })).to.deep.equal(["build"]);
      expect(existsSync(lockFile), "left as it was").to.equal(true);
    } finally {
      rmSync(lockFile, { force: true });
    }
  });

  it("requires a package it leaves out as node would from the importing file: aws-local-stepfunctions' own asl-validator, not the project's", async () => {
    // aws-local-stepfunctions (bundled) depends on asl-validator (left out, APP_EXTERNAL) in a version of its own,
    // nested in its node_modules; the project on another one, at the top. Node (and tsx, as the tests run the
    // library) loads the nested copy for it: so must the app, which runs from the cache folder.
    const loadedValidator = `JSON.stringify(Object.keys(require.cache).filter((file) => file.includes("/asl-validator/")).sort())`;
    const underNode = spawnSync(process.execPath, ["-e", `require("aws-local-stepfunctions");\nconsole.log(${loadedValidator});`], { cwd: root, encoding: "utf8" });
    expect(underNode.status, underNode.stderr).to.equal(0);
    const expected = JSON.parse(underNode.stdout) as string[];
    // What the case tells apart: the library's copy is not the one the app's own folder resolves.
    const fromAppFolder = realpathSync(require.resolve("asl-validator", { paths: [join(root, relative(PROJECT_ROOT, APP_DIR))] }));
    expect(expected, "the library's asl-validator under node").to.not.be.empty.and.not.include(fromAppFolder);
    const entry = "extern-probe.ts";
    writeFileSync(join(root, entry), `import { StateMachine } from "aws-local-stepfunctions";\nconsole.log(typeof StateMachine === "function" && ${loadedValidator});\n`);
    const launched = await launch([entry]);
    expect(launched.code, launched.stderr).to.equal(0);
    const loaded = JSON.parse(launched.stdout) as string[];
    const copies = (files: string[]) => [...new Set(files.map((file) => file.slice(0, file.lastIndexOf("/asl-validator/") + "/asl-validator".length)))];
    expect(copies(loaded), "the copy of asl-validator the launched app loaded").to.deep.equal(copies(expected));
    expect(loaded, "its files").to.deep.equal(expected);
  });

  it("loads no package before the arguments parse: `npm start -- --help` neither DuckDB nor dynalite (nor tsx)", async () => {
    // Run in this checkout, whose app other tests share: the static check of test/tools/entry-points.test.ts, seen
    // in the bundled app (the probe above, which requires DuckDB when told to, is the positive case).
    let help = await launch(["local/cli.ts", "--help"], { cwd: PROJECT_ROOT });
    // It built the app (no other test had yet), through tsx: the launch to look at is one from the cache.
    if (tsxLoaded(help)) help = await launch(["local/cli.ts", "--help"], { cwd: PROJECT_ROOT });
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^Usage: npm start --/);
    const heavy = help.packages.filter((p) => p === "@duckdb/node-api" || p === "dynalite" || p.startsWith("tsx"));
    expect(heavy, help.packages.join(", ")).to.deep.equal([]);
  });

  it("loads no server library for a run refused for its inputs: `npm start` with a bad CSV header exits 2 without dynalite", async () => {
    // The runtime loads and checks the inputs (its error names the file); dynalite, the one server library left out
    // of the build (s3rver and aws-local-stepfunctions are bundled), would be required from node_modules.
    const [dataset] = workflowShape().datasets;
    const badFile = join(scratch, "bad-header.csv");
    writeFileSync(badFile, "not_a_column\nx\n");
    const refused = await launch(["local/cli.ts", "--input", `${dataset}=${badFile}`, "--out", join(scratch, "refused-out")], { cwd: PROJECT_ROOT });
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.contain(`${badFile}: malformed CSV header`);
    expect(refused.packages, refused.packages.join(", ")).to.not.include("dynalite");
  });
});
