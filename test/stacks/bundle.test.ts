import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledFolder, prepareBundles } from "../../stacks/bundle";

describe("stacks/bundle", () => {
  let functionsDir: string;
  before(() => {
    functionsDir = mkdtempSync(join(tmpdir(), "etl-functions-"));
    for (const name of ["hello", "other"]) {
      mkdirSync(join(functionsDir, name));
      writeFileSync(join(functionsDir, name, "handler.ts"), `import { format } from "node:util";\nexport const handler = async (event: unknown) => format("%s says %j", "${name}", event);\n`);
    }
    mkdirSync(join(functionsDir, "shared")); // no handler.ts: not a function
  });
  after(() => rmSync(functionsDir, { recursive: true, force: true }));

  it("bundles a handler as minified CommonJS with a linked source map", async () => {
    const dir = bundledFolder(join(functionsDir, "hello", "handler.ts"));
    const code = readFileSync(join(dir, "index.js"), "utf8");
    expect(code).to.match(/module\.exports/);
    expect(code).to.include("hello");
    expect(code).to.not.include("\n  "); // minified
    expect(code.trimEnd()).to.match(/\/\/# sourceMappingURL=index\.js\.map$/);
    const map = JSON.parse(readFileSync(join(dir, "index.js.map"), "utf8"));
    expect(map.sources.some((s: string) => s.endsWith("hello/handler.ts"))).to.equal(true);
    expect(map.sourcesContent).to.equal(undefined);
    const mod = { exports: {} as any };
    new Function("module", "exports", "require", code)(mod, mod.exports, require);
    expect(await mod.exports.handler({ a: 1 })).to.equal('hello says {"a":1}');
  });

  it("bundles every handler of the folder in one run and reuses it", () => {
    const hello = bundledFolder(join(functionsDir, "hello", "handler.ts"));
    const other = bundledFolder(join(functionsDir, "other", "handler.ts"));
    expect(other).to.not.equal(hello);
    expect(bundledFolder(join(functionsDir, "hello", "handler.ts"))).to.equal(hello);
    expect(() => bundledFolder(join(functionsDir, "shared", "handler.ts"))).to.throw(/no bundle for/);
  });

  it("names the folder when a handler does not compile", async () => {
    const broken = mkdtempSync(join(tmpdir(), "etl-functions-"));
    try {
      mkdirSync(join(broken, "bad"));
      writeFileSync(join(broken, "bad", "handler.ts"), "export const handler = (;\n");
      expect(() => bundledFolder(join(broken, "bad", "handler.ts"))).to.throw(/cannot bundle the handlers of .*etl-functions-.*Unexpected/s);
      let error: Error | undefined;
      await prepareBundles(broken).catch((e) => (error = e));
      expect(error?.message).to.match(/cannot bundle the handlers of/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
