// What a cached build read, and whether it is all unchanged: the one check of every build the synth caches
// (the Lambda bundles, the launched apps). Node built-ins only: tools/launch.cjs loads it, compiled, before
// anything else, to decide whether its prebuilt app is current.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export const sha256 = (...parts: Array<string | Buffer>) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex");
};

/**
 * A fingerprint of the files: path, size and modification time of each (a missing file counts as
 * missing). Stat-only, because a bundle reads over a thousand files and hashing them all would cost
 * most of what the cache saves.
 */
export function fingerprintFiles(files: readonly string[]): string {
  return fingerprint(files, Number.POSITIVE_INFINITY)!;
}

/** fingerprintFiles, or undefined when a file is missing or changed (ctime) at or after `changedSince`. */
function fingerprint(files: readonly string[], changedSince: number): string | undefined {
  const hash = createHash("sha256");
  for (const file of files) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (Number.isFinite(changedSince) && (!stat || stat.ctimeMs >= changedSince)) return undefined;
    hash.update(`${file}\0${stat ? `${stat.size}:${stat.mtimeMs}` : "<missing>"}\0`);
  }
  return hash.digest("hex");
}

/**
 * The TypeScript settings esbuild applies to the files of `dir` but does not name among a build's inputs: the nearest
 * tsconfig.json at or above it, if any (a record may not name a missing file: recordInputs takes it as changed).
 */
export function typescriptSettingsOf(dir: string): string[] {
  for (let at = dir; ; at = dirname(at)) {
    const file = join(at, "tsconfig.json");
    if (existsSync(file)) return [file];
    if (dirname(at) === at) return [];
  }
}

/** The files a build read (absolute paths) with their fingerprint, and the lockfile's content hash. */
export interface BuildInputs {
  inputs: string[];
  inputsFingerprint: string;
  /** A reinstall that resolves differently must rebuild, even if no file it read changed size or time. */
  lockfileHash: string;
}

/** Taken before a build: when it started, and the lockfile's hash then. */
export interface BuildStart {
  startedAt: number;
  lockfileHash: string;
}

/**
 * How far a file's change time may lag behind Date.now() at the change: the kernel stamps it from a coarse clock, at
 * most one tick (4-10 ms) behind. A file changed this long before a build started is also taken as changed during it.
 */
export const CHANGE_TIME_SLACK_MS = 50;

/** The lockfile's content hash; "<missing>" without one (as fingerprintFiles counts a missing file), so that a
 * checkout without package-lock.json still runs, and rebuilds once one appears. */
function lockfileHash(projectRoot: string): string {
  const file = join(projectRoot, "package-lock.json");
  return existsSync(file) ? sha256(readFileSync(file)) : "<missing>";
}

export function startBuild(projectRoot: string): BuildStart {
  return { startedAt: Date.now(), lockfileHash: lockfileHash(projectRoot) };
}

/**
 * The record of a build's inputs, or undefined when one changed during the build: an input changed (its ctime, which
 * no tool sets back) since the build started or gone, or the lockfile's content changed. What the build read could
 * then differ from what the record would say, so the caller stores nothing (the next build records it).
 */
export function recordInputs(inputs: string[], projectRoot: string, start: BuildStart): BuildInputs | undefined {
  const inputsFingerprint = fingerprint(inputs, start.startedAt - CHANGE_TIME_SLACK_MS);
  if (inputsFingerprint === undefined || lockfileHash(projectRoot) !== start.lockfileHash) return undefined;
  return { inputs, inputsFingerprint, lockfileHash: start.lockfileHash };
}

/** Whether every input of a recorded build, and the lockfile, is as it was. */
export function inputsUnchanged(recorded: BuildInputs, projectRoot: string): boolean {
  return recorded.lockfileHash === lockfileHash(projectRoot) && fingerprintFiles(recorded.inputs) === recorded.inputsFingerprint;
}
