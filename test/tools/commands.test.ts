// Every npm script that takes arguments behaves like a tool: --help prints its usage and exits 0, and a bad
// argument exits 2 with one line naming it, no stack trace. The scripts are read from package.json.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { expect } from "chai";
import { launchedFile, SCRIPTS } from "../support/scripts";

const ROOT = resolve(__dirname, "..", "..");
/** `node tools/launch.cjs <file>` scripts are the project's own tools (test, synth and build run mocha, cdktf and tsc). */
const tools = Object.entries(SCRIPTS)
  .map(([name, command]) => ({ name, file: launchedFile(command) }))
  .filter((t): t is { name: string; file: string } => t.file !== undefined);

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    // As the script runs it (its prebuilt app: tools/launch.cjs).
    const child = spawn(process.execPath, ["tools/launch.cjs", file, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    // Only a hang: on a cold cache the launch builds the tool first, with other builds and tests running.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${file} ${args.join(" ")} did not exit within 150 s\n${stdout}\n${stderr}`));
    }, 150_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe("the npm scripts' command lines", () => {
  it("finds the tools in package.json", () => {
    expect(tools.map((t) => t.name)).to.include.members(["start", "sample-data", "diagram", "synth:diff", "synth:hcl", "bench", "config:schema"]);
  });

  for (const { name, file } of tools) {
    it(`npm run ${name} -- --help exits 0 with the usage; --no-such-option exits 2 in one line`, async () => {
      const [help, bad] = await Promise.all([run(file, ["--help"]), run(file, ["--no-such-option"])]);
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.match(new RegExp(`^Usage: npm (start|run ${name.replace(":", "\\:")}) --`));
      expect(help.stdout).to.contain("-h, --help");
      expect(bad.code, bad.stdout + bad.stderr).to.equal(2);
      expect(bad.stderr.trimEnd().split("\n"), bad.stderr).to.have.length(1);
      expect(bad.stderr).to.contain("unknown option '--no-such-option'").and.contain("--help");
      expect(bad.stdout).to.equal("");
    });
  }

  it("a bad or missing value is named in one line too (sample-data, bench, synth:hcl)", async () => {
    const cases = [
      { file: "local/sample-data-cli.ts", args: ["--out", "unused", "--sales-rows", "ten"], names: '--sales-rows: expected a non-negative integer, got "ten"' },
      { file: "local/sample-data-cli.ts", args: [], names: "--out DIR is required" },
      { file: "bench/run.ts", args: ["--only", "speed"], names: "--only: unknown section speed" },
      { file: "tools/synth-hcl.ts", args: ["--out"], names: "--out needs a value" },
    ];
    const results = await Promise.all(cases.map((c) => run(c.file, c.args)));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect(r.stderr).to.contain(cases[i].names).and.not.match(/\n\s+at /);
    });
  });
});
