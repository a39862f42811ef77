// A copy of the project as a clone has it (tracked files, and new ones not ignored), with this checkout's
// node_modules linked: for tests that change project files or run the project's commands elsewhere.
//
// Two kinds. copyProject: at a fresh random path, its builds removed with it: a cold copy every time.
// stableProjectCopy: at a path fixed per checkout, user and purpose, recreated from scratch on each use (removed, then
// copied: nothing of an earlier run survives in it) with the files' modification times kept (but for files changed just
// before the copy: see fill), and its builds left in the cache when removed. A copy at the same path with the same
// sizes and times is what tsx's transform cache (keyed by path and content) and the build cache (core/build-inputs.ts:
// path, size, mtime) hit: a test run after another reuses the copy's transforms, apps and Lambda bundles, and a file
// changed in the checkout (size or mtime) still rebuilds.
// Kept builds are bounded: a stable copy's rebuild replaces its entry.
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CHANGE_TIME_SLACK_MS } from "../../core/build-inputs";
import { PROJECT_ROOT } from "../../core/config";
import { functionsDirOf, removeBundleBuild } from "../../stacks/bundle";
import { appRecords, removeAppBuild, type AppRecord } from "../../tools/app-records";

function fill(root: string): void {
  // A file changed (ctime) this close to the copy may be changed again at the same size and mtime after it is copied:
  // copied with the time of the copy, so that the copy's builds are not taken as current (core/build-inputs.ts).
  const changedSince = Date.now() - CHANGE_TIME_SLACK_MS;
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: PROJECT_ROOT, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    try {
      // The checkout's modification times: a stable copy's builds are current while its files are (see the top).
      const settled = statSync(join(PROJECT_ROOT, file)).ctimeMs < changedSince;
      cpSync(join(PROJECT_ROOT, file), join(root, file), { preserveTimestamps: settled });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; // deleted in the working tree, not yet committed
    }
  }
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
}

// Resolved (on macOS the temporary folder is a link): the copy's commands name their cache entries by the real
// PROJECT_ROOT, and removeProjectCopy must name the same ones.
const realTmpdir = () => realpathSync(tmpdir());

/** A copy at a fresh random path: cold (no transform or build of an earlier copy applies), its builds removed with it. */
export function copyProject(prefix = "etl-project-copy-"): string {
  const root = realpathSync(mkdtempSync(join(realTmpdir(), prefix)));
  fill(root);
  return root;
}

/** Where this checkout's stable copy for `purpose` goes; its claim is `${path}.claim`. */
export function stableCopyPath(purpose: string): string {
  if (!/^[a-z0-9-]+$/.test(purpose)) throw new Error(`stableCopyPath: purpose "${purpose}" is not lower-case letters, digits and dashes`);
  // Per user too: in a shared sticky /tmp another user's copy and claim are not ours to remove.
  const checkout = createHash("sha256").update(`${PROJECT_ROOT}\0${process.getuid?.() ?? ""}`).digest("hex").slice(0, 12);
  return join(realTmpdir(), `etl-copy-${checkout}-${purpose}`);
}

/** The stable copies this process holds, by path: their claim's text. */
const held = new Map<string, string>();

interface Claimant {
  pid: number;
  host: string;
  pidNamespace: string;
  nonce: string;
}

/**
 * Who claims: the process, and where its pid means something (a pid of another host or pid namespace is not ours to
 * judge); a nonce makes each claim's text unique, so a claim made later (by a reused pid, too) never reads as the same.
 */
function claimant(): Claimant {
  let pidNamespace = "";
  try {
    pidNamespace = readlinkSync("/proc/self/ns/pid");
  } catch {
    // not Linux: the host alone
  }
  return { pid: process.pid, host: hostname(), pidNamespace, nonce: randomUUID() };
}

/** A claim's text read back: undefined when it is not one (JSON, but not an object naming a pid). */
function parseClaim(text: string): Claimant | undefined {
  try {
    const claim = JSON.parse(text);
    return typeof claim?.pid === "number" ? claim : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates `file` with `text` only if there is none: the one atomic step of a claim. Written aside and linked (link
 * fails with EEXIST if the name exists), so the file is never seen empty or half written.
 */
function createExclusive(file: string, text: string): boolean {
  const written = `${file}.${randomUUID()}.tmp`;
  writeFileSync(written, text, { flag: "wx" });
  try {
    linkSync(written, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    rmSync(written, { force: true });
  }
}

/** The file's text, or undefined when there is none. */
function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: someone else's live process
  }
};

/**
 * Removes the claim `file` of a run that died holding it (killed, or interrupted before its `after` hooks): its process
 * is gone, on this host and pid namespace. Never taken over: removed, and then claimed the ordinary way, where another
 * run may win. Only the holder of `${file}.reaping` (O_EXCL) reads and removes the claim. The claim can still change
 * meanwhile (`.reaping` blocks neither a live holder's release nor a new claim after it), so it is read again after
 * its pid is found dead and removed only if its text (unique: claimant's nonce) is unchanged: a dead holder's claim
 * changes no more. A claim that is not one (not a claimant's JSON) counts as held. A reaper dying inside this step
 * leaves `.reaping` behind: later runs then fall back to random copies (speed only) until it is removed by hand.
 */
function removeDeadClaim(file: string): boolean {
  const reaping = `${file}.reaping`;
  if (!createExclusive(reaping, JSON.stringify(claimant()))) return false;
  try {
    const text = readIfExists(file);
    if (text === undefined) return true; // released meanwhile
    const holder = parseClaim(text);
    const self = claimant();
    if (!holder || holder.host !== self.host || holder.pidNamespace !== self.pidNamespace || running(holder.pid)) return false;
    const now = readIfExists(file);
    if (now === undefined) return true; // released meanwhile
    if (now !== text) return false; // released and claimed again meanwhile: a live claim
    rmSync(file, { force: true });
    return true;
  } finally {
    rmSync(reaping, { force: true });
  }
}

/**
 * Claims the path `slot` for this process: creates `${slot}.claim` (O_EXCL) naming it, after removing a dead run's
 * (removeDeadClaim). Returns the claim's text, or undefined when another run holds it.
 */
export function claimSlot(slot: string): string | undefined {
  const claimFile = `${slot}.claim`;
  const text = JSON.stringify(claimant());
  return createExclusive(claimFile, text) || (removeDeadClaim(claimFile) && createExclusive(claimFile, text)) ? text : undefined;
}

/** What blocks the claim `claimFile`: a reaper's file or the claim, and the holder it names. */
function blocker(claimFile: string): string {
  for (const file of [`${claimFile}.reaping`, claimFile]) {
    const text = readIfExists(file);
    if (text === undefined) continue;
    const holder = parseClaim(text);
    return holder ? `${file} held by pid ${holder.pid} (${holder.host})` : `${file} held, not a claim: ${JSON.stringify(text.slice(0, 80))}`;
  }
  return `${claimFile} held (released since)`;
}

/**
 * A copy at this checkout's stable path for `purpose` (stableCopyPath; see the top), claimed for this process until
 * removeProjectCopy. When another run holds it (two `npm test` of one checkout at once), or the claim fails (the stable
 * copy is for speed only: no test fails for it), a random copy instead: slower, as correct; one stderr line says why.
 */
export function stableProjectCopy(purpose: string): string {
  const root = stableCopyPath(purpose);
  const claimFile = `${root}.claim`;
  let text: string | undefined;
  let why: string;
  try {
    text = claimSlot(root);
    why = text === undefined ? blocker(claimFile) : "";
  } catch (e) {
    why = `cannot claim ${root}: ${(e as Error).message}`;
  }
  if (text === undefined) {
    process.stderr.write(`project-copy: ${why}: using a random copy\n`);
    return copyProject(`etl-copy-${purpose}-`);
  }
  try {
    rmSync(root, { recursive: true, force: true }); // what a run that died left
    mkdirSync(root);
    fill(root);
  } catch (e) {
    rmSync(claimFile, { force: true });
    throw e;
  }
  held.set(root, text);
  return root;
}

/** The cached app of `entry` (project-relative) built for `root` (tools/launch.cjs): its record (file name and content), if any. */
export function appRecord(root: string, entry = "main.ts"): { name: string; record: AppRecord } | undefined {
  return appRecords(root).find((r) => r.record.entry === entry);
}

/**
 * Removes the copy. A random copy's builds go with it (its apps and Lambda bundles, from the build cache this
 * checkout's copies share); a stable copy's stay for its next use, and its claim is released.
 */
export function removeProjectCopy(root: string): void {
  const claim = held.get(root);
  if (claim === undefined) {
    removeAppBuild(root);
    removeBundleBuild(functionsDirOf(root));
  }
  rmSync(root, { recursive: true, force: true });
  if (claim !== undefined) {
    held.delete(root);
    const claimFile = `${root}.claim`;
    // Ours unless removed by hand meanwhile (and perhaps claimed again since).
    let text: string | undefined;
    try {
      text = readFileSync(claimFile, "utf8");
    } catch {
      // removed by hand
    }
    if (text === claim) rmSync(claimFile);
  }
}
