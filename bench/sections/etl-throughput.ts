// Section 5: the local engine alone against plain DuckDB, side by side: job PSD on generated sales data of each
// size, each run a fresh process (bench/etl-child.ts) so its peak memory is its own; the two alternate, so load
// drift on the shared machine hits both alike.
import { statSync } from "node:fs";
import { join } from "node:path";
import { salesChunks, writeChunks } from "../../local/sample-data";
import { childEnv, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, shellCommand, timeMs } from "../stats";
import { measureProcess } from "../process-peak";

const JOB = "PSD";
const SIZES = [20_000, 1_000_000, 5_000_000];
const RUNS = 5;
const SEED = 42;
export const ENGINE_TARGETS = { time: 1.3, memory: 1.5 };

interface ChildRun {
  seconds: number;
  maxRssMiB: number;
  rowsWritten: number;
  dropped: number;
}

/** One run of bench/etl-child.ts: its own timing of the work and its peak memory. */
async function childRun(root: string, mode: "engine" | "duckdb", file: string, outputDir: string): Promise<ChildRun> {
  const { stdout } = await measureProcess(process.execPath, ["--import", "tsx", "bench/etl-child.ts", mode, JOB, file, outputDir], { cwd: root, env: childEnv() });
  const run = JSON.parse(stdout.trim().split("\n").pop()!) as ChildRun;
  if (run.rowsWritten < 1) throw new Error(`${mode} on ${file}: wrote no rows`);
  // A dropped row means the generator and the schema disagree: the figure would count rows not processed.
  if (run.dropped) throw new Error(`${mode} on ${file}: dropped ${run.dropped} rows`);
  return run;
}

export const etlThroughputSection: Section = {
  id: "etl",
  title: `Local ETL engine against plain DuckDB (job ${JOB})`,
  async run(context) {
    const figures: Figure[] = [];
    for (const rows of SIZES) {
      const file = join(context.tmp, `sales-${rows}.csv`);
      const generation = await timeMs(() => writeChunks(file, salesChunks(rows, SEED)));
      const mib = (statSync(file).size / 2 ** 20).toFixed(0);
      context.log(`${rows} rows: generated ${mib} MiB in ${(generation / 1000).toFixed(1)} s (not timed)`);
      const pairs = await repeat(RUNS, async (i) => {
        const engine = await childRun(context.root, "engine", file, join(context.tmp, "out-engine"));
        const duckdb = await childRun(context.root, "duckdb", file, join(context.tmp, "out-duckdb"));
        if (engine.rowsWritten !== duckdb.rowsWritten) throw new Error(`${rows} rows: the engine wrote ${engine.rowsWritten} rows, plain DuckDB ${duckdb.rowsWritten}`);
        context.log(`${rows} rows: run ${i + 1}/${RUNS}: engine ${engine.seconds.toFixed(2)} s ${engine.maxRssMiB.toFixed(0)} MiB; DuckDB ${duckdb.seconds.toFixed(2)} s ${duckdb.maxRssMiB.toFixed(0)} MiB`);
        return { engine, duckdb };
      });
      const size = `PSD on ${rows.toLocaleString("en-US")} rows`;
      const how = (mode: string) =>
        `${shellCommand("node", ["--import", "tsx", "bench/etl-child.ts", mode, JOB, `<sales-${rows}.csv>`, "<out>"])} (${mib} MiB CSV from salesChunks(${rows}, ${SEED})); ` +
        "time: the run inside the process (read, parse, SQL, Parquet write); memory: the process's peak resident set (getrusage maxrss)";
      const both = `engine and plain DuckDB alternating, ${RUNS} pairs; ratio: median of each pair's ratio`;
      const series = (pick: (p: (typeof pairs)[number]) => number) => ({ median: median(pairs.map(pick)), samples: pairs.map(pick) });
      figures.push(
        { name: `${size}: local engine`, unit: "s", ...series((p) => p.engine.seconds), command: how("engine"), note: `${(rows / median(pairs.map((p) => p.engine.seconds))).toFixed(0)} rows/s` },
        { name: `${size}: plain DuckDB`, unit: "s", ...series((p) => p.duckdb.seconds), command: how("duckdb") },
        { name: `${size}: time, engine / DuckDB`, unit: "x", ...series((p) => p.engine.seconds / p.duckdb.seconds), command: both, target: { atMost: ENGINE_TARGETS.time } },
        { name: `${size}: peak memory, local engine`, unit: "MiB", ...series((p) => p.engine.maxRssMiB), command: how("engine") },
        { name: `${size}: peak memory, plain DuckDB`, unit: "MiB", ...series((p) => p.duckdb.maxRssMiB), command: how("duckdb") },
        { name: `${size}: memory, engine / DuckDB`, unit: "x", ...series((p) => p.engine.maxRssMiB / p.duckdb.maxRssMiB), command: both, target: { atMost: ENGINE_TARGETS.memory } },
      );
    }
    return figures;
  },
};
