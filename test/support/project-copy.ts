// A copy of the project as a clone has it (tracked files, and new ones not ignored), with this checkout's
// node_modules linked: for tests that change project files or run the project's commands elsewhere.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";
import { SYNTH_APP_DIR, type SynthAppRecord } from "../../tools/synth-app-build";

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

/** The synth app's cached build for `root` (tools/synth-app.cjs): its record (file name and content), if any. */
export function synthAppRecord(root: string): { name: string; record: SynthAppRecord } | undefined {
  if (!existsSync(SYNTH_APP_DIR)) return undefined;
  for (const name of readdirSync(SYNTH_APP_DIR).filter((n) => n.endsWith(".json"))) {
    let record: SynthAppRecord;
    try {
      record = JSON.parse(readFileSync(join(SYNTH_APP_DIR, name), "utf8"));
    } catch {
      continue; // another test's record, being replaced
    }
    if (record.inputs.includes(join(root, "main.ts"))) return { name, record };
  }
  return undefined;
}

/**
 * Removes the synth app's cached build for `root`: record, app and V8 code cache. Not its check: named by its content,
 * which is the same for every copy, it is also the check of this checkout's build and of other tests' copies.
 */
export function removeSynthAppBuild(root: string): void {
  const found = synthAppRecord(root);
  if (found) for (const name of [found.name, found.record.main, `${found.record.main}.v8`]) rmSync(join(SYNTH_APP_DIR, name), { force: true });
}

/** Removes the copy, and its synth app build from the build cache this checkout's copies share. */
export function removeProjectCopy(root: string): void {
  removeSynthAppBuild(root);
  rmSync(root, { recursive: true, force: true });
}
