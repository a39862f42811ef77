import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CACHE_DIR, removeCache, writeCache } from "../../core/build-cache";
import { PROJECT_ROOT } from "../../core/config";
import { bundleCacheKey, functionsDirOf } from "../../stacks/bundle";
import { APP_DIR, type AppRecord } from "../../tools/app-records";
import { appRecord, claimSlot, copyProject, removeProjectCopy, stableCopyPath, stableProjectCopy } from "./project-copy";

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
      rmSync(claimFile, { recursive: true, force: true });
      rmSync(path, { recursive: true, force: true });
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

    /** What `f` writes to this process's stderr (the write is replaced while it runs), and its result. */
    function withStderr<T>(f: () => T): { result: T; stderr: string } {
      const write = process.stderr.write;
      let stderr = "";
      process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof write;
      try {
        return { result: f(), stderr };
      } finally {
        process.stderr.write = write;
      }
    }

    /** The pid of a process that has ended. */
    const deadPid = () => Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);

    it("is at the checkout's path for its purpose, made afresh with the checkout's times: what a run that died left is gone (its claim removed), and so is a file gone from the checkout", () => {
      const untracked = join(PROJECT_ROOT, `.project-copy-test-${process.pid}`); // not ignored: a clone of the working tree has it
      writeFileSync(untracked, "x");
      utimesSync(untracked, 946684800, 946684800); // changed just now (ctime), though its mtime says 2000
      // A run that died holding the slot: its claim, and a file its test left in the copy.
      const ours = claimSlot(path)!;
      writeFileSync(claimFile, JSON.stringify({ ...JSON.parse(ours), pid: deadPid() }));
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, "left-by-a-test.txt"), "x");
      const files = ["main.ts", "core/config.ts", "functions/etl-runner/handler.ts", "tsconfig.json", "package-lock.json"];
      try {
        // Copied as if right when the untracked file changed (on a loaded machine the copy may start later than that).
        const clock = Date.now;
        Date.now = () => statSync(untracked).ctimeMs;
        let first: string;
        try {
          first = copy();
        } finally {
          Date.now = clock;
        }
        expect(first).to.equal(path).and.equal(realpathSync(first));
        expect(path).to.not.equal(stableCopyPath(`${purpose}-other`));
        expect(JSON.parse(readFileSync(claimFile, "utf8")), "claimed by this process").to.include({ pid: process.pid });
        expect(existsSync(join(first, "left-by-a-test.txt")), "left in the copy of the run that died").to.equal(false);
        expect(readFileSync(join(first, "package.json"), "utf8")).to.equal(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
        expect(statSync(join(first, `.project-copy-test-${process.pid}`)).mtimeMs, "a file changed just before the copy: copied with the copy's time").to.not.equal(statSync(untracked).mtimeMs);
        const times = files.map((f) => statSync(join(first, f)).mtimeMs);
        files.forEach((f, i) => expect(Math.abs(times[i] - statSync(join(PROJECT_ROOT, f)).mtimeMs), `${f}: the checkout's time`).to.be.below(1));
        remove(first);
        expect(existsSync(first), "removed").to.equal(false);
        rmSync(untracked);
        const second = copy();
        expect(second).to.equal(first);
        expect(existsSync(join(second, `.project-copy-test-${process.pid}`)), "gone from the checkout").to.equal(false);
        expect(files.map((f) => statSync(join(second, f)).mtimeMs), "the same times as the copy before (the build cache's fingerprint)").to.deep.equal(times);
      } finally {
        rmSync(untracked, { force: true });
      }
    });

    it("while held, the next claimant gets a random copy (cold: removed with its builds); removal releases the claim and keeps a stable copy's builds", () => {
      const held = copy();
      expect(JSON.parse(readFileSync(claimFile, "utf8"))).to.include({ pid: process.pid });
      const { result: other, stderr } = withStderr(copy);
      expect(stderr, "says why, once").to.equal(`project-copy: ${claimFile} held by pid ${process.pid} (${hostname()}): using a random copy\n`);
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

    it("falls back to a random copy, saying why, when claiming fails (a claim it cannot read)", () => {
      mkdirSync(claimFile); // read as a claim: EISDIR
      const { result, stderr } = withStderr(copy);
      expect(result).to.not.equal(path);
      expect(stderr).to.match(new RegExp(`^project-copy: cannot claim ${path}: EISDIR.*: using a random copy\n$`));
    });

    it("claims a slot once (O_EXCL, naming its process); never takes over a live run's claim; removes the claim of a process that died on this host", () => {
      const scratch = realpathSync(mkdtempSync(join(tmpdir(), "etl-copy-claim-")));
      const slot = join(scratch, "slot");
      const file = `${slot}.claim`;
      try {
        const ours = claimSlot(slot)!;
        expect(JSON.parse(ours)).to.include({ pid: process.pid, host: hostname() });
        expect(readFileSync(file, "utf8")).to.equal(ours);
        expect(claimSlot(slot), "held by this (live) process").to.equal(undefined);
        const self = JSON.parse(ours);
        const dead = deadPid();
        const held = {
          "another live process of this host (the parent of this one)": { ...self, pid: process.ppid },
          "a dead process of another host (a /tmp shared between machines or containers)": { ...self, pid: dead, host: `${hostname()}-elsewhere` },
          "a dead process of another pid namespace": { ...self, pid: dead, pidNamespace: "pid:[1]" },
        };
        for (const [what, claim] of Object.entries(held)) {
          writeFileSync(file, JSON.stringify(claim));
          expect(claimSlot(slot), what).to.equal(undefined);
          expect(readFileSync(file, "utf8"), `${what}: its claim left`).to.equal(JSON.stringify(claim));
        }
        for (const text of ["", "null", "{"]) {
          writeFileSync(file, text);
          expect(claimSlot(slot), `not a claim (${JSON.stringify(text)}): held`).to.equal(undefined);
          expect(readFileSync(file, "utf8")).to.equal(text);
        }
        writeFileSync(file, JSON.stringify({ ...self, pid: dead }));
        writeFileSync(`${file}.reaping`, "");
        expect(claimSlot(slot), "another run removing it").to.equal(undefined);
        rmSync(`${file}.reaping`);
        const again = claimSlot(slot);
        expect(JSON.parse(again!), "a dead process of this host: its claim removed, the slot claimed").to.include({ pid: process.pid });
        expect(again, "each claim's text its own (a later claim by the same pid is not the earlier one)").to.not.equal(ours);
        expect(readFileSync(file, "utf8")).to.equal(again);
        expect(readdirSync(scratch), "the claim alone: no reaper's file, nothing written aside left").to.deep.equal(["slot.claim"]);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  });
});
