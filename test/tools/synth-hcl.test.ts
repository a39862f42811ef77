import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { plainHcl, synthHcl } from "../../tools/synth-hcl";

describe("tools/synth-hcl", () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "synth-hcl-test-"))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("writes each of the three stacks as HCL that parses and keeps every value of the JSON synthesis", async () => {
    const stacks = await synthHcl(tmp);
    expect(stacks).to.deep.equal(["glue-dev", "runner-dev", "state-machine-dev"]);
    expect(readdirSync(tmp).sort()).to.deep.equal(stacks);
    for (const id of stacks) {
      const hcl = readFileSync(join(tmp, id, "main.tf"), "utf8");
      expect(hcl, id).to.match(/^terraform \{\n/).and.match(/backend "(local|s3)" \{/).and.include('resource "aws_');
      expect(existsSync(join(tmp, id, "assets")), `${id} assets`).to.equal(true);
    }
    const glue = readFileSync(join(tmp, "glue-dev", "main.tf"), "utf8");
    // The strings cdktf 0.21 renders invalid: JSON with interpolations, dashed map keys.
    expect(glue).to.match(/policy += "\{\\"Version\\":\\"2012-10-17\\",.*\$\{aws_s3_bucket\.[^}]+\.arn\}/);
    expect(glue).to.match(/"--etl_output" += "s3:\/\/\$\{aws_s3_bucket\./);
    expect(readFileSync(join(tmp, "state-machine-dev", "main.tf"), "utf8")).to.match(/resource "aws_sfn_state_machine" "[^"]+" \{/);
  });

  it("fails naming the file when the HCL does not parse", async () => {
    try {
      await plainHcl('resource "a" "b" {\nx = "unterminated\n}\n', {}, "terraform/x/main.tf");
      expect.fail("no error");
    } catch (e) {
      expect((e as Error).message).to.match(/^terraform\/x\/main\.tf: the generated HCL does not parse:/);
    }
  });

  it("fails naming the values the HCL lost", async () => {
    try {
      await plainHcl('resource "a" "b" {\n  x = "kept"\n}\n', { resource: { a: { b: { x: "kept", y: "dropped" } } } }, "main.tf");
      expect.fail("no error");
    } catch (e) {
      expect((e as Error).message).to.equal('main.tf: the generated HCL lost 2 value(s) of the JSON synthesis: "y", "dropped"');
    }
  });
});
