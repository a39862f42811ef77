// `npm run synth:diff -- --base <git-ref> [--out FILE]`: compares the synthesized stacks of a git ref with
// those of the working tree, without credentials, and prints Markdown fit for a pull-request comment.
// The base is synthesized in a temporary `git worktree` (sharing this node_modules); --base-out / --head-out
// compare already-synthesized output folders instead.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defineCommand, runAsScript } from "../core/cli-args";
import { PROJECT_ROOT } from "../core/config";
import { functionsDirOf, removeBundleBuild } from "../stacks/bundle";
import { removeAppBuild, removeOldSynthApp } from "./app-records";
import { Json, Synthesis, compareSyntheses } from "./synth-diff/compare";
import { renderMarkdown } from "./synth-diff/markdown";

/** GitHub rejects comments over 65,536 characters. */
const MAX_MARKDOWN = 60_000;

/** A synth, git or output-folder failure, with the folder or ref it concerns. */
export class SynthError extends Error {
  override name = "SynthError";
}

/**
 * Reads `<outdir>/stacks/<id>/cdk.tf.json` of every stack. `root` (the synthesized tree) is replaced by
 * "<root>" in every value, so absolute paths do not differ between the worktree and the working tree.
 */
export function readSynthesis(outdir: string, root?: string): Synthesis {
  const stacksDir = join(outdir, "stacks");
  if (!existsSync(stacksDir)) throw new SynthError(`${stacksDir}: no synthesized stacks (expected stacks/<id>/cdk.tf.json)`);
  const out: Record<string, Json> = {};
  for (const id of readdirSync(stacksDir).sort()) {
    const file = join(stacksDir, id, "cdk.tf.json");
    if (!existsSync(file)) continue;
    let text = readFileSync(file, "utf8");
    if (root) text = text.split(JSON.stringify(root).slice(1, -1)).join("<root>");
    try {
      out[id] = JSON.parse(text);
    } catch (e) {
      throw new SynthError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Runs the tree's cdktf app (the "app" command of its cdktf.json) with its output in `outdir`. */
export function synthesize(root: string, outdir: string, env: Record<string, string> = {}): void {
  const cdktfJson = join(root, "cdktf.json");
  const app: string = existsSync(cdktfJson) ? (JSON.parse(readFileSync(cdktfJson, "utf8")).app ?? "node --import tsx main.ts") : "node --import tsx main.ts";
  const result = spawnSync(app, {
    cwd: root,
    shell: true,
    encoding: "utf8",
    env: { ...process.env, ...env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" },
  });
  if (result.status !== 0) throw new SynthError(`synth of ${root} failed (\`${app}\`, exit ${result.status}):\n${(result.stderr || result.stdout).trim()}`);
}

/** Synthesizes `ref` in a temporary worktree; the worktree is removed whatever happens. */
export function synthesizeRef(ref: string, outdir: string, repo = PROJECT_ROOT): Synthesis {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", `${ref}^{commit}`);
  } catch {
    throw new SynthError(`--base ${ref}: not a commit in ${repo} (in CI, check out with fetch-depth: 0)`);
  }
  const tree = realpathSync(mkdtempSync(join(tmpdir(), "synth-diff-base-")));
  try {
    git("worktree", "add", "--detach", "--quiet", tree, commit);
    symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"), "dir");
    if (!existsSync(join(tree, "cdktf.json"))) throw new SynthError(`--base ${ref}: has no cdktf.json, nothing to synthesize`);
    synthesize(tree, outdir);
    return readSynthesis(outdir, tree);
  } finally {
    // Its launched app (tools/launch.cjs) and Lambda bundles (~3 MB), cached in the node_modules it shares (the
    // repository's: this checkout's CACHE_DIR when synth:diff runs in it), are not left behind by every run; nor is
    // the old folder of a base from before the launcher (in the repository's node_modules, which it shares).
    removeAppBuild(tree);
    removeBundleBuild(functionsDirOf(tree));
    removeOldSynthApp(repo);
    try {
      git("worktree", "remove", "--force", tree);
    } catch {
      rmSync(tree, { recursive: true, force: true });
      git("worktree", "prune");
    }
  }
}

export interface SynthDiffOptions {
  base: string;
  /** Already-synthesized output of the base (skips the worktree). */
  baseOut?: string;
  /** Already-synthesized output of the working tree (skips its synth). */
  headOut?: string;
}

/** The Markdown comparison; synthesizes what was not given. */
export function synthDiff(options: SynthDiffOptions): string {
  const scratch = mkdtempSync(join(tmpdir(), "synth-diff-"));
  try {
    const base = options.baseOut ? readSynthesis(resolve(options.baseOut)) : synthesizeRef(options.base, join(scratch, "base"));
    let head: Synthesis;
    if (options.headOut) head = readSynthesis(resolve(options.headOut));
    else {
      synthesize(PROJECT_ROOT, join(scratch, "head"));
      head = readSynthesis(join(scratch, "head"), PROJECT_ROOT);
    }
    let markdown = renderMarkdown(compareSyntheses(base, head), { base: options.base });
    if (markdown.length > MAX_MARKDOWN)
      markdown = `${markdown.slice(0, MAX_MARKDOWN)}\n\n… cut at ${MAX_MARKDOWN} characters; run \`npm run synth:diff -- --base ${options.base}\` for the rest.\n`;
    return markdown;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export const SYNTH_DIFF_COMMAND = defineCommand({
  command: "npm run synth:diff --",
  summary: `Compares the synthesized stacks of a git ref with those of the working tree, without credentials,
and prints Markdown fit for a pull-request comment.`,
  options: {
    base: { type: "string", value: "REF", description: "the git ref to compare against. Default: HEAD" },
    out: { type: "string", value: "FILE", description: "also write the Markdown there" },
    "base-out": { type: "string", value: "DIR", description: "an already-synthesized output folder of the base (skips its synth)" },
    "head-out": { type: "string", value: "DIR", description: "an already-synthesized output folder of the working tree (skips its synth)" },
  },
  epilogue: "Exit codes: 0 compared, 1 a synth, git or output-folder error, 2 bad usage.",
});

if (require.main === module) {
  runAsScript(SYNTH_DIFF_COMMAND, (values) => {
    const base = values.base ?? "HEAD";
    const markdown = synthDiff({ base, baseOut: values["base-out"], headOut: values["head-out"] });
    if (values.out) writeFileSync(values.out, markdown);
    process.stdout.write(markdown);
  });
}
