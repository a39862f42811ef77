import { expect } from "chai";
import { median, repeat, runProcess, shellCommand, timeProcess } from "../../bench/stats";

describe("bench/stats", () => {
  describe("median", () => {
    it("takes the middle value of an odd count, whatever the order", () => {
      expect(median([5, 1, 3])).to.equal(3);
      expect(median([9, 2, 7, 1, 8])).to.equal(7);
    });

    it("averages the middle two of an even count, sorting numerically", () => {
      expect(median([10, 2, 1, 3])).to.equal(2.5);
    });

    it("does not reorder its input", () => {
      const values = [3, 1, 2];
      median(values);
      expect(values).to.deep.equal([3, 1, 2]);
    });

    it("rejects no values and non-finite values", () => {
      expect(() => median([])).to.throw("median of no values");
      expect(() => median([1, Number.NaN])).to.throw("not a finite number");
    });
  });

  describe("repeat", () => {
    it("runs the function the given number of times, in order", async () => {
      expect(await repeat(3, async (i) => i * 2)).to.deep.equal([0, 2, 4]);
    });

    it("rejects a count below one", async () => {
      let error: unknown;
      await repeat(0, () => 1).catch((e: unknown) => (error = e));
      expect((error as Error).message).to.contain("times must be a positive integer (got 0)");
    });
  });

  describe("timeProcess", () => {
    it("returns the wall time of a process that succeeds", () => {
      const ms = timeProcess(process.execPath, ["-e", "const t = Date.now(); while (Date.now() - t < 150);"]);
      expect(ms).to.be.at.least(150);
    });

    it("throws with the command, exit code and stderr of a process that fails", () => {
      expect(() => timeProcess(process.execPath, ["-e", "console.error('boom'); process.exit(3)"])).to.throw(/exited with 3:\nstderr:\nboom$/);
    });

    it("throws with the end of stdout too, where a test runner names the failing test", () => {
      const script = "for (let i = 1; i <= 100; i++) console.log('line ' + i); console.error('boom'); process.exit(1)";
      let error = "";
      try {
        timeProcess(process.execPath, ["-e", script]);
      } catch (e) {
        error = (e as Error).message;
      }
      expect(error).to.match(/exited with 1:\nstdout:\nline 41\n[^]*\nline 100\nstderr:\nboom$/);
      expect(error).to.not.include("line 40\n");
    });
  });

  describe("runProcess", () => {
    it("counts the CPU a process burns, not the time it sleeps, and returns its stdout", () => {
      // Busy until the process itself has used 300 ms of CPU (on a loaded machine that takes longer in wall time).
      const burn = "const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (cpu() < 300); process.stdout.write('done')";
      const busy = runProcess(process.execPath, ["-e", burn]);
      expect(busy.stdout).to.equal("done");
      expect(busy.cpuMs).to.be.at.least(290); // clock ticks of 10 ms
      const asleep = runProcess(process.execPath, ["-e", "setTimeout(() => undefined, 400)"]);
      expect(asleep.wallMs).to.be.at.least(400);
      expect(asleep.cpuMs).to.be.below(asleep.wallMs - 250);
    });
  });

  it("shellCommand quotes only what needs quoting", () => {
    expect(shellCommand("node", ["-e", "require('x')", "main.ts"])).to.equal(`node -e 'require('\\''x'\\'')' main.ts`);
  });
});
