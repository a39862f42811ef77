// `npm run bench [-- --only <section>[,<section>...]]` (BENCH_COMMAND): measures, prints a table, writes bench/results.json.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCommand, runCommand, UsageError } from "../core/cli-args";
import { PROJECT_ROOT } from "../core/config";
import type { Section } from "./context";
import { describeMachine, machineLine } from "./machine";
import { renderTable, type Results } from "./results";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const RESULTS_FILE = join(PROJECT_ROOT, "bench", "results.json");

/** Sections in run order; each is loaded only when selected, so one missing module fails only its section. */
const SECTIONS: Record<string, () => Promise<Section>> = {
  synth: async () => (await import("./sections/synth")).synthSection,
  bundles: async () => (await import("./sections/bundles")).bundlesSection,
  overhead: async () => (await import("./sections/overhead")).overheadSection,
  "runner-scale": async () => (await import("./sections/runner-scale")).runnerScaleSection,
  etl: async () => (await import("./sections/etl-throughput")).etlThroughputSection,
  "end-to-end": async () => (await import("./sections/end-to-end")).endToEndSection,
  "test-loop": async () => (await import("./sections/test-loop")).testLoopSection,
};

export const BENCH_COMMAND = defineCommand({
  command: "npm run bench --",
  summary: "Measures the project (medians of repeated runs), prints a table and writes bench/results.json (see BENCHMARKS.md).",
  options: {
    only: { type: "string", value: "SECTIONS", description: `comma-separated sections to run, of ${Object.keys(SECTIONS).join(", ")}. Default: all` },
  },
  epilogue: "Exit codes: 0 measured, 1 a section failed, 2 bad usage.",
});

/** The sections to run, in run order; a UsageError names an unknown one. */
export function benchSections(only: string | undefined): string[] {
  const known = Object.keys(SECTIONS);
  if (only === undefined) return known;
  const asked = only.split(",").map((s) => s.trim()).filter(Boolean);
  if (!asked.length) throw new UsageError(`--only needs a section: ${known.join(", ")}`);
  const unknown = asked.filter((s) => !known.includes(s));
  if (unknown.length) throw new UsageError(`--only: unknown section ${unknown.join(", ")}; known: ${known.join(", ")}`);
  // Always in run order, so the table reads the same however the sections were asked for.
  return known.filter((s) => asked.includes(s));
}

/** Parses argv ("help" for --help); a UsageError names the bad argument. */
export function parseArgs(argv: readonly string[]): { only: string[] } | "help" {
  const values = BENCH_COMMAND.parse(argv);
  if (values === "help") return "help";
  return { only: benchSections(values.only) };
}

function readPrevious(): Results {
  if (!existsSync(RESULTS_FILE)) return { updatedAt: "", sections: {} };
  try {
    return JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as Results;
  } catch {
    return { updatedAt: "", sections: {} };
  }
}

async function main(only: string[]): Promise<number> {
  const machine = describeMachine();
  const command = `npm run bench${only.length === Object.keys(SECTIONS).length ? "" : ` -- --only ${only.join(",")}`}`;
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  log(`machine: ${machineLine(machine)}`);

  // Sections not run now keep their previous figures (each with its own date, machine and command).
  const results = readPrevious();
  const failed: string[] = [];
  for (const id of only) {
    const tmp = mkdtempSync(join(tmpdir(), `etl-bench-${id}-`));
    const started = Date.now();
    try {
      const section = await SECTIONS[id]();
      const { loadAverage1m } = describeMachine();
      log(`== ${id}: ${section.title}`);
      const figures = await section.run({ root: PROJECT_ROOT, tmp, log: (m) => log(`${id}: ${m}`) });
      results.sections[id] = { title: section.title, measuredAt: new Date().toISOString(), machine: { ...machine, loadAverage1m }, command, figures };
      log(`${id}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      failed.push(id);
      log(`${id}: FAILED: ${(error as Error)?.stack ?? String(error)}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  results.updatedAt = new Date().toISOString();
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

  const ran = only.filter((id) => !failed.includes(id));
  console.log(`Machine: ${machineLine(machine)}`);
  console.log(`Command: ${command}\n`);
  console.log(renderTable(results, ran));
  console.log("\nHow each figure was measured (figures sharing a method are listed together):");
  for (const id of ran) {
    const byCommand = new Map<string, string[]>();
    for (const f of results.sections[id].figures) byCommand.set(f.command, [...(byCommand.get(f.command) ?? []), f.name]);
    for (const [how, names] of byCommand) console.log(`- ${id} / ${names.join("; ")}: ${how}`);
  }
  const notes = ran.flatMap((id) => results.sections[id].figures.filter((f) => f.note).map((f) => `- ${id} / ${f.name}: ${f.note}`));
  if (notes.length) console.log(`\nNotes:\n${notes.join("\n")}`);
  console.log(`\nWrote ${RESULTS_FILE}`);
  if (failed.length) console.log(`\nFailed sections (see stderr): ${failed.join(", ")}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) {
  // process.exit, not exitCode: a section may leave a handle open (a child, a DuckDB instance).
  runCommand(BENCH_COMMAND, process.argv.slice(2), (values) => main(benchSections(values.only))).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${(error as Error)?.message ?? error}`);
      process.exit(1);
    },
  );
}
