// Section 1: synth time of the whole app (all stacks), run directly (cdktf.json's app command) and through the cdktf CLI.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stackIds } from "../../stacks/app";
import { loadConfig } from "../../core/config";
import { childEnv, type BenchContext, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, runProcess, shellCommand } from "../stats";

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

/** The app command of cdktf.json (what `cdktf synth` runs), as a command and its arguments. */
export function appCommand(root: string): { command: string; args: string[] } {
  const app = (JSON.parse(readFileSync(join(root, "cdktf.json"), "utf8")) as { app?: string }).app;
  if (!app) throw new Error(`${join(root, "cdktf.json")}: no "app" command`);
  const [command, ...args] = app.trim().split(/\s+/);
  return { command, args };
}

interface SynthSamples {
  wall: number[];
  cpu: number[];
}

/** One warm-up run (not counted), then RUNS runs of `synth`; `alongside` runs before each, in the same round. */
async function measureSynth(context: BenchContext, synth: SynthCommand, expectedStacks: readonly string[], alongside?: () => void): Promise<SynthSamples> {
  const outdir = join(context.tmp, "cdktf.out");
  const once = () => {
    rmSync(outdir, { recursive: true, force: true });
    const run = runProcess(synth.command, synth.args(outdir), { cwd: context.root, env: childEnv(synth.env(outdir)) });
    checkSynthesized(outdir, expectedStacks);
    return run;
  };
  context.log(`${synth.name}: warm-up run (not counted)`);
  once();
  const samples: SynthSamples = { wall: [], cpu: [] };
  await repeat(RUNS, (i) => {
    alongside?.();
    const { wallMs, cpuMs } = once();
    samples.wall.push(wallMs / 1000);
    if (cpuMs !== undefined) samples.cpu.push(cpuMs / 1000);
    context.log(`${synth.name}: run ${i + 1}/${RUNS}: ${wallMs.toFixed(0)} ms${cpuMs === undefined ? "" : `, CPU ${cpuMs} ms`}`);
  });
  return samples;
}

function synthFigures(synth: SynthCommand, samples: SynthSamples, note: string): Figure[] {
  const shown = Object.entries(synth.env("<tmp>/cdktf.out")).map(([k, v]) => `${k}=${v}`);
  const command = [...shown, shellCommand(synth.command, synth.args("<tmp>/cdktf.out"))].join(" ");
  const figures: Figure[] = [{ name: synth.name, unit: "s", median: median(samples.wall), samples: samples.wall, command: `${command} (fresh process per run, wall time, after one uncounted warm-up)`, note }];
  if (samples.cpu.length)
    figures.push({ name: `${synth.name}, CPU time`, unit: "s", median: median(samples.cpu), samples: samples.cpu, command: `${command}: user + system CPU time of the process and its children (/proc/self/stat cutime + cstime of the bench)` });
  return figures;
}

export const synthSection: Section = {
  id: "synth",
  title: "Synth time of the app (all stacks)",
  async run(context) {
    const expectedStacks = Object.values(stackIds(loadConfig()));
    const app = appCommand(context.root);
    const direct: SynthCommand = { name: "synth, app run directly", command: app.command, args: () => app.args, env: (outdir) => ({ CDKTF_OUTDIR: outdir }) };
    // A bare Node start in the same rounds as the warm synth, so that load drift hits both alike.
    const bare: SynthSamples = { wall: [], cpu: [] };
    const bareRun = () => {
      const { wallMs, cpuMs } = runProcess("node", ["-e", "0"], { cwd: context.root, env: childEnv({}) });
      bare.wall.push(wallMs / 1000);
      if (cpuMs !== undefined) bare.cpu.push(cpuMs / 1000);
    };
    const warm = await measureSynth(context, direct, expectedStacks, bareRun);
    context.log(`bare node -e 0: median ${(median(bare.wall) * 1000).toFixed(0)} ms`);
    const [directFigure, directCpu] = synthFigures(direct, warm, "build cache warm (core/build-cache.ts: the synth app, the Lambda bundles, the ASL and catalog checks), as every synth after the first sees it");
    directFigure.target = { atMost: 1.0 };
    const cold: SynthCommand = { ...direct, name: "synth, app run directly, no build cache", env: (outdir) => ({ CDKTF_OUTDIR: outdir, ETL_BUILD_CACHE: "off" }) };
    const coldFigures = synthFigures(cold, await measureSynth(context, cold, expectedStacks), "a first synth: the synth app and the Lambda bundles built by esbuild, the ASL and the catalog schemas checked");
    const cli: SynthCommand = { name: "synth, npx cdktf synth", command: "npx", args: (outdir) => ["cdktf", "synth", "--output", outdir], env: () => ({ CHECKPOINT_DISABLE: "1" }) };
    const cliFigures = synthFigures(cli, await measureSynth(context, cli, expectedStacks), `includes the cdktf CLI's own start-up and its app command (cdktf.json: \`${[app.command, ...app.args].join(" ")}\`)`);
    return [
      directFigure,
      ...startupRatios(warm, bare),
      ...(directCpu ? [directCpu] : []),
      ...coldFigures,
      ...cliFigures,
      ...(await phaseFigures(context, app)),
    ];
  },
};

/** The warm synth as a multiple of a bare Node start measured in the same rounds, so a noisy machine cancels out. */
function startupRatios(warm: SynthSamples, bare: SynthSamples): Figure[] {
  const ratio = (synth: number[], base: number[], what: string): Figure => {
    const baseMedian = median(base);
    return {
      name: `synth, app run directly, as a multiple of \`node -e 0\`${what ? `, ${what}` : ""}`,
      unit: "×",
      median: median(synth) / baseMedian,
      samples: synth.map((s) => s / baseMedian),
      command: `each warm synth sample${what ? ` (${what})` : ""} ÷ the median of ${base.length} runs of \`node -e 0\`, one before each synth in the same rounds (${(baseMedian * 1000).toFixed(0)} ms)`,
    };
  };
  const wall = { ...ratio(warm.wall, bare.wall, ""), target: { atMost: 10 } };
  return warm.cpu.length && bare.cpu.length ? [wall, ratio(warm.cpu, bare.cpu, "CPU time")] : [wall];
}

/** Phases as the performance marks of tools/launch.cjs and main.ts divide them (printed by bench/synth-phases.cjs). */
const PHASES = [
  ["launch:start", "node start-up"],
  ["launch:loaded", "load the synth app (check its build, compile with V8's code cache)"],
  ["synth:imported", "import the stacks (and take the Lambda bundles from the build cache)"],
  ["synth:prepared", "read the configuration, cached catalog check"],
  ["synth:built", "build the stacks"],
  ["synth:written", "write the synthesized JSON"],
  ["exit", "exit (temporary bundle folders removed)"],
] as const;

/** Where the warm synth's time goes: the same app command, in fresh processes, with bench/synth-phases.cjs preloaded. */
async function phaseFigures(context: BenchContext, app: { command: string; args: string[] }): Promise<Figure[]> {
  const outdir = join(context.tmp, "phases.out");
  const args = ["--require", "./bench/synth-phases.cjs", ...app.args];
  if (app.command !== "node") throw new Error(`the synth phases need a node app command in cdktf.json, not ${app.command}`);
  const runs = await repeat(RUNS, () => {
    rmSync(outdir, { recursive: true, force: true });
    const { stdout } = runProcess("node", args, { cwd: context.root, env: childEnv({ CDKTF_OUTDIR: outdir }) });
    checkSynthesized(outdir, Object.values(stackIds(loadConfig())));
    const marks = JSON.parse(stdout) as Record<string, number>;
    const missing = PHASES.map(([mark]) => mark).filter((mark) => typeof marks[mark] !== "number");
    if (missing.length) throw new Error(`${shellCommand("node", args)} printed no mark ${missing.join(", ")}: ${stdout.slice(0, 300)}`);
    return PHASES.map(([mark], i) => marks[mark] - (i ? marks[PHASES[i - 1][0]] : 0));
  });
  return PHASES.map(([, label], i) => {
    const samples = runs.map((r) => r[i] / 1000);
    return {
      name: `synth phase: ${label}`,
      unit: "s",
      median: median(samples),
      samples,
      command: `CDKTF_OUTDIR=<tmp> ${shellCommand("node", args)} (build cache warm; fresh process per run; performance marks, from the process's time origin)`,
    };
  });
}
