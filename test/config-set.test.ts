// `npm run test:config` leaves out the unit tests that read no configuration (test/unit-set.cjs: configFree): a
// file listed there that reads it, itself or through a file it imports, would go untried under another
// configuration (the three-datasets copy), so it fails here, naming the file and how it reads it.
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { configReader } from "./support/config-readers";

const ROOT = resolve(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { configFree } = require("./unit-set.cjs") as { configFree: string[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configRun = require("./mocharc.config.cjs") as { ignore: string[] };

/** The files of a pattern with at most one {a,b} list (unit-set.cjs's patterns). */
function expand(pattern: string): string[] {
  const list = /\{([^}]*)\}/.exec(pattern);
  return list ? list[1].split(",").map((name) => pattern.replace(list[0], name)) : [pattern];
}

const files = configFree.flatMap(expand);

describe("test:config's set (test/mocharc.config.cjs)", () => {
  it("leaves out every configFree file, each of which exists", () => {
    expect(files.filter((file) => !existsSync(join(ROOT, file)))).to.deep.equal([]);
    expect(configRun.ignore).to.include.members(configFree);
  });

  it("leaves out no file that reads the configuration or imports one that does", () => {
    expect(files.map((file) => configReader(file)).filter(Boolean)).to.deep.equal([]);
  });

  it("sees a reader in the file, in a test helper and in a project module it imports", () => {
    expect(configReader("test/core/config.test.ts")).to.match(/^test\/core\/config\.test\.ts: /);
    expect(configReader("test/stacks/glue-engines.test.ts")).to.equal("test/stacks/glue-engines.test.ts → test/support/workflow.ts: loadConfig(");
    expect(configReader("test/local/watch.test.ts")).to.match(/ → local\/runtime\.ts: loadConfig\($/);
  });

  it("does not count a comment naming a configuration file", () => {
    expect(readFileSync(join(ROOT, "local/etl-engine.ts"), "utf8")).to.match(/^\/\/.*glue-scripts\//m);
    expect(configReader("test/local/etl-engine.test.ts")).to.equal(undefined);
  });
});
