import { expect } from "chai";
import { spawnSync } from "node:child_process";
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

  it("names and kills a process that outlives the command by REAP_ALL_GRACE_SECONDS, and returns", () => {
    const sleeper = `require("node:child_process").spawn("sleep", ["600"], { detached: true, stdio: "ignore" }).unref()`;
    const result = spawnSync("python3", [REAP_ALL, process.execPath, "-e", sleeper], { encoding: "utf8", env: { ...process.env, REAP_ALL_GRACE_SECONDS: "1" }, timeout: 20_000 });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stderr).to.match(/reap-all\.py: process \d+ \(sleep 600\) outlived the command; killed/);
  });

  it("refuses to run nothing", () => {
    const result = spawnSync("python3", [REAP_ALL], { encoding: "utf8" });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include("usage: reap-all.py COMMAND");
  });
});
