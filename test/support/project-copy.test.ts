import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CACHE_DIR, removeCache, writeCache } from "../../core/build-cache";
import { PROJECT_ROOT } from "../../core/config";
import { bundleCacheKey, functionsDirOf } from "../../stacks/bundle";
import { APP_DIR, type AppRecord } from "../../tools/app-records";
import { appRecord, copyProject, removeProjectCopy, stableCopyPath, stableProjectCopy } from "./project-copy";

describe("test/support/project-copy", () => {
  it("copies the project to its real path, a temporary folder reached through a link (as macOS's) resolved", () => {
    const scratch = mkdtempSync(join(tmpdir(), "etl-linked-tmp-"));
    const linked = join(scratch, "tmp");
    symlinkSync(tmpdir(), linked, "dir");
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = linked; // os.tmpdir() reads it on every call
    let root: string | undefined;
    try {
      root = copyProject();
      expect(root).to.equal(realpathSync(root)).and.not.include(linked);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
      if (root) removeProjectCopy(root);
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  describe("a stable copy (stableProjectCopy)", () => {
    // This process's own purpose: a concurrent `npm test` of this checkout claims another slot.
    const purpose = `copy-test-${process.pid}`;
    const path = stableCopyPath(purpose);
    const claimFile = `${path}.claim`;
    const copies: string[] = [];
    const copy = () => {
      const root = stableProjectCopy(purpose);
      copies.push(root);
      return root;
    };
    const remove = (root: string) => {
      removeProjectCopy(root);
      copies.splice(copies.indexOf(root), 1);
    };
    afterEach(() => {
      while (copies.length) remove(copies[copies.length - 1]);
      rmSync(claimFile, { force: true });
    });

    /** An app record and a Lambda bundles entry of the project folder `root` in the build cache (what its builds would leave). */
    function cacheEntriesOf(root: string) {
      const record: AppRecord = { entry: "main.ts", inputs: [join(root, "main.ts")], inputsFingerprint: "", lockfileHash: "", main: `main-copy-test-${process.pid}.js`, check: `check-copy-test-${process.pid}.js`, entries: {} };
      mkdirSync(APP_DIR, { recursive: true });
      const recordFile = join(APP_DIR, `copy-test-${process.pid}.json`);
      writeFileSync(recordFile, JSON.stringify(record));
      writeCache(bundleCacheKey(functionsDirOf(root)), "{}");
      const bundles = join(CACHE_DIR, bundleCacheKey(functionsDirOf(root)));
      return {
        present: () => ({ app: appRecord(root) !== undefined, bundles: existsSync(bundles) }),
        remove: () => {
          rmSync(recordFile, { force: true });
          removeCache(bundleCacheKey(functionsDirOf(root)));
        },
      };
    }

    it("is at the checkout's path for its purpose, recreated from scratch: a file gone from the checkout or left in the copy is not in the next one", () => {
      const untracked = join(PROJECT_ROOT, `.project-copy-test-${process.pid}`); // not ignored: a clone of the working tree has it
      writeFileSync(untracked, "x");
      try {
        const first = copy();
        expect(first).to.equal(path).and.equal(realpathSync(first));
        expect(path).to.not.equal(stableCopyPath(`${purpose}-other`));
        expect(readFileSync(join(first, "package.json"), "utf8")).to.equal(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
        expect(existsSync(join(first, `.project-copy-test-${process.pid}`))).to.equal(true);
        writeFileSync(join(first, "left-by-a-test.txt"), "x");
        remove(first);
        expect(existsSync(first), "removed").to.equal(false);
        rmSync(untracked);
        const second = copy();
        expect(second).to.equal(first);
        expect(existsSync(join(second, `.project-copy-test-${process.pid}`)), "gone from the checkout").to.equal(false);
        expect(existsSync(join(second, "left-by-a-test.txt")), "left in the earlier copy").to.equal(false);
      } finally {
        rmSync(untracked, { force: true });
      }
    });

    it("keeps the checkout's modification times: the next copy's files have the same size and time (the build cache's fingerprint)", () => {
      const files = ["main.ts", "core/config.ts", "functions/etl-runner/handler.ts", "tsconfig.json", "package-lock.json"];
      const first = copy();
      const times = files.map((f) => statSync(join(first, f)).mtimeMs);
      files.forEach((f, i) => expect(Math.abs(times[i] - statSync(join(PROJECT_ROOT, f)).mtimeMs), f).to.be.below(1));
      remove(first);
      const second = copy();
      expect(files.map((f) => statSync(join(second, f)).mtimeMs)).to.deep.equal(times);
    });

    it("while held, the next claimant gets a random copy (cold: removed with its builds); removal releases the claim and keeps a stable copy's builds", () => {
      const held = copy();
      expect(JSON.parse(readFileSync(claimFile, "utf8"))).to.include({ pid: process.pid });
      const other = copy();
      expect(other).to.not.equal(path);
      expect(other).to.match(new RegExp(`^${realpathSync(tmpdir())}/etl-copy-${purpose}-`));
      const otherEntries = cacheEntriesOf(other);
      try {
        expect(otherEntries.present()).to.deep.equal({ app: true, bundles: true });
        remove(other);
        expect(otherEntries.present(), "a random copy's builds removed with it").to.deep.equal({ app: false, bundles: false });
        expect(existsSync(other)).to.equal(false);
      } finally {
        otherEntries.remove();
      }
      const heldEntries = cacheEntriesOf(held);
      try {
        remove(held);
        expect(existsSync(held)).to.equal(false);
        expect(existsSync(claimFile), "released").to.equal(false);
        expect(heldEntries.present(), "a stable copy's builds kept").to.deep.equal({ app: true, bundles: true });
        expect(copy(), "claimed again once released").to.equal(path);
      } finally {
        heldEntries.remove();
      }
    });

    it("never takes over a live run's claim; removes a claim whose process died (on this host) and claims the slot", () => {
      const self = JSON.parse((() => {
        const root = copy();
        const text = readFileSync(claimFile, "utf8");
        remove(root);
        return text;
      })());
      // Another live process of this host (the parent of this one): its claim stands.
      writeFileSync(claimFile, JSON.stringify({ ...self, pid: process.ppid }));
      expect(copy()).to.not.equal(path);
      // A dead process of another host (a /tmp shared between machines or containers): not ours to judge.
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
      const deadPid = Number(dead.stdout);
      writeFileSync(claimFile, JSON.stringify({ ...self, pid: deadPid, host: `${hostname()}-elsewhere` }));
      expect(copy()).to.not.equal(path);
      // Being written (empty): held.
      writeFileSync(claimFile, "");
      expect(copy()).to.not.equal(path);
      // Another reaper at work: left to it.
      writeFileSync(claimFile, JSON.stringify({ ...self, pid: deadPid }));
      writeFileSync(`${claimFile}.reaping`, "");
      try {
        expect(copy()).to.not.equal(path);
      } finally {
        rmSync(`${claimFile}.reaping`);
      }
      // A dead process of this host: its claim removed, the slot claimed by this one, the copy recreated.
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, "left-by-the-dead-run.txt"), "x");
      expect(copy()).to.equal(path);
      expect(JSON.parse(readFileSync(claimFile, "utf8"))).to.deep.equal(self);
      expect(existsSync(join(path, "left-by-the-dead-run.txt"))).to.equal(false);
      expect(existsSync(`${claimFile}.reaping`)).to.equal(false);
    });
  });
});
