// A copy of the project as a clone has it (tracked files, and new ones not ignored), with this checkout's
// node_modules linked: for tests that change project files or run the project's commands elsewhere.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";
import { functionsDirOf, removeBundleBuild } from "../../stacks/bundle";
import { appRecords, removeAppBuild, type AppRecord } from "../../tools/app-records";

export function copyProject(prefix = "etl-project-copy-"): string {
  // Resolved (on macOS the temporary folder is a link): the copy's commands name their cache entries by the real
  // PROJECT_ROOT, and removeProjectCopy must name the same ones.
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
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

/** Removes the copy, and what its commands built from the build cache this checkout's copies share: its apps and Lambda bundles. */
export function removeProjectCopy(root: string): void {
  removeAppBuild(root);
  removeBundleBuild(functionsDirOf(root));
  rmSync(root, { recursive: true, force: true });
}
