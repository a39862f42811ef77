// What a cached build read, and whether it is all unchanged: the one check of every build the synth caches
// (the Lambda bundles, the synth app). Node built-ins only: tools/synth-app.cjs loads it, compiled, before
// anything else, to decide whether its prebuilt app is current.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

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
  const hash = createHash("sha256");
  for (const file of files) {
    const stat = statSync(file, { throwIfNoEntry: false });
    hash.update(`${file}\0${stat ? `${stat.size}:${stat.mtimeMs}` : "<missing>"}\0`);
  }
  return hash.digest("hex");
}

/** The files a build read (absolute paths) with their fingerprint, and the lockfile's content hash. */
export interface BuildInputs {
  inputs: string[];
  inputsFingerprint: string;
  /** A reinstall that resolves differently must rebuild, even if no file it read changed size or time. */
  lockfileHash: string;
}

const lockfileHash = (projectRoot: string) => sha256(readFileSync(join(projectRoot, "package-lock.json")));

export function recordInputs(inputs: string[], projectRoot: string): BuildInputs {
  return { inputs, inputsFingerprint: fingerprintFiles(inputs), lockfileHash: lockfileHash(projectRoot) };
}

/** Whether every input of a recorded build, and the lockfile, is as it was. */
export function inputsUnchanged(recorded: BuildInputs, projectRoot: string): boolean {
  return recorded.lockfileHash === lockfileHash(projectRoot) && fingerprintFiles(recorded.inputs) === recorded.inputsFingerprint;
}
