// Section 7: the test loop as a developer waits for it, `npm run test:unit` and `npm test`, each a fresh run.
import { join } from "node:path";
import { childEnv, type Section } from "../context";
import type { Figure } from "../results";
import { median, runProcess } from "../stats";

const UNIT_RUNS = 5;
// A whole `npm test` takes minutes: 3 runs, interleaved with the first 3 unit runs so that load drift hits both.
const FULL_RUNS = 3;

interface LoopCommand {
  name: string;
  script: string;
  runs: number;
  targetSeconds: number;
}

const COMMANDS: readonly LoopCommand[] = [
  { name: "npm run test:unit", script: "test:unit", runs: UNIT_RUNS, targetSeconds: 15 },
  { name: "npm test", script: "test", runs: FULL_RUNS, targetSeconds: 90 },
];

/**
 * The closing line of test/reporter.cjs ("N passed, N failed"), read from a run's output. A run that failed a test, or
 * passed none, is no figure of the test loop: it throws naming the command.
 */
export function passedTests(stdout: string, command: string): number {
  const summaries = [...stdout.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
  const last = summaries.at(-1);
  if (!last) throw new Error(`${command}: no "N passed, N failed" line in its output (last lines: ${JSON.stringify(stdout.trim().split("\n").slice(-3).join("\n"))})`);
  const [, passed, failed, skipped] = last.map(Number);
  if (failed > 0) throw new Error(`${command}: ${failed} test(s) failed, so its time is no figure`);
  if (skipped > 0) throw new Error(`${command}: ${skipped} test(s) skipped, so its time is no figure`);
  if (passed === 0) throw new Error(`${command}: ran no test`);
  return passed;
}

export const testLoopSection: Section = {
  id: "test-loop",
  title: "Test loop: npm run test:unit and npm test",
  async run(context) {
    const samples = new Map(COMMANDS.map((c) => [c.name, { wall: [] as number[], cpu: [] as number[], tests: [] as number[] }]));
    const rounds = Math.max(...COMMANDS.map((c) => c.runs));
    for (let round = 0; round < rounds; round++) {
      for (const loop of COMMANDS) {
        if (round >= loop.runs) continue;
        // On Linux bench/reap-all.py waits for every process of the run's tree: those whose parent ended first
        // (esbuild's) count, and a run that leaves a process fails. Elsewhere there is no CPU figure (childrenCpuMs).
        const npm = ["npm", "run", "--silent", loop.script];
        const [command, ...args] = process.platform === "linux" ? ["python3", join(context.root, "bench", "reap-all.py"), ...npm] : npm;
        const { wallMs, cpuMs, stdout } = runProcess(command, args, { cwd: context.root, env: childEnv() });
        const tests = passedTests(stdout, loop.name);
        const own = samples.get(loop.name)!;
        own.wall.push(wallMs / 1000);
        if (cpuMs !== undefined) own.cpu.push(cpuMs / 1000);
        own.tests.push(tests);
        context.log(`${loop.name}: run ${round + 1}/${loop.runs}: ${(wallMs / 1000).toFixed(1)} s${cpuMs === undefined ? "" : `, CPU ${(cpuMs / 1000).toFixed(1)} s`}, ${tests} passed`);
      }
    }
    return COMMANDS.flatMap((loop): Figure[] => {
      const { wall, cpu, tests } = samples.get(loop.name)!;
      const how = `\`npm run --silent ${loop.script}\` in the project, a fresh process tree per run (${loop.runs} runs, every test passed; rounds interleave the commands)`;
      const figures: Figure[] = [
        { name: loop.name, unit: "s", median: median(wall), samples: wall, command: `${how}: wall time`, target: { atMost: loop.targetSeconds }, note: `${median(tests)} tests passed` },
      ];
      if (cpu.length) figures.push({ name: `${loop.name}, CPU time`, unit: "s", median: median(cpu), samples: cpu, command: `${how}: user + system CPU time of every process of its tree (run under bench/reap-all.py, a child subreaper that waits for those whose parent ended first; /proc/self/stat cutime + cstime of the bench)` });
      return figures;
    });
  },
};
