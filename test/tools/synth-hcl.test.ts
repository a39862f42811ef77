import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { format } from "@cdktf/hcl-tools";
import { expect } from "chai";
import { PROJECT_ROOT } from "../../core/config";
import { plainHcl, synthHcl } from "../../tools/synth-hcl";
import { canonicalHcl, interpolationOnly } from "../../tools/synth-hcl/canonical";

describe("tools/synth-hcl", () => {
  // One synthesis (two app runs and the HCL tools, seconds of CPU) read by every test of it, started by the first
  // that needs it; under the project, as `npm run synth:hcl` writes it, for the state paths relative to it.
  let out: string | undefined;
  let synthesized: Promise<string[]> | undefined;
  const synthesizedStacks = () => (synthesized ??= synthHcl((out = mkdtempSync(join(PROJECT_ROOT, ".synth-hcl-test-")))));
  after(() => out && rmSync(out, { recursive: true, force: true }));

  it("writes each of the three stacks as HCL that parses and keeps every value of the JSON synthesis", async () => {
    const stacks = await synthesizedStacks();
    const dir = out!;
    expect(stacks).to.deep.equal(["glue-dev", "runner-dev", "state-machine-dev"]);
    expect(readdirSync(dir).sort()).to.deep.equal(stacks);
    for (const id of stacks) {
      const hcl = readFileSync(join(dir, id, "main.tf"), "utf8");
      expect(hcl, id).to.match(/^terraform \{\n/).and.match(/backend "(local|s3)" \{/).and.include('resource "aws_');
      expect(existsSync(join(dir, id, "assets")), `${id} assets`).to.equal(true);
    }
    const glue = readFileSync(join(dir, "glue-dev", "main.tf"), "utf8");
    // The strings cdktf 0.21 renders invalid: JSON with interpolations, dashed map keys.
    expect(glue).to.match(/policy += "\{\\"Version\\":\\"2012-10-17\\",.*\$\{aws_s3_bucket\.[^}]+\.arn\}/);
    expect(glue).to.match(/"--etl_output" += "s3:\/\/\$\{aws_s3_bucket\./);
    expect(readFileSync(join(dir, "state-machine-dev", "main.tf"), "utf8")).to.match(/resource "aws_sfn_state_machine" "[^"]+" \{/);
  });

  describe("canonical Terraform", () => {
    const stacks: Record<string, string> = {};
    before(async () => {
      for (const id of await synthesizedStacks()) stacks[id] = readFileSync(join(out!, id, "main.tf"), "utf8");
    });

    it("is formatted as terraform fmt formats it", async () => {
      for (const [id, hcl] of Object.entries(stacks)) expect(await format(hcl), id).to.equal(hcl);
    });

    it("has no interpolation-only strings: a lone reference is a bare expression", () => {
      for (const [id, hcl] of Object.entries(stacks)) {
        const quoted = [...hcl.matchAll(/= "(.*)"$|^\s*"(.*)",?$/gm)].map((m) => m[1] ?? m[2]);
        expect(quoted.filter((q) => interpolationOnly(q) !== undefined), id).to.deep.equal([]);
      }
      expect(stacks["runner-dev"]).to.match(/^\s+TABLE_NAME\s+= aws_dynamodb_table\.[A-Za-z0-9_-]+\.name$/m);
    });

    it("lists bare references in depends_on", () => {
      const dependsOn = Object.values(stacks).flatMap((hcl) => [...hcl.matchAll(/depends_on = \[\n([^\]]*)\]/g)].flatMap((m) => m[1].trim().split(/,?\n\s*/)));
      expect(dependsOn.length).to.be.greaterThan(0);
      for (const entry of dependsOn) expect(entry).to.match(/^aws_[a-z0-9_]+\.[A-Za-z0-9_-]+,?$/);
    });

    it("names the provider hashicorp/aws", () => {
      for (const [id, hcl] of Object.entries(stacks)) expect(hcl, id).to.match(/required_providers \{\n\s+aws = \{\n\s+version = "[0-9.]+"\n\s+source\s+= "hashicorp\/aws"/);
    });

    it("keeps the state where cdktf keeps it, by a path relative to the stack's folder", () => {
      for (const [id, hcl] of Object.entries(stacks)) {
        const paths = [...hcl.matchAll(/^\s*path\s*= "([^"]+)"$/gm)].map((m) => m[1]);
        expect(paths.length, id).to.be.greaterThan(0);
        for (const path of paths) {
          expect(isAbsolute(path), path).to.equal(false);
          expect(resolve(out!, id, path)).to.match(new RegExp(`^${PROJECT_ROOT}/terraform\\.[a-z-]+\\.tfstate$`));
        }
        expect(resolve(out!, id, paths[0])).to.equal(join(PROJECT_ROOT, `terraform.${id}.tfstate`));
      }
    });
  });

  it("canonicalizes references but leaves templates, escapes and heredocs alone", () => {
    const hcl = [
      'resource "a" "b" {',
      '  x = "${aws_s3_bucket.x.id}"',
      '  y = "${aws_s3_bucket.x.arn}/*"',
      '  z = "$${literal}"',
      '  w = "${a}${b}"',
      "  list = [",
      '    "${aws_iam_role.r.arn}",',
      "  ]",
      "  depends_on = [",
      '    "aws_s3_bucket.x",',
      "  ]",
      "  text = <<EOF",
      '"${kept.in.heredoc}"',
      "EOF",
      "}",
    ].join("\n");
    expect(canonicalHcl(hcl).split("\n")).to.deep.equal([
      'resource "a" "b" {',
      "  x = aws_s3_bucket.x.id",
      '  y = "${aws_s3_bucket.x.arn}/*"',
      '  z = "$${literal}"',
      '  w = "${a}${b}"',
      "  list = [",
      "    aws_iam_role.r.arn,",
      "  ]",
      "  depends_on = [",
      "    aws_s3_bucket.x,",
      "  ]",
      "  text = <<EOF",
      '"${kept.in.heredoc}"',
      "EOF",
      "}",
    ]);
    expect(canonicalHcl('  path = "../../../terraform.x.tfstate"', new Map([["../../../terraform.x.tfstate", "../../terraform.x.tfstate"]]))).to.equal('  path = "../../terraform.x.tfstate"');
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
