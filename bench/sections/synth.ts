// Section 1: synth time of the whole app (all stacks), run directly and through the cdktf CLI.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stackIds } from "../../stacks/app";
import { loadConfig } from "../../core/config";
import { childEnv, type BenchContext, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, shellCommand, timeProcess } from "../stats";

const RUNS = 5;

interface SynthCommand {
  name: string;
  command: string;
  args: (outdir: string) => string[];
  env: (outdir: string) => Record<string, string>;
}

/** A synth that exits 0 without writing every stack would give a fast, meaningless figure. */
export function checkSynthesized(outdir: string, expected: readonly string[]): void {
  const manifestFile = join(outdir, "manifest.json");
  if (!existsSync(manifestFile)) throw new Error(`synth wrote no ${manifestFile}`);
  const stacks = (JSON.parse(readFileSync(manifestFile, "utf8")) as { stacks?: Record<string, { synthesizedStackPath?: string }> }).stacks ?? {};
  const missing = expected.filter((id) => !stacks[id]?.synthesizedStackPath || !existsSync(join(outdir, stacks[id].synthesizedStackPath!)));
  if (missing.length) throw new Error(`synth did not write stack(s) ${missing.join(", ")} (manifest lists ${Object.keys(stacks).join(", ") || "none"})`);
}

async function synthFigure(context: BenchContext, synth: SynthCommand, expectedStacks: readonly string[]): Promise<Figure> {
  const outdir = join(context.tmp, "cdktf.out");
  const once = () => {
    rmSync(outdir, { recursive: true, force: true });
    const ms = timeProcess(synth.command, synth.args(outdir), { cwd: context.root, env: childEnv(synth.env(outdir)) });
    checkSynthesized(outdir, expectedStacks);
    return ms;
  };
  context.log(`${synth.name}: warm-up run (not counted)`);
  once();
  const samples = await repeat(RUNS, (i) => {
    const ms = once();
    context.log(`${synth.name}: run ${i + 1}/${RUNS}: ${ms.toFixed(0)} ms`);
    return ms;
  });
  const shown = Object.entries(synth.env("<tmp>/cdktf.out")).map(([k, v]) => `${k}=${v}`);
  return {
    name: synth.name,
    unit: "s",
    median: median(samples) / 1000,
    samples: samples.map((ms) => ms / 1000),
    command: `${[...shown, shellCommand(synth.command, synth.args("<tmp>/cdktf.out"))].join(" ")} (fresh process per run, wall time, after one uncounted warm-up)`,
  };
}

export const synthSection: Section = {
  id: "synth",
  title: "Synth time of the app (all stacks)",
  async run(context) {
    const expectedStacks = Object.values(stackIds(loadConfig()));
    const direct = await synthFigure(
      context,
      { name: "synth, app run directly", command: "node", args: () => ["--import", "tsx", "main.ts"], env: (outdir) => ({ CDKTF_OUTDIR: outdir }) },
      expectedStacks,
    );
    direct.target = { atMost: 1.0 };
    direct.note = "build cache warm (stacks/build-cache.ts), as every synth after the first sees it";
    const cold = await synthFigure(
      context,
      {
        name: "synth, app run directly, no build cache",
        command: "node",
        args: () => ["--import", "tsx", "main.ts"],
        env: (outdir) => ({ CDKTF_OUTDIR: outdir, ETL_BUILD_CACHE: "off" }),
      },
      expectedStacks,
    );
    cold.note = "a first synth: bundles built by esbuild and the ASL validated";
    const cli = await synthFigure(
      context,
      { name: "synth, npx cdktf synth", command: "npx", args: (outdir) => ["cdktf", "synth", "--output", outdir], env: () => ({ CHECKPOINT_DISABLE: "1" }) },
      expectedStacks,
    );
    cli.note = "includes the cdktf CLI's own start-up and its app command (cdktf.json: `node --import tsx main.ts`)";
    return [direct, await startupRatio(context, direct), cold, cli, ...(await phaseFigures(context))];
  },
};

/** The warm synth as a multiple of a bare Node start measured in the same run, so a noisy machine cancels out. */
async function startupRatio(context: BenchContext, direct: Figure): Promise<Figure> {
  const bare = await repeat(RUNS, () => timeProcess("node", ["-e", "0"], { cwd: context.root, env: childEnv({}) }));
  const bareSeconds = median(bare) / 1000;
  context.log(`bare node -e 0: median ${(bareSeconds * 1000).toFixed(0)} ms`);
  return {
    name: "synth, app run directly, as a multiple of `node -e 0`",
    unit: "×",
    median: direct.median / bareSeconds,
    samples: direct.samples.map((s) => s / bareSeconds),
    command: `each warm synth sample ÷ the median of ${RUNS} runs of \`node -e 0\` in the same section (${(bareSeconds * 1000).toFixed(0)} ms)`,
    target: { atMost: 10 },
  };
}

const PHASES = [
  ["startMs", "node + tsx start-up"],
  ["importMs", "import the stacks"],
  ["constructMs", "build the stacks (incl. bundling both Lambdas, no build cache)"],
  ["writeMs", "write the synthesized JSON"],
] as const;

/** Where the direct synth's time goes: bench/synth-phases.ts times each phase inside a fresh process. */
async function phaseFigures(context: BenchContext): Promise<Figure[]> {
  const outdir = join(context.tmp, "phases.out");
  const args = ["--import", "tsx", "bench/synth-phases.ts", outdir];
  const runs = await repeat(RUNS, () => {
    rmSync(outdir, { recursive: true, force: true });
    const result = spawnSync("node", args, { cwd: context.root, env: childEnv({ ETL_BUILD_CACHE: "off" }), encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${shellCommand("node", args)} exited with ${result.status}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<(typeof PHASES)[number][0], number>;
  });
  return PHASES.map(([key, label]) => {
    const samples = runs.map((r) => r[key] / 1000);
    return {
      name: `synth phase: ${label}`,
      unit: "s",
      median: median(samples),
      samples,
      command: `ETL_BUILD_CACHE=off ${shellCommand("node", ["--import", "tsx", "bench/synth-phases.ts", "<tmp>"])} (fresh process per run; performance.now() around each phase)`,
    };
  });
}
