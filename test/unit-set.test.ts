import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const LISTENS = "test/fixtures/unit-guard/listens.fixture.ts";
const SPAWNS = "test/fixtures/unit-guard/spawns.fixture.ts";
const mocha = (env: Record<string, string>, mode: string[] = ["--no-parallel"], files = [LISTENS]) =>
  spawnSync(process.execPath, ["node_modules/mocha/bin/mocha.js", "--config", ".mocharc.json", ...mode, ...files], {
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

  it("guards each parallel worker too (test:unit's mode): a server and a child process both fail, the workers start", () => {
    const run = mocha({ ETL_TEST_UNIT: "1" }, ["--parallel", "--jobs", "2"], [LISTENS, SPAWNS]);
    expect(run.status).to.not.equal(0);
    expect(run.stdout, run.stdout + run.stderr).to.include("0 passed, 2 failed");
    expect(run.stdout).to.include("a server listening in a unit test").and.include("child_process.spawnSync in a unit test");
    expect(run.stdout).to.not.include("Uncaught error outside test suite");
  });

  it("lets the same tests run in parallel workers outside the unit set", () => {
    const run = mocha({ ETL_TEST_UNIT: "" }, ["--parallel", "--jobs", "2"], [LISTENS, SPAWNS]);
    expect(run.status, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include("2 passed, 0 failed");
  });
});
