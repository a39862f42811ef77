import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { runProcess } from "../../bench/stats";

const REAP_ALL = join(__dirname, "..", "..", "bench", "reap-all.py");

/** A node process that starts a detached child using `cpuMs` of CPU time, and ends without waiting for it. */
const leavesOrphan = (cpuMs: number) => [
  process.execPath,
  "-e",
  `require("node:child_process").spawn(process.execPath, ["-e", "while ((process.cpuUsage().user + process.cpuUsage().system) / 1000 < ${cpuMs}) {}"], { detached: true, stdio: "ignore" }).unref()`,
];

describe("bench/reap-all.py: the test loop's CPU counts the processes whose parent ended first", function () {
  this.timeout(30_000);

  it("counts an orphan's CPU in the caller's children's CPU, which a plain run loses", () => {
    const [node, ...args] = leavesOrphan(300);
    const plain = runProcess(node, args);
    const reaped = runProcess("python3", [REAP_ALL, node, ...args]);
    // Ticks of 10 ms: the orphan's 300 ms is at least 290 counted; the plain run's own node is far below that.
    expect(reaped.cpuMs).to.be.at.least(290);
    expect(plain.cpuMs).to.be.below(reaped.cpuMs! - 250);
  });

  it("exits with the command's status, 128 + the signal's number when a signal ended it", () => {
    expect(spawnSync("python3", [REAP_ALL, process.execPath, "-e", "process.exit(3)"]).status).to.equal(3);
    expect(spawnSync("python3", [REAP_ALL, process.execPath, "-e", "process.kill(process.pid, 'SIGTERM')"]).status).to.equal(143);
  });

  it("names and kills a process that outlives the command by REAP_ALL_GRACE_SECONDS, and exits 70 whatever the command's status", () => {
    const sleeper = `require("node:child_process").spawn("sleep", ["60"], { detached: true, stdio: "ignore" }).unref()`;
    const result = spawnSync("python3", [REAP_ALL, process.execPath, "-e", sleeper], { encoding: "utf8", env: { ...process.env, REAP_ALL_GRACE_SECONDS: "1" }, timeout: 20_000 });
    expect(result.stderr).to.match(/reap-all\.py: process \d+ \(sleep 60\) outlived the command; killed/);
    expect(result.status, result.stderr).to.equal(70);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`passes ${signal} to the command and still waits for it`, async () => {
      const script = `process.on("${signal}", () => { console.log("got it"); process.exit(5); }); console.log("ready"); setTimeout(() => process.exit(9), 10_000);`;
      const wrapper = spawn("python3", [REAP_ALL, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let stdout = "";
      wrapper.stdout.setEncoding("utf8").on("data", (text: string) => {
        stdout += text;
        if (text.includes("ready")) wrapper.kill(signal);
      });
      const [code] = (await once(wrapper, "close")) as [number];
      expect(stdout).to.include("got it");
      expect(code).to.equal(5);
    });
  }

  it("ends the grace period at once on SIGTERM once the command ended, killing what is left", async () => {
    const sleeper = `require("node:child_process").spawn("sleep", ["60"], { detached: true, stdio: "ignore" }).unref(); console.log("ended")`;
    const wrapper = spawn("python3", [REAP_ALL, process.execPath, "-e", sleeper], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, REAP_ALL_GRACE_SECONDS: "600" } });
    let stderr = "";
    wrapper.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    // Repeated: one that still reaches the command ends it, and the next ends the grace period (70 either way).
    let repeat: NodeJS.Timeout | undefined;
    wrapper.stdout.setEncoding("utf8").on("data", (text: string) => {
      if (text.includes("ended")) repeat = setInterval(() => wrapper.kill("SIGTERM"), 200);
    });
    const [code] = (await once(wrapper, "close")) as [number];
    clearInterval(repeat);
    expect(stderr).to.match(/process \d+ \(sleep 60\) outlived the command; killed/);
    expect(code).to.equal(70);
  });

  it("refuses to run nothing, a command that does not exist and a bad REAP_ALL_GRACE_SECONDS, naming each", () => {
    const run = (args: string[], env: Record<string, string> = {}) => spawnSync("python3", [REAP_ALL, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
    const nothing = run([]);
    expect(nothing.status).to.equal(1);
    expect(nothing.stderr).to.include("usage: reap-all.py COMMAND");
    const missing = run(["no-such-command-here"]);
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.include("reap-all.py: cannot run no-such-command-here: No such file or directory");
    for (const grace of ["0", "soon", "²", "3601"]) {
      const bad = run([process.execPath, "-e", ""], { REAP_ALL_GRACE_SECONDS: grace });
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.include(`REAP_ALL_GRACE_SECONDS must be a whole number of seconds from 1 to 3600 (got '${grace}')`);
    }
  });
});
