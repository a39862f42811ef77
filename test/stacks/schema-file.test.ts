import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSchemaFile } from "../../core/schema-file";

describe("stacks/schema-file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "etl-schema-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it("reads columns, keeping extra fields", () => {
    const file = write("ok.json", JSON.stringify({ format: "csv", columns: [{ source: "Date", name: "date", type: "date", note: "M/D/YYYY" }] }));
    expect(readSchemaFile(file).columns).to.deep.equal([{ source: "Date", name: "date", type: "date", note: "M/D/YYYY" }]);
  });

  it("names the file, the field and the value of a bad column", () => {
    const file = write("bad.json", JSON.stringify({ columns: [{ name: "date", type: "date" }, { name: "Revenue", type: "money" }] }));
    expect(() => readSchemaFile(file)).to.throw(/bad\.json: invalid schema\n.*columns\.1\.name: lower snake_case \(got "Revenue"\)\n.*columns\.1\.type: .*\(got "money"\)/);
  });

  it("rejects a schema without columns, duplicates and invalid JSON", () => {
    expect(() => readSchemaFile(write("empty.json", "{}"))).to.throw(/empty\.json: invalid schema\n {2}- columns: .*\(got nothing\)/);
    expect(() => readSchemaFile(write("dup.json", JSON.stringify({ columns: [{ name: "a", type: "string" }, { name: "a", type: "bigint" }] })))).to.throw(/dup\.json: .*duplicate name a/s);
    expect(() => readSchemaFile(write("broken.json", "{"))).to.throw(/broken\.json: cannot read the schema/);
  });
});
