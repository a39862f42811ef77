import { expect } from "chai";
import { cdktfRendering, quoteTemplate, repairHcl, stringsOf } from "../../../tools/synth-hcl/repair";

describe("tools/synth-hcl/repair", () => {
  const policy = '{"Statement":[{"Resource":["${aws_s3_bucket.b.arn}/*"],"Condition":{"StringLike":{"k":"a\\\\b"}}}]}';

  it("quoteTemplate escapes quotes and backslashes but keeps interpolations and literal escapes", () => {
    expect(quoteTemplate(policy)).to.equal('"{\\"Statement\\":[{\\"Resource\\":[\\"${aws_s3_bucket.b.arn}/*\\"],\\"Condition\\":{\\"StringLike\\":{\\"k\\":\\"a\\\\\\\\b\\"}}}]}"');
    expect(quoteTemplate('${jsonencode({"a" = "b"})} and $${literal} %%{x} "q"')).to.equal('"${jsonencode({"a" = "b"})} and $${literal} %%{x} \\"q\\""');
    expect(quoteTemplate("unterminated ${x")).to.equal('"unterminated ${x"');
  });

  it("repairs the lines cdktf renders invalid, recovering each exact value", () => {
    const strings = [policy, "\\", "${aws_iam_role.r.arn}"];
    const broken = [
      'resource "aws_iam_policy" "p" {',
      `policy = "${cdktfRendering(policy)}"`,
      'escapeChar = "\\"',
      'role = "${aws_iam_role.r.arn}"',
      "list = [",
      `"${cdktfRendering(policy)}",`,
      "]",
      "}",
    ].join("\n");
    expect(repairHcl(broken, strings).split("\n")).to.deep.equal([
      'resource "aws_iam_policy" "p" {',
      `policy = ${quoteTemplate(policy)}`,
      'escapeChar = "\\\\"',
      'role = "${aws_iam_role.r.arn}"',
      "list = [",
      `${quoteTemplate(policy)},`,
      "]",
      "}",
    ]);
  });

  it("quotes map keys that start with '-' and leaves heredoc bodies alone", () => {
    const text = ['default_arguments = {', '--etl_sql = "a.sql"', "}", "user_data = <<EOF", '"${x}" said "hi"', "--not-a-key = 1", "EOF", 'name = "n"'].join("\n");
    expect(repairHcl(text, ["a.sql", "n"]).split("\n")).to.deep.equal(['default_arguments = {', '"--etl_sql" = "a.sql"', "}", "user_data = <<EOF", '"${x}" said "hi"', "--not-a-key = 1", "EOF", 'name = "n"']);
  });

  it("leaves lines it cannot map to a value unchanged", () => {
    expect(repairHcl('x = "a"b"', [])).to.equal('x = "a"b"');
  });

  it("stringsOf collects values and keys, nested", () => {
    expect([...stringsOf({ a: ["b", { c: 1, d: "e" }], f: null })]).to.deep.equal(["a", "b", "c", "d", "e", "f"]);
  });
});
