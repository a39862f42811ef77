import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const mocha = (env: Record<string, string>) =>
  spawnSync(process.execPath, ["node_modules/mocha/bin/mocha.js", "--config", ".mocharc.json", "--no-parallel", "test/fixtures/unit-guard/listens.fixture.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });

describe("test:unit guard (test/setup.ts)", () => {
  it("fails a unit test that starts a server, naming test/unit-set.cjs", () => {
    const run = mocha({ ETL_TEST_UNIT: "1" });
    expect(run.status).to.not.equal(0);
    expect(run.stdout).to.include("a server listening in a unit test").and.include("test/unit-set.cjs");
  });

  it("lets the same test start its server outside the unit set", () => {
    const run = mocha({ ETL_TEST_UNIT: "" });
    expect(run.status, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include("1 passed, 0 failed");
  });
});
