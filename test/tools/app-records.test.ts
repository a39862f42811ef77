// tools/app-records.ts: the removal of cached apps: a file is removed only when no other record names it (the compiled check
// and the handlers' bundles are content-named, shared by every entry point and project folder using this node_modules).
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { recordInputs, startBuild } from "../../core/build-inputs";
import { cachedHandlers, HANDLER_ENTRIES, type CachedFile } from "../../tools/app-build";
import { APP_DIR, appRecords, handlersRecordName, OLD_SYNTH_APP_DIR, oldSynthAppDir, removeAppBuild, removeOldSynthApp, type AppRecord, type HandlersRecord } from "../../tools/app-records";

describe("tools/app-records: removeAppBuild", () => {
  const id = randomUUID().slice(0, 8);
  // Two project folders (never created: records name them only) whose apps share a handler bundle and the check.
  const roots = ["/nonexistent/a", "/nonexistent/b"].map((r) => `${r}-${id}`);
  const shared = [`check-${id}.js`, `handler-x-${id}.js`];
  const own = roots.map((_, i) => `main-${i}-${id}.js`);
  const recordNames = roots.map((_, i) => `test-${i}-${id}.json`);
  const present = (file: string) => ["", ".map", ".v8"].map((ext) => existsSync(join(APP_DIR, file + ext)));

  before(() => {
    mkdirSync(APP_DIR, { recursive: true });
    roots.forEach((root, i) => {
      const record: AppRecord = { entry: "main.ts", inputs: [join(root, "main.ts")], inputsFingerprint: "", lockfileHash: "", main: own[i], check: shared[0], entries: { "functions/x/handler.ts": shared[1] } };
      writeFileSync(join(APP_DIR, recordNames[i]), JSON.stringify(record));
    });
    for (const file of [...shared, ...own]) for (const ext of ["", ".map", ".v8"]) writeFileSync(join(APP_DIR, file + ext), "");
  });
  after(() => {
    for (const file of [...shared, ...own, ...recordNames]) for (const ext of ["", ".map", ".v8"]) rmSync(join(APP_DIR, file + ext), { force: true });
  });

  it("removes a folder's record and its own files, sparing those another folder's record names; the last one removes them", () => {
    expect(appRecords(roots[0]).map((r) => r.name)).to.deep.equal([recordNames[0]]);
    removeAppBuild(roots[0]);
    expect(appRecords(roots[0])).to.deep.equal([]);
    expect(present(own[0]), "its own bundle, map, code cache").to.deep.equal([false, false, false]);
    for (const file of [...shared, own[1]]) expect(present(file), file).to.deep.equal([true, true, true]);
    expect(appRecords(roots[1]).map((r) => r.name)).to.deep.equal([recordNames[1]]);
    removeAppBuild(roots[1], "other.ts");
    expect(appRecords(roots[1]), "another entry point's removal leaves it").to.have.length(1);
    removeAppBuild(roots[1], "main.ts");
    for (const file of [...shared, own[1]]) expect(present(file), file).to.deep.equal([false, false, false]);
  });
});

describe("tools/app-records: a project folder's handlers' record (their build, which its apps share)", () => {
  const id = randomUUID().slice(0, 8);
  const root = `/nonexistent/handlers-${id}`; // never created: records name it only
  const handler = `handler-y-${id}.js`;
  const appRecordName = `test-handlers-${id}.json`;
  const present = () => ["", ".map", ".v8"].map((ext) => existsSync(join(APP_DIR, handler + ext)));

  before(() => {
    mkdirSync(APP_DIR, { recursive: true });
    const record: AppRecord = { entry: "main.ts", inputs: [join(root, "main.ts")], inputsFingerprint: "", lockfileHash: "", main: `main-${id}.js`, check: `check-${id}.js`, entries: { "functions/y/handler.ts": handler } };
    writeFileSync(join(APP_DIR, appRecordName), JSON.stringify(record));
    const handlers: HandlersRecord = { root, inputs: [], inputsFingerprint: "", lockfileHash: "", entries: { "functions/y/handler.ts": handler } };
    writeFileSync(join(APP_DIR, handlersRecordName(root)), JSON.stringify(handlers));
    for (const file of [handler, `main-${id}.js`]) for (const ext of ["", ".map", ".v8"]) writeFileSync(join(APP_DIR, file + ext), "");
  });
  after(() => {
    for (const file of [handler, `main-${id}.js`, appRecordName, handlersRecordName(root)]) for (const ext of ["", ".map", ".v8"]) rmSync(join(APP_DIR, file + ext), { force: true });
  });

  it("keeps the bundles it names when an app's record goes; the folder's removal removes it and them", () => {
    expect(handlersRecordName(root)).to.match(/^[0-9a-f]{16}\.handlers$/).and.not.equal(handlersRecordName(`${root}-other`));
    removeAppBuild(root, "main.ts");
    expect(appRecords(root), "the app's record").to.deep.equal([]);
    expect(existsSync(join(APP_DIR, `main-${id}.js`)), "the app's own bundle").to.equal(false);
    expect(present(), "the handler's bundle, which the handlers' record names").to.deep.equal([true, true, true]);
    expect(existsSync(join(APP_DIR, handlersRecordName(root)))).to.equal(true);
    removeAppBuild(root);
    expect(existsSync(join(APP_DIR, handlersRecordName(root))), "the handlers' record").to.equal(false);
    expect(present(), "named by none now").to.deep.equal([false, false, false]);
  });
});

describe("tools/app-records: removeOldSynthApp", () => {
  // A project folder of this test's own (its build cache where this checkout's is), so that no other test's is touched.
  const root = mkdtempSync(join(tmpdir(), "etl-old-synth-app-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("is in this checkout's build cache, beside the launcher's apps", () => {
    expect(OLD_SYNTH_APP_DIR).to.equal(join(dirname(APP_DIR), "synth-app"));
  });

  it("removes the synth app's folder from before the launcher, and nothing else of the cache; none is no error", () => {
    const old = oldSynthAppDir(root);
    expect(old.startsWith(root + "/"), old).to.equal(true);
    mkdirSync(join(old, "nested"), { recursive: true });
    writeFileSync(join(old, "0123456789abcdef.json"), "{}");
    writeFileSync(join(old, "nested", "main-0.js"), "");
    const kept = join(dirname(old), "apps", "kept.js");
    mkdirSync(dirname(kept), { recursive: true });
    writeFileSync(kept, "");
    removeOldSynthApp(root);
    expect(existsSync(old)).to.equal(false);
    expect(existsSync(kept), "the launcher's own folder").to.equal(true);
    expect(() => removeOldSynthApp(root)).to.not.throw();
  });
});

describe("tools/app-build: cachedHandlers, the handlers' record reused only while it is the folder's current build of them", () => {
  const id = randomUUID().slice(0, 8);
  let root: string;
  const bundles = HANDLER_ENTRIES.map((_, i) => `handler-${i}-${id}.js`);
  const write = (record: HandlersRecord) => writeFileSync(join(APP_DIR, handlersRecordName(root)), JSON.stringify(record));
  let current: HandlersRecord;
  const openFds = () => readdirSync("/proc/self/fd").length;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "etl-cached-handlers-"));
    writeFileSync(join(root, "package-lock.json"), "{}\n");
    writeFileSync(join(root, "handler.ts"), "export {};\n");
    mkdirSync(APP_DIR, { recursive: true });
    for (const file of bundles) writeFileSync(join(APP_DIR, file), "");
    // Its input's change time well before the build's start, as a record written by a build.
    const recorded = recordInputs([join(root, "handler.ts")], root, { ...startBuild(root), startedAt: Date.now() + 60_000 })!;
    current = { ...recorded, root, entries: Object.fromEntries(HANDLER_ENTRIES.map((file, i) => [file, bundles[i]])) };
  });
  after(() => {
    for (const file of [...bundles, handlersRecordName(root)]) rmSync(join(APP_DIR, file), { force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it("reuses the current one, its bundles opened; not one naming other handlers, another folder, a changed lockfile, or a bundle gone (none left open)", () => {
    write(current);
    const reused = () => {
      const found = cachedHandlers(root);
      for (const { fd } of Object.values(found?.entries ?? {}) as CachedFile[]) closeSync(fd);
      return found && Object.keys(found.entries).sort();
    };
    expect(reused()).to.deep.equal([...HANDLER_ENTRIES].sort());
    const stale: Record<string, HandlersRecord> = {
      "a handler fewer": { ...current, entries: Object.fromEntries(HANDLER_ENTRIES.slice(1).map((file) => [file, current.entries[file]])) },
      "another handler": { ...current, entries: { ...current.entries, "functions/other/handler.ts": bundles[0] } },
      "another folder's": { ...current, root: `${root}-other` },
    };
    for (const [what, record] of Object.entries(stale)) {
      write(record);
      expect(reused(), what).to.equal(undefined);
    }
    write(current);
    writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}\n');
    try {
      expect(reused(), "the lockfile changed").to.equal(undefined);
    } finally {
      writeFileSync(join(root, "package-lock.json"), "{}\n");
    }
    expect(reused(), "current again").to.not.equal(undefined);
    const fds = openFds();
    rmSync(join(APP_DIR, bundles[bundles.length - 1]));
    expect(cachedHandlers(root), "its last bundle gone").to.equal(undefined);
    expect(openFds(), "the bundles opened before it closed again").to.equal(fds);
  });
});
