// Section 1: synth time of the whole app (all stacks), run directly and through the cdktf CLI.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { childEnv, type BenchContext, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, shellCommand, timeProcess } from "../stats";

const RUNS = 5;

async function synthFigure(context: BenchContext, name: string, command: string, args: (outdir: string) => string[], extraEnv: (outdir: string) => Record<string, string>): Promise<Figure> {
  const outdir = join(context.tmp, "cdktf.out");
  const once = () => {
    rmSync(outdir, { recursive: true, force: true });
    return timeProcess(command, args(outdir), { cwd: context.root, env: childEnv(extraEnv(outdir)) });
  };
  context.log(`${name}: warm-up run (not counted)`);
  once();
  const samples = await repeat(RUNS, (i) => {
    const ms = once();
    context.log(`${name}: run ${i + 1}/${RUNS}: ${ms.toFixed(0)} ms`);
    return ms;
  });
  const shown = Object.entries(extraEnv("<tmp>/cdktf.out")).map(([k, v]) => `${k}=${v}`).join(" ");
  return {
    name,
    unit: "s",
    median: median(samples) / 1000,
    samples: samples.map((ms) => ms / 1000),
    command: `${shown} ${shellCommand(command, args("<tmp>/cdktf.out"))}`.trim() + " (fresh process per run, wall time, after one uncounted warm-up)",
  };
}

export const synthSection: Section = {
  id: "synth",
  title: "Synth time of the app (all stacks)",
  async run(context) {
    const direct = await synthFigure(context, "synth, app run directly", "node", () => ["--import", "tsx", "main.ts"], (outdir) => ({
      CDKTF_OUTDIR: outdir,
    }));
    direct.target = { atMost: 1.0 };
    const cli = await synthFigure(context, "synth, npx cdktf synth", "npx", (outdir) => ["cdktf", "synth", "--output", outdir], () => ({ CHECKPOINT_DISABLE: "1" }));
    cli.note = "includes the cdktf CLI's own start-up and its `npx tsx main.ts` app command (cdktf.json)";
    return [direct, cli];
  },
};
