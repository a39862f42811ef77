// tools/app-records.ts: the removal of cached apps: a file is removed only when no other record names it (the compiled check
// and the handlers' bundles are content-named, shared by every entry point and project folder using this node_modules).
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
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
