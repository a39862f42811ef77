import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CACHE_DIR } from "../../core/build-cache";
import { bundleCacheKey, functionsDirOf } from "../../stacks/bundle";
import { oldSynthAppDir } from "../../tools/app-records";
import { readSynthesis, synthDiff, synthesizeRef } from "../../tools/synth-diff";
import { scriptArgs } from "../support/scripts";

const FIXTURES = join(__dirname, "../fixtures/diff");
/** As `npm run synth:diff` runs it. */
const CLI = scriptArgs("synth:diff");

// A stand-in cdktf app: writes one stack whose content names the tree it ran in and the file "version".
const FAKE_APP = `
const { mkdirSync, writeFileSync, readFileSync } = require("node:fs");
const dir = process.env.CDKTF_OUTDIR + "/stacks/demo";
mkdirSync(dir, { recursive: true });
const version = readFileSync("version", "utf8").trim();
if (version === "broken") { console.error("app failed on purpose"); process.exit(3); }
writeFileSync(dir + "/cdk.tf.json", JSON.stringify({ resource: { aws_s3_bucket: { b: { bucket: "v" + version, path: process.cwd() + "/x" } } } }));
// As the real synth caches the tree's Lambda bundles (stacks/bundle.ts bundleCacheKey), and says where.
if (process.env.FAKE_APP_BUNDLES) {
  const key = require("node:crypto").createHash("sha256").update(process.cwd() + "/functions").update("\0").digest("hex");
  const entry = process.env.FAKE_APP_BUNDLES + "/" + key + ".json";
  mkdirSync(process.env.FAKE_APP_BUNDLES, { recursive: true });
  writeFileSync(entry, "{}");
  writeFileSync(process.env.FAKE_APP_BUNDLES_WRITTEN, JSON.stringify({ tree: process.cwd(), entry }));
}
`;

describe("tools/synth-diff", () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "synth-diff-test-"))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("compares two output folders and writes the Markdown to --out", () => {
    const out = join(tmp, "diff.md");
    const result = spawnSync(process.execPath, [...CLI, "--base", "main", "--base-out", join(FIXTURES, "base"), "--head-out", join(FIXTURES, "head"), "--out", out], { encoding: "utf8" });
    expect(result.status, result.stderr).to.equal(0);
    expect(readFileSync(out, "utf8")).to.equal(result.stdout);
    expect(result.stdout).to.include("## Synth diff: `main` → working tree").and.include("➕ state `Audit` (Pass) added");
  });

  it("fails naming the folder when there are no synthesized stacks", () => {
    expect(() => readSynthesis(tmp)).to.throw(`${join(tmp, "stacks")}: no synthesized stacks`);
    mkdirSync(join(tmp, "stacks", "bad"), { recursive: true });
    writeFileSync(join(tmp, "stacks", "bad", "cdk.tf.json"), "{");
    expect(() => readSynthesis(tmp)).to.throw(/bad[/\\]cdk\.tf\.json: invalid JSON/);
  });

  it("fails naming a base that is not a commit", () => {
    expect(() => synthDiff({ base: "no-such-ref-h6", headOut: join(FIXTURES, "head") })).to.throw(/--base no-such-ref-h6: not a commit/);
  });

  describe("synthesizing a git ref in a temporary worktree", () => {
    let repo: string;
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo, encoding: "utf8" });
    beforeEach(() => {
      repo = join(tmp, "repo");
      mkdirSync(join(repo, "node_modules"), { recursive: true });
      writeFileSync(join(repo, ".gitignore"), "node_modules\n");
      writeFileSync(join(repo, "cdktf.json"), JSON.stringify({ app: "node app.js" }));
      writeFileSync(join(repo, "app.js"), FAKE_APP);
      writeFileSync(join(repo, "version"), "1\n");
      git("init", "--quiet");
      git("add", ".");
      git("commit", "--quiet", "-m", "v1");
      writeFileSync(join(repo, "version"), "broken\n");
      git("commit", "--quiet", "-am", "broken");
    });

    it("synthesizes the ref's own files, maps its path to <root>, and removes the worktree, its Lambda bundles' entry and the old synth app's folder", () => {
      // As a base from before tools/launch.cjs leaves it (its synth app's cache in the node_modules it shares: the
      // test repository's own, so that no other test's folder is touched).
      const oldSynthApp = oldSynthAppDir(repo);
      mkdirSync(oldSynthApp, { recursive: true });
      writeFileSync(join(oldSynthApp, "record.json"), "{}");
      // The bundles' entry goes to this checkout's cache, as synth:diff run in the repository (the tree's node_modules
      // is a link to the repository's) finds it.
      const written = join(tmp, "bundle-entry.json");
      Object.assign(process.env, { FAKE_APP_BUNDLES: join(CACHE_DIR, "bundles"), FAKE_APP_BUNDLES_WRITTEN: written });
      let entry: string | undefined;
      try {
        const synthesis = synthesizeRef("HEAD~1", join(tmp, "out"), repo);
        expect(synthesis).to.deep.equal({ demo: { resource: { aws_s3_bucket: { b: { bucket: "v1", path: "<root>/x" } } } } });
        const bundles: { tree: string; entry: string } = JSON.parse(readFileSync(written, "utf8"));
        entry = bundles.entry;
        expect(entry, "the stand-in names the entry as stacks/bundle.ts does").to.equal(join(CACHE_DIR, bundleCacheKey(functionsDirOf(bundles.tree))));
        expect(existsSync(entry)).to.equal(false);
      } finally {
        delete process.env.FAKE_APP_BUNDLES;
        delete process.env.FAKE_APP_BUNDLES_WRITTEN;
        if (entry) rmSync(entry, { force: true });
      }
      expect(git("worktree", "list").trim().split("\n")).to.have.length(1);
      expect(existsSync(oldSynthApp)).to.equal(false);
    });

    it("reports a failing synth with its output, and still removes the worktree", () => {
      expect(() => synthesizeRef("HEAD", join(tmp, "out"), repo)).to.throw(/synth of .* failed \(`node app\.js`, exit 3\):\napp failed on purpose/);
      expect(git("worktree", "list").trim().split("\n")).to.have.length(1);
    });
  });
});
