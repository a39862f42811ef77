// tools/app-records.ts: the removal of cached apps: a file is removed only when no other record names it (the compiled check
// and the handlers' bundles are content-named, shared by every entry point and project folder using this node_modules).
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { APP_DIR, appRecords, OLD_SYNTH_APP_DIR, removeAppBuild, removeOldSynthApp, type AppRecord } from "../../tools/app-records";

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

describe("tools/app-records: removeOldSynthApp", () => {
  const kept = join(APP_DIR, `test-kept-${randomUUID().slice(0, 8)}.js`);
  after(() => rmSync(kept, { force: true }));

  it("removes the synth app's folder from before the launcher, and nothing else of the cache; none is no error", () => {
    mkdirSync(join(OLD_SYNTH_APP_DIR, "nested"), { recursive: true });
    writeFileSync(join(OLD_SYNTH_APP_DIR, "0123456789abcdef.json"), "{}");
    writeFileSync(join(OLD_SYNTH_APP_DIR, "nested", "main-0.js"), "");
    mkdirSync(APP_DIR, { recursive: true });
    writeFileSync(kept, "");
    removeOldSynthApp();
    expect(existsSync(OLD_SYNTH_APP_DIR)).to.equal(false);
    expect(existsSync(kept), "the launcher's own folder").to.equal(true);
    expect(() => removeOldSynthApp()).to.not.throw();
  });
});
