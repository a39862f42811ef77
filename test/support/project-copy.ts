// A copy of the project as a clone has it (tracked files, and new ones not ignored), with this checkout's
// node_modules linked: for tests that change project files or run the project's commands elsewhere.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";
import { APP_DIR, type AppRecord } from "../../tools/app-build";

export function copyProject(prefix = "etl-project-copy-"): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: PROJECT_ROOT, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    try {
      cpSync(join(PROJECT_ROOT, file), join(root, file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; // deleted in the working tree, not yet committed
    }
  }
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  return root;
}

/** The cached app of `entry` (project-relative) built for `root` (tools/launch.cjs): its record (file name and content), if any. */
export function appRecord(root: string, entry = "main.ts"): { name: string; record: AppRecord } | undefined {
  return appRecords(root).find((r) => r.record.entry === entry);
}

/** Every cached app built for `root` (every app at all without it). */
function appRecords(root?: string): Array<{ name: string; record: AppRecord }> {
  if (!existsSync(APP_DIR)) return [];
  const found = [];
  for (const name of readdirSync(APP_DIR).filter((n) => n.endsWith(".json"))) {
    let record: AppRecord;
    try {
      record = JSON.parse(readFileSync(join(APP_DIR, name), "utf8"));
    } catch {
      continue; // another test's record, being replaced
    }
    if (root === undefined || record.inputs.includes(join(root, record.entry))) found.push({ name, record });
  }
  return found;
}

const appFiles = (record: AppRecord) => [record.main, record.check, ...Object.values(record.entries)];

/**
 * Removes the cached app of `entry` for `root` (every app of it when no entry is given): record, files, maps, V8
 * code caches; not a file another record names (the compiled check is the same for every project folder).
 */
export function removeAppBuild(root: string, entry?: string): void {
  const removed = appRecords(root).filter((r) => entry === undefined || r.record.entry === entry);
  for (const { name } of removed) rmSync(join(APP_DIR, name), { force: true });
  const stillNamed = new Set(appRecords().flatMap((r) => appFiles(r.record)));
  for (const file of removed.flatMap((r) => appFiles(r.record)).filter((f) => !stillNamed.has(f))) {
    for (const ext of ["", ".map", ".v8"]) rmSync(join(APP_DIR, file + ext), { force: true });
  }
}

/** Removes the copy, and its apps from the build cache this checkout's copies share. */
export function removeProjectCopy(root: string): void {
  removeAppBuild(root);
  rmSync(root, { recursive: true, force: true });
}
