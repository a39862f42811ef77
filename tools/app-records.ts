// The records of the apps tools/app-build.ts caches for tools/launch.cjs, and their removal. Apart from the build
// (no esbuild, no topology), so that a command cleaning up after itself (tools/synth-diff.ts) loads no build tools.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { CACHE_DIR } from "../core/build-cache";
import { PROJECT_ROOT } from "../core/config";
import type { BuildInputs } from "../core/build-inputs";

/** The record of a cached app, `apps/<hash of the project folder and entry point>.json` in the build cache. */
export interface AppRecord extends BuildInputs {
  /** The entry point, relative to the project folder (`local/cli.ts`). */
  entry: string;
  /** The app and the compiled core/build-inputs.ts, by file name in the same folder. */
  main: string;
  check: string;
  /** The entry points the app loads by path (the handlers), by project-relative source path: their file names. */
  entries: Record<string, string>;
}

/**
 * The record of the handlers' bundles last built for a project folder, `apps/<hash of the folder>.handlers`: an app's
 * build reuses them while every file they read is unchanged (an edit of local/cli.ts rebuilds its app, not them), and
 * every app of the folder that loads handlers shares them.
 */
export interface HandlersRecord extends BuildInputs {
  /** The project folder. */
  root: string;
  /** By project-relative source path (functions/<name>/handler.ts): the bundle's file name. */
  entries: Record<string, string>;
}

export const APP_DIR = join(CACHE_DIR, "apps");

/** The file name of the handlers' record of the project folder `root` in APP_DIR. */
export const handlersRecordName = (root: string) => `${createHash("sha256").update(`${root}\0handlers`).digest("hex").slice(0, 16)}.handlers`;

export function readRecord<T = AppRecord>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined; // none, or being replaced
  }
}

/** Every cached app built for the project folder `root` (every app of every folder without it): record file name and content. */
export function appRecords(root?: string): Array<{ name: string; record: AppRecord }> {
  if (!existsSync(APP_DIR)) return [];
  const found = [];
  for (const recordName of readdirSync(APP_DIR).filter((n) => n.endsWith(".json"))) {
    const record = readRecord(join(APP_DIR, recordName));
    if (record && (root === undefined || record.inputs.includes(join(root, record.entry)))) found.push({ name: recordName, record });
  }
  return found;
}

export const appFiles = (record: AppRecord) => [record.main, record.check, ...Object.values(record.entries ?? {})];

/** The files every handlers' record names. */
function handlersFiles(): string[] {
  if (!existsSync(APP_DIR)) return [];
  const names = readdirSync(APP_DIR).filter((n) => n.endsWith(".handlers"));
  return names.flatMap((n) => Object.values(readRecord<HandlersRecord>(join(APP_DIR, n))?.entries ?? {}));
}

/**
 * Removes app files (with their source maps and V8 code caches), best effort, except those a record still names:
 * the files are content-named, so the compiled check and a handler's bundle are shared by the apps of every entry
 * point and project folder (worktrees, test copies) that share this node_modules.
 * A process still running a superseded build loses nothing it needs: the launcher opens every bundle of its build when
 * it starts (tools/launch.cjs currentBuild), so on POSIX a removed one stays readable through that descriptor; only its
 * source maps are gone (its stack traces then keep the bundle's positions), and it writes no V8 code cache for a
 * removed bundle. So superseded files are removed at once rather than kept for some age or one more build.
 */
export function removeUnnamedAppFiles(files: readonly string[]): void {
  const stillNamed = new Set([...appRecords().flatMap((r) => appFiles(r.record)), ...handlersFiles()]);
  for (const file of files) {
    if (stillNamed.has(file)) continue;
    for (const ext of ["", ".map", ".v8"]) {
      try {
        rmSync(join(APP_DIR, file + ext), { force: true });
      } catch {
        // a read-only cache folder: nothing was written either
      }
    }
  }
}

/**
 * Where the synth app was cached before tools/launch.cjs (by tools/synth-app.cjs, up to commit cc126d5): nothing reads
 * it now. Removed by every cached build (so by the first one in a node_modules the launcher comes to, a no-op after),
 * and after synth:diff synthesizes a base that old, which writes it again.
 */
export const oldSynthAppDir = (root = PROJECT_ROOT) => join(root, relative(PROJECT_ROOT, CACHE_DIR), "synth-app");
export const OLD_SYNTH_APP_DIR = oldSynthAppDir();

/** Removes the old synth app's folder in the build cache of the project folder `root` (this checkout's by default). */
export function removeOldSynthApp(root = PROJECT_ROOT): void {
  try {
    rmSync(oldSynthAppDir(root), { recursive: true, force: true });
  } catch {
    // a read-only cache folder: it costs disk space only
  }
}

/**
 * Removes the cached app of `entry` for the project folder `root` (every app of it, and its handlers' record, when no
 * entry is given): its record and the files no other record names.
 */
export function removeAppBuild(root: string, entry?: string): void {
  const removed = appRecords(root).filter((r) => entry === undefined || r.record.entry === entry);
  for (const { name: recordName } of removed) rmSync(join(APP_DIR, recordName), { force: true });
  const files = removed.flatMap((r) => appFiles(r.record));
  if (entry === undefined) {
    const handlersRecord = join(APP_DIR, handlersRecordName(root));
    files.push(...Object.values(readRecord<HandlersRecord>(handlersRecord)?.entries ?? {}));
    rmSync(handlersRecord, { force: true });
  }
  removeUnnamedAppFiles(files);
}
