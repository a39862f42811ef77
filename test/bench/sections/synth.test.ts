import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { appCommand, checkSynthesized } from "../../../bench/sections/synth";

describe("bench/sections/synth", () => {
  let outdir: string;
  const writeStack = (id: string) => {
    mkdirSync(join(outdir, "stacks", id), { recursive: true });
    writeFileSync(join(outdir, "stacks", id, "cdk.tf.json"), "{}");
  };
  const writeManifest = (ids: string[]) =>
    writeFileSync(join(outdir, "manifest.json"), JSON.stringify({ stacks: Object.fromEntries(ids.map((id) => [id, { synthesizedStackPath: `stacks/${id}/cdk.tf.json` }])) }));

  beforeEach(() => (outdir = mkdtempSync(join(tmpdir(), "bench-synth-test-"))));
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  it("accepts a synth that wrote every expected stack", () => {
    writeStack("a");
    writeStack("b");
    writeManifest(["a", "b"]);
    expect(() => checkSynthesized(outdir, ["a", "b"])).not.to.throw();
  });

  it("names the stacks a synth did not write, and a missing manifest", () => {
    expect(() => checkSynthesized(outdir, ["a"])).to.throw("synth wrote no");
    writeStack("a");
    writeManifest(["a", "b"]);
    expect(() => checkSynthesized(outdir, ["a", "b", "c"])).to.throw("synth did not write stack(s) b, c (manifest lists a, b)");
  });

  it("times cdktf.json's app command, and names the file that has none", () => {
    writeFileSync(join(outdir, "cdktf.json"), JSON.stringify({ app: "node  tools/app.cjs" }));
    expect(appCommand(outdir)).to.deep.equal({ command: "node", args: ["tools/app.cjs"] });
    writeFileSync(join(outdir, "cdktf.json"), JSON.stringify({ language: "typescript" }));
    expect(() => appCommand(outdir)).to.throw(`${join(outdir, "cdktf.json")}: no "app" command`);
  });
});
