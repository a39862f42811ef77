// The app cdktf.json runs, `node tools/launch.cjs main.ts`: main.ts from a cached esbuild build (tools/app-build.ts),
// rebuilt when a file it read changes. Run in a copy of the project, so that editing its files disturbs no other test.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { expect } from "chai";
import { CACHE_DIR, removeCache, writeCache } from "../../core/build-cache";
import { PROJECT_ROOT } from "../../core/config";
import type { BuildOptions, Plugin } from "esbuild";
import { bundleCacheKey, functionsDirOf } from "../../stacks/bundle";
import { buildLocated } from "../../tools/app-build";
import { APP_DIR, appRecords, removeAppBuild } from "../../tools/app-records";
import { configVariant } from "../support/config-variant";
import { appRecord, copyProject, removeProjectCopy } from "../support/project-copy";

/** Every file under `dir`, by relative path, with its bytes. */
function filesOf(dir: string): Map<string, Buffer> {
  const entries = readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile());
  return new Map(entries.map((e) => [relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name))]));
}

const SYNTH_APP = ["tools/launch.cjs", "main.ts"];
/** The cached Lambda bundles of the project folder `root` (stacks/bundle.ts), about 3 MB. */
const bundleEntry = (root: string) => join(CACHE_DIR, bundleCacheKey(functionsDirOf(root)));
/** The files earlier builds found needing their own location (tools/app-build.ts), shared by every folder on this node_modules. */
const LEARNED = join(CACHE_DIR, "own-location.json");
const learnedList = () => JSON.parse(readFileSync(LEARNED, "utf8")) as string[];

describe("tools/launch.cjs main.ts: the synth app of cdktf.json", function () {
  this.timeout(180_000); // a build is about 1.5 s idle, several times that on a loaded machine
  let root: string;
  let scratch: string;
  let outCount = 0;

  before(() => {
    root = copyProject("etl-synth-app-");
    scratch = mkdtempSync(join(tmpdir(), "etl-synth-app-out-"));
  });
  after(() => {
    if (root) removeProjectCopy(root); // undefined if before() failed
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs `command` in the copy with a fresh output folder; returns the folder and the process's result. */
  function run(args: string[], env: Record<string, string> = {}) {
    const outdir = join(scratch, `out-${++outCount}`);
    const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", CDKTF_OUTDIR: outdir, ...env } });
    return { outdir, ...result };
  }
  function synth(env: Record<string, string> = {}) {
    const result = run(SYNTH_APP, env);
    expect(result.status, result.stderr).to.equal(0);
    return result;
  }
  const recordTime = () => statSync(join(APP_DIR, appRecord(root)!.name)).mtimeMs;
  /**
   * The copy's files in the app cache, by name, with when each was last written: its records and, for each, the files
   * named from its bundles (source maps, V8 code caches, partial writes, locks). Not the compiled check, which every
   * app shares (other tests' builds write it meanwhile); a bundle names the copy's paths, so it is the copy's alone.
   */
  const ownAppFiles = () => {
    const own = appRecords(root).flatMap(({ name, record }) => [name, record.main, ...Object.values(record.entries)]);
    const names = readdirSync(APP_DIR).filter((n) => own.some((o) => n.startsWith(o)));
    return Object.fromEntries(names.map((n) => [n, statSync(join(APP_DIR, n)).mtimeMs]));
  };
  /** Leaves a current build of the copy in the cache: a synth only when there is none (what an earlier test left). */
  function ensureBuilt() {
    const found = appRecord(root);
    try {
      // The build's own check, as tools/launch.cjs runs it (any read error is a miss there too).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      if (found && require(join(APP_DIR, found.record.check)).inputsUnchanged(found.record, root)) return;
    } catch {
      // no current build
    }
    synth();
  }

  it("is cdktf.json's app command: plain node on the JavaScript launcher, no tsx, no npx", () => {
    const app: string = JSON.parse(readFileSync(join(PROJECT_ROOT, "cdktf.json"), "utf8")).app;
    const [command, ...args] = app.split(/\s+/);
    expect(command).to.equal("node");
    expect(args).to.deep.equal(SYNTH_APP);
    expect(existsSync(join(PROJECT_ROOT, args[0]))).to.equal(true);
  });

  it("writes byte for byte what main.ts writes when tsx runs it, and caches its build beside the V8 code cache", () => {
    const built = synth();
    const viaTsx = run(["--import", "tsx", "main.ts"]);
    expect(viaTsx.status, viaTsx.stderr).to.equal(0);
    const ours = filesOf(built.outdir);
    const theirs = filesOf(viaTsx.outdir);
    expect([...ours.keys()].sort()).to.deep.equal([...theirs.keys()].sort());
    expect([...ours.keys()].some((f) => f.endsWith("cdk.tf.json"))).to.equal(true);
    for (const [file, bytes] of ours) expect(bytes.equals(theirs.get(file)!), file).to.equal(true);
    const { record } = appRecord(root)!;
    expect(record.inputs).to.include.members([join(root, "main.ts"), join(root, "stacks/app.ts"), join(root, "tools/app-build.ts")]);
    for (const name of [record.main, `${record.main}.v8`, `${record.main}.map`, record.check]) expect(existsSync(join(APP_DIR, name)), name).to.equal(true);
    expect(record.entries, "no handler entry points: the synth runs no handler").to.deep.equal({});
    expect(existsSync(bundleEntry(root)), "the Lambda bundles cached under the copy's functions folder").to.equal(true);
  });

  it("reuses its build while every file it read is unchanged, and rebuilds after a stack file is edited", () => {
    ensureBuilt();
    const before = appRecord(root)!;
    const builtAt = recordTime();
    // Counts the source maps the launcher parses: none, as no error's stack is formatted (cdktf's creation stack of
    // each token, captured onto a plain object and formatted at once, keeps the bundle's positions).
    const countMaps = join(scratch, "count-source-maps.cjs");
    writeFileSync(
      countMaps,
      `const Module = require("node:module");\nlet parsed = 0;\n` +
        `Module.SourceMap = class extends Module.SourceMap { constructor(...args) { super(...args); parsed++; } };\n` +
        `process.once("exit", () => process.stderr.write(\`source maps parsed: \${parsed}\\n\`));\n`,
    );
    const again = run(["--require", countMaps, ...SYNTH_APP]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.equal("source maps parsed: 0\n");
    expect(recordTime()).to.equal(builtAt);
    expect(again.stdout).to.equal("");
    const stackFile = join(root, "stacks/app.ts");
    const original = readFileSync(stackFile, "utf8");
    try {
      writeFileSync(stackFile, `${original}\nprocess.stdout.write("stacks/app.ts edited\\n");\n`);
      const edited = synth();
      expect(edited.stdout).to.equal("stacks/app.ts edited\n");
      const after = appRecord(root)!;
      expect(after.record.main).to.not.equal(before.record.main);
      expect(existsSync(join(APP_DIR, before.record.main)), "the superseded build is removed").to.equal(false);
      expect(synth().stdout, "and the new build is reused").to.equal("stacks/app.ts edited\n");
    } finally {
      writeFileSync(stackFile, original);
    }
  });

  it("does not cache a build during which a file it reads was edited: the synth runs it, the next synth builds and caches", () => {
    removeAppBuild(root, "main.ts");
    // Edits asl/consistency.ts right after the build read it: ownLocation reads it with fs.readFileSync, as it reads
    // every file that reads its own location (__filename here), and the build tool itself does not load it.
    const editedFile = join(root, "asl/consistency.ts");
    const original = readFileSync(editedFile, "utf8");
    const preload = join(scratch, "edit-during-build.cjs");
    writeFileSync(
      preload,
      `const fs = require("node:fs");\nconst read = fs.readFileSync;\nlet edited = false;\n` +
        `fs.readFileSync = function (path, ...rest) {\n` +
        `  const text = read.call(this, path, ...rest);\n` +
        `  if (!edited && path === ${JSON.stringify(editedFile)}) { edited = true; fs.appendFileSync(path, "\\n// edited during the build\\n"); }\n` +
        `  return text;\n};\n`,
    );
    try {
      // With the learned files' list cut short (a write cut off): every file looked at, the list written whole again.
      writeFileSync(LEARNED, '["core/con');
      const during = run(["--require", preload, ...SYNTH_APP]);
      expect(during.status, during.stderr).to.equal(0);
      expect(learnedList(), "the list written again").to.include.members(["core/config.ts", "asl/consistency.ts"]);
      expect(readFileSync(editedFile, "utf8")).to.include("// edited during the build");
      expect(appRecord(root), "no record of the build").to.equal(undefined);
      const codeCaches = readdirSync(APP_DIR).filter((n) => n.endsWith(".v8"));
      expect(codeCaches.filter((n) => !existsSync(join(APP_DIR, n.slice(0, -".v8".length)))), "nor a code cache of it").to.deep.equal([]);
      // Undone before the next synth, whose build the tests after this one then reuse (a rewrite would change its mtime).
      writeFileSync(editedFile, original);
      synth();
      expect(appRecord(root)!.record.inputs).to.include(editedFile);
    } finally {
      if (readFileSync(editedFile, "utf8") !== original) writeFileSync(editedFile, original);
    }
  });

  it("reads the configuration at every synth: an edited configuration changes the stacks, the build is reused", () => {
    ensureBuilt();
    const builtAt = recordTime();
    const { file } = configVariant(scratch, (raw) => (raw.tags = { ...raw.tags, SynthAppTest: "edited" }));
    const { outdir } = synth({ ETL_CONFIG: file });
    const stacks = [...filesOf(outdir)].filter(([f]) => f.endsWith("cdk.tf.json"));
    expect(stacks).to.not.be.empty;
    for (const [name, bytes] of stacks) expect(JSON.parse(bytes.toString()).provider.aws[0].default_tags[0].tags, name).to.include({ SynthAppTest: "edited" });
    expect(recordTime()).to.equal(builtAt);
  });

  it("with ETL_BUILD_CACHE=off builds in memory and writes nothing to the cache", () => {
    ensureBuilt();
    const before = appRecord(root)!;
    const builtAt = recordTime();
    const filesBefore = ownAppFiles();
    const learnedBefore = { text: readFileSync(LEARNED, "utf8"), at: statSync(LEARNED).mtimeMs };
    // With a current build in the cache, which a launch reading the cache would run: this one builds (it loads the build).
    const reportBuild = join(scratch, "report-build.cjs");
    writeFileSync(
      reportBuild,
      `const Module = require("node:module");\nconst load = Module._load;\n` +
        `Module._load = function (request, ...rest) {\n  if (request === "./app-build.ts") process.stderr.write("building\\n");\n  return load.call(this, request, ...rest);\n};\n`,
    );
    const uncached = run(["--require", reportBuild, ...SYNTH_APP], { ETL_BUILD_CACHE: "off" });
    expect(uncached.status, uncached.stderr).to.equal(0);
    expect(uncached.stderr.split("\n"), `built, not read from the cache: ${uncached.stderr}`).to.include("building");
    expect(appRecord(root), "the record as it was").to.deep.equal(before);
    expect(recordTime(), "the record not written again").to.equal(builtAt);
    expect(ownAppFiles(), "the copy's files in the app cache").to.deep.equal(filesBefore);
    expect({ text: readFileSync(LEARNED, "utf8"), at: statSync(LEARNED).mtimeMs }, "the learned files' list").to.deep.equal(learnedBefore);
    // The same bytes as a synth from the cached build (left for the tests after this one).
    const cached = synth();
    expect(recordTime(), "the cached build reused").to.equal(builtAt);
    const ours = filesOf(uncached.outdir);
    expect([...ours.keys()].sort()).to.deep.equal([...filesOf(cached.outdir).keys()].sort());
    for (const [file, bytes] of filesOf(cached.outdir)) expect(bytes.equals(ours.get(file)!), file).to.equal(true);
  });

  it("rebuilds when its cached file is gone, and fails naming the file esbuild cannot build", () => {
    ensureBuilt();
    const { record } = appRecord(root)!;
    rmSync(join(APP_DIR, record.main));
    // The learned files' list with a package gone, and another launch's addition written during this build (when it
    // reads main.ts): the build's own write keeps that addition (and project files absent here), drops the package.
    const id = `${process.pid}-${outCount}`;
    const [gone, concurrent] = [`/nonexistent/gone-${id}.js`, `added-meanwhile-${id}.ts`];
    writeFileSync(LEARNED, JSON.stringify([...learnedList(), gone]));
    const preload = join(scratch, "learn-meanwhile.cjs");
    writeFileSync(
      preload,
      `const fs = require("node:fs");\nconst read = fs.readFileSync;\nlet added = false;\n` +
        `fs.readFileSync = function (path, ...rest) {\n` +
        `  if (!added && path === ${JSON.stringify(join(root, "main.ts"))}) {\n` +
        `    added = true;\n` +
        `    fs.writeFileSync(${JSON.stringify(LEARNED)}, JSON.stringify([...JSON.parse(read(${JSON.stringify(LEARNED)}, "utf8")), ${JSON.stringify(concurrent)}]));\n` +
        `  }\n  return read.call(this, path, ...rest);\n};\n`,
    );
    try {
      const rebuilt = run(["--require", preload, ...SYNTH_APP]);
      expect(rebuilt.status, rebuilt.stderr).to.equal(0);
      const learned = learnedList();
      expect(learned).to.include(concurrent).and.not.include(gone);
      // Project files by their path in the folder, packages (reached through the copy's link) by their real path.
      expect(learned).to.include.members(["core/config.ts", "asl/consistency.ts", realpathSync(join(root, "node_modules/cdktf/lib/private/fs.js"))]);
      expect(learned.filter((file) => file.startsWith(`${root}/`) || file.startsWith("..")), "none by the copy's path").to.deep.equal([]);
    } finally {
      writeFileSync(LEARNED, JSON.stringify(learnedList().filter((file) => file !== concurrent)));
    }
    expect(existsSync(join(APP_DIR, appRecord(root)!.record.main))).to.equal(true);
    const stackFile = join(root, "stacks/app.ts");
    const original = readFileSync(stackFile, "utf8");
    try {
      writeFileSync(stackFile, `${original}\nexport const broken = ;\n`);
      const failed = run(SYNTH_APP);
      expect(failed.status).to.equal(1);
      expect(failed.stderr).to.include("cannot build main.ts").and.include("stacks/app.ts");
    } finally {
      writeFileSync(stackFile, original);
    }
  });

  it("makes `require.main === module` hold in the build's entry point only, in code only: strings and comments keep the text", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "etl-require-main-")));
    try {
      mkdirSync(join(dir, "node_modules", "reads-main"), { recursive: true });
      writeFileSync(join(dir, "node_modules", "reads-main", "index.js"), "exports.mainFile = require.main.filename;\nexports.isMain = require.main === module;\n");
      mkdirSync(join(dir, "src"));
      // An imported project file with the check, and the check's text in a string, a template, a regex and a comment.
      writeFileSync(
        join(dir, "src", "imported.ts"),
        'export const importedIsMain = require.main === module;\nexport const texts = ["require.main === module", `${"x"} require.main === module`, /require.main === module/.source]; // require.main === module\n',
      );
      writeFileSync(
        join(dir, "src", "entry.ts"),
        'import { importedIsMain, texts } from "./imported";\nimport { mainFile, isMain } from "reads-main";\nconst own = \'require.main === module\';\n' +
          "console.log(JSON.stringify({ entryIsMain: require.main === module, importedIsMain, packageIsMain: isMain, mainFile, texts: [own, ...texts] }));\n",
      );
      const { result } = await buildLocated({ entryPoints: [join(dir, "src", "entry.ts")], bundle: true, write: false, platform: "node", format: "cjs", logLevel: "silent" }, undefined);
      mkdirSync(join(dir, "cache", "app"), { recursive: true });
      writeFileSync(join(dir, "cache", "app", "main.js"), result.outputFiles![0].text);
      // Loaded by another file, as the launcher loads an app: node's require.main is that file.
      const runner = join(dir, "cache", "runner.cjs");
      writeFileSync(runner, 'require("./app/main.js");\n');
      const ran = spawnSync(process.execPath, [runner], { encoding: "utf8" });
      expect(ran.status, ran.stderr).to.equal(0);
      const text = "require.main === module";
      expect(JSON.parse(ran.stdout)).to.deep.equal({ entryIsMain: true, importedIsMain: false, packageIsMain: false, mainFile: runner, texts: [text, text, `x ${text}`, text] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives each bundled file that reads __dirname or __filename its own location, its \"use strict\" kept, however few files it was told of", async () => {
    // As core/config.ts (PROJECT_ROOT) and cdktf's zip helper (`node ${__filename}`) need when the app runs from the cache.
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "etl-own-location-")));
    try {
      const located = join(dir, "node_modules", "located", "index.js");
      mkdirSync(dirname(located), { recursive: true });
      writeFileSync(located, '"use strict";\nexports.file = __filename;\nexports.strict = (function () { return this; })() === undefined;\n');
      mkdirSync(join(dir, "src"));
      const rootFile = join(dir, "src", "root.ts");
      writeFileSync(rootFile, 'import { resolve } from "node:path";\nexport const ROOT = resolve(__dirname, "..");\n');
      const late = join(dir, "src", "late.ts");
      writeFileSync(late, "export const late = __dirname;\n");
      const entry = join(dir, "src", "entry.ts");
      writeFileSync(entry, 'import { ROOT } from "./root";\nimport { late } from "./late";\nimport { file, strict } from "located";\nconsole.log(JSON.stringify({ ROOT, late, file, strict }));\n');
      const options: BuildOptions = { entryPoints: [entry], bundle: true, write: false, platform: "node", format: "cjs", logLevel: "silent", absWorkingDir: dir };
      const ran = (code: string) => {
        mkdirSync(join(dir, "cache", "app"), { recursive: true });
        writeFileSync(join(dir, "cache", "app", "main.js"), code);
        const result = spawnSync(process.execPath, [join(dir, "cache", "app", "main.js")], { encoding: "utf8" });
        expect(result.status, result.stderr).to.equal(0);
        return JSON.parse(result.stdout);
      };
      const expected = { ROOT: dir, late: join(dir, "src"), file: located, strict: true };
      // Told of no file learned: the plugin looks at every file.
      const all = (await buildLocated(options, undefined)).result.outputFiles![0].text;
      expect(ran(all)).to.deep.equal(expected);
      // buildLocated, told of the files that need it (learned from earlier builds), or of fewer (a package upgraded, a
      // project file edited since): the same build each time, every file that needs its location given it.
      await new Promise((done) => setTimeout(done, 100)); // the files' change times before the builds start
      const needing = [rootFile, late, located];
      for (const learned of [needing, [], [rootFile, late]]) {
        const { result, rewritten } = await buildLocated(options, learned && new Set(learned));
        expect(result.outputFiles![0].text, `told of ${learned}`).to.equal(all);
        expect([...rewritten].sort(), `told of ${learned}`).to.deep.equal([...needing].sort());
      }
      // The entry point (always looked at) edited right after ownLocation read it, so that it then needs its location:
      // the build compiles the text checked, never a bare __dirname (buildApp's record sees the edit: the next one builds).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fs = require("node:fs") as typeof import("node:fs");
      const read = fs.readFileSync;
      const original = read(entry, "utf8");
      for (const learned of [undefined, new Set(needing)]) {
        let edited = false;
        fs.readFileSync = function (this: unknown, ...args: Parameters<typeof read>) {
          const text = read.apply(this, args);
          if (!edited && args[0] === entry) [edited] = [true, writeFileSync(entry, `${original}console.log(__dirname);\n`)];
          return text;
        } as typeof read;
        try {
          const { result } = await buildLocated(options, learned);
          expect(edited, "edited during the build").to.equal(true);
          expect(result.outputFiles![0].text, `told of ${learned && [...learned]}`).to.equal(all);
        } finally {
          fs.readFileSync = read;
          writeFileSync(entry, original);
        }
      }
      // A file not told of, edited during the build (after esbuild read it) so that it no longer needs its location: the
      // build is made again (what esbuild read is unknown), the edited file's code in it, never its bare __dirname.
      const editLate: Plugin = { name: "edit-late", setup: (b) => b.onEnd(() => writeFileSync(late, 'export const late = "edited";\n')) };
      const { result, rewritten } = await buildLocated({ ...options, plugins: [editLate] }, new Set([rootFile, located]));
      expect(ran(result.outputFiles![0].text)).to.deep.equal({ ...expected, late: "edited" });
      expect([...rewritten].sort()).to.deep.equal([rootFile, located].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Last: it removes the copy.
  it("leaves nothing the copy built in the cache once removed (removeProjectCopy): its apps and Lambda bundles; another folder's stay", () => {
    // What the earlier tests' synths left (a synth when run alone); current or not, it is the copy's.
    if (!appRecord(root) || !existsSync(bundleEntry(root))) synth();
    expect(appRecord(root), "the copy's app built").to.not.equal(undefined);
    expect(existsSync(bundleEntry(root)), "the copy's bundles cached").to.equal(true);
    const sibling = `${root}-sibling`; // a folder whose path starts with the copy's
    writeCache(bundleCacheKey(functionsDirOf(sibling)), "{}");
    try {
      removeProjectCopy(root);
      expect(existsSync(root)).to.equal(false);
      expect(appRecord(root)).to.equal(undefined);
      expect(existsSync(bundleEntry(root)), "the copy's bundles left in the cache").to.equal(false);
      expect(existsSync(bundleEntry(sibling)), "another folder's bundles removed").to.equal(true);
    } finally {
      removeCache(bundleCacheKey(functionsDirOf(sibling)));
    }
  });
});
