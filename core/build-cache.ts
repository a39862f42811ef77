// A cache for the synth's two slow pure steps: the esbuild bundles and the ASL validation.
// A bundle is reused only while every file esbuild read has the same size and modification time
// (as make and tsc --incremental judge it) and the lockfile the same content, and is stored only when
// none of them changed while it was built (core/build-inputs.ts); a validation only for the very
// same definition. ETL_BUILD_CACHE=off disables it.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "./config";

export const CACHE_DIR = join(PROJECT_ROOT, "node_modules", ".cache", "etl-orchestrator");

export const cacheEnabled = () => process.env.ETL_BUILD_CACHE !== "off";

export function readCache(key: string): Buffer | undefined {
  if (!cacheEnabled()) return undefined;
  try {
    return readFileSync(join(CACHE_DIR, key));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined; // none, or removed (removeCache) meanwhile
    throw e;
  }
}

let warnedUnwritable = false;

/**
 * Writes atomically (rename), so a concurrent synth never reads half an entry. A failed write only costs a rebuild,
 * but is said once per process on stderr, naming the folder: else every command would rebuild with no word why.
 */
export function writeCache(key: string, data: string | Buffer): void {
  if (!cacheEnabled()) return;
  const file = join(CACHE_DIR, key);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, data);
    renameSync(partial, file);
  } catch (e) {
    // Read-only node_modules and the like: the cache is an optimization, never a requirement.
    if (warnedUnwritable) return;
    warnedUnwritable = true;
    process.stderr.write(`build cache: cannot write ${dirname(file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): nothing is cached, each command builds again (ETL_BUILD_CACHE=off skips the cache)\n`);
  }
}

/** Removes an entry, if any: best effort, as a read-only cache folder has nothing written either. */
export function removeCache(key: string): void {
  try {
    rmSync(join(CACHE_DIR, key), { force: true });
  } catch {
    // costs disk space only
  }
}

/**
 * A slow check remembered once it passed (asl-validator compiles its schemas on every call): `check` gets whether
 * the same check (`key`, which must cover everything it depends on) passed before; its result is returned and, when
 * it returns rather than throws, recorded. A failing check is never recorded, so it fails every time.
 */
export function passOnce<T>(key: string, check: (passedBefore: boolean) => T): T {
  const passedBefore = readCache(key) !== undefined;
  const result = check(passedBefore);
  if (!passedBefore) writeCache(key, "");
  return result;
}
