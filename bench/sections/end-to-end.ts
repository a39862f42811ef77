// Section 6: what a large input adds to a whole local run (`npm start`'s CLI as a child process) against what it
// adds to plain DuckDB doing the same aggregation on the same file; and the peak memory of both, which must not
// grow with the file.
import { statSync } from "node:fs";
import { join } from "node:path";
import { salesChunks, writeChunks } from "../../local/sample-data";
import { childEnv, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, shellCommand, timeMs } from "../stats";
import { measureProcess, type ProcessMeasure } from "../process-peak";

const SMALL = 21_000;
const LARGE = 5_000_000;
const HUGE = 20_000_000;
const RUNS = 5;
/** A 20,000,000-row run takes minutes on the shared 2-core machine: 3 rounds for the growth figure. */
const HUGE_RUNS = 3;
const SEED = 42;
export const END_TO_END_TARGETS = { addedTime: 3, memory: 2, growth: 1.1 };

export const endToEndSection: Section = {
  id: "end-to-end",
  title: "End to end: npm start on large sales files against plain DuckDB",
  async run(context) {
    const files = new Map<number, string>();
    for (const rows of [SMALL, LARGE, HUGE]) {
      const file = join(context.tmp, `sales-${rows}.csv`);
      const ms = await timeMs(() => writeChunks(file, salesChunks(rows, SEED)));
      context.log(`${rows} rows: generated ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB in ${(ms / 1000).toFixed(1)} s (not timed)`);
      files.set(rows, file);
    }
    // What `npm start` runs (package.json): the launcher, its build made before the rounds so none of them pays it.
    const START = ["tools/launch.cjs", "local/cli.ts"];
    const cliArgs = (rows: number, run: number) => [...START, "--input", `sales=${files.get(rows)}`, "--out", join(context.tmp, `out-${rows}-${run}`)];
    const duckdbArgs = (rows: number) => ["--import", "tsx", "bench/etl-child.ts", "duckdb", "PSD", files.get(rows)!, join(context.tmp, "out-duckdb")];
    const run = (args: string[]) => measureProcess(process.execPath, args, { cwd: context.root, env: childEnv() });
    await run([...START, "--help"]);
    // Rounds: each runs the CLI and plain DuckDB on each size, so load drift hits every series alike.
    const rounds = await repeat(RUNS, async (i) => {
      const round: Record<string, ProcessMeasure> = {};
      for (const rows of i < HUGE_RUNS ? [SMALL, LARGE, HUGE] : [SMALL, LARGE]) {
        round[`cli-${rows}`] = await run(cliArgs(rows, i));
        round[`duckdb-${rows}`] = await run(duckdbArgs(rows));
      }
      context.log(`round ${i + 1}/${RUNS}: ` + Object.entries(round).map(([k, m]) => `${k} ${(m.ms / 1000).toFixed(1)} s ${m.peakMiB.toFixed(0)} MiB`).join("; "));
      return round;
    });
    const series = (pick: (r: (typeof rounds)[number]) => number, of = rounds) => ({ median: median(of.map(pick)), samples: of.map(pick) });
    const hugeRounds = rounds.slice(0, HUGE_RUNS);
    const added = (kind: string, r: (typeof rounds)[number]) => (r[`${kind}-${LARGE}`].ms - r[`${kind}-${SMALL}`].ms) / 1000;
    const cli = `${shellCommand("node", [...START, "--input", "sales=<N rows>.csv", "--out", "<tmp>"])} (what npm start runs; marketing: generated sample data)`;
    const duckdb = `${shellCommand("node", ["--import", "tsx", "bench/etl-child.ts", "duckdb", "PSD", "<N rows>.csv", "<tmp>"])}`;
    const how = `wall time of the whole process; peak memory: the largest VmHWM sum of the process tree, sampled every 25 ms; ${RUNS} rounds, each running both on ${SMALL} and ${LARGE} rows, the first ${HUGE_RUNS} also on ${HUGE} rows`;
    const large = LARGE.toLocaleString("en-US");
    const huge = HUGE.toLocaleString("en-US");
    return [
      { name: `npm start: ${large} rows minus ${SMALL.toLocaleString("en-US")}`, unit: "s", ...series((r) => added("cli", r)), command: `${cli}; ${how}` },
      { name: `plain DuckDB: ${large} rows minus ${SMALL.toLocaleString("en-US")}`, unit: "s", ...series((r) => added("duckdb", r)), command: `${duckdb}; ${how}` },
      { name: "added time, npm start / DuckDB", unit: "x", ...series((r) => added("cli", r) / added("duckdb", r)), command: `per round; ${how}`, target: { atMost: END_TO_END_TARGETS.addedTime } },
      { name: `npm start: peak memory, ${large} rows`, unit: "MiB", ...series((r) => r[`cli-${LARGE}`].peakMiB), command: `${cli}; ${how}` },
      { name: `plain DuckDB: peak memory, ${large} rows`, unit: "MiB", ...series((r) => r[`duckdb-${LARGE}`].peakMiB), command: `${duckdb}; ${how}` },
      { name: "peak memory, npm start / DuckDB", unit: "x", ...series((r) => r[`cli-${LARGE}`].peakMiB / r[`duckdb-${LARGE}`].peakMiB), command: `per round; ${how}`, target: { atMost: END_TO_END_TARGETS.memory } },
      { name: `npm start: peak memory, ${huge} rows`, unit: "MiB", ...series((r) => r[`cli-${HUGE}`].peakMiB, hugeRounds), command: `${cli}; ${how}`, note: `wall ${median(hugeRounds.map((r) => r[`cli-${HUGE}`].ms / 1000)).toFixed(1)} s` },
      { name: `peak memory, npm start ${huge} / ${large} rows`, unit: "x", ...series((r) => r[`cli-${HUGE}`].peakMiB / r[`cli-${LARGE}`].peakMiB, hugeRounds), command: `per round; ${how}`, target: { atMost: END_TO_END_TARGETS.growth } },
    ] satisfies Figure[];
  },
};
