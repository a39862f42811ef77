// Section 2: each Lambda bundle's size and its cold import time in a fresh Node process.
import { statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildLambdaBundle, LAMBDA_ENTRIES } from "../bundle";
import { childEnv, type Section } from "../context";
import type { Figure } from "../results";
import { median, repeat, timeProcess } from "../stats";

const BUILDS = 5;
const IMPORT_RUNS = 11;

export const bundlesSection: Section = {
  id: "bundles",
  title: "Lambda bundles: size and cold import",
  async run(context) {
    const figures: Figure[] = [];
    const bundles = new Map<string, string>();
    for (const entry of LAMBDA_ENTRIES) {
      const buildMs: number[] = [];
      const sizes = await repeat(BUILDS, (i) => {
        const started = performance.now();
        const file = buildLambdaBundle(entry, join(context.tmp, `${entry}-${i}`));
        buildMs.push(performance.now() - started);
        bundles.set(entry, file);
        return statSync(file).size / 1024;
      });
      context.log(`bundle ${entry}: ${sizes.map((s) => s.toFixed(1)).join(", ")} KB`);
      figures.push({
        name: `${entry} bundle size`,
        unit: "KB",
        median: median(sizes),
        samples: sizes,
        command: `esbuild functions/${entry}/handler.ts with the stack's options (stacks/bundle.ts: bundle, cjs, minify, platform node, target node22, mainFields module,main, env-only credential provider); size of index.js without its source map, KB = 1024 bytes`,
        target: { atMost: 400 },
        note: `${Math.round(median(sizes) * 1024)} bytes`,
      });
      // The stack bundles at synth time, so this is part of the synth figure.
      figures.push({
        name: `${entry} bundle build`,
        unit: "ms",
        median: median(buildMs),
        samples: buildMs,
        command: `buildLambdaBundle('${entry}') in this process (esbuild buildSync with the stack's options, then the files written), wall time`,
      });
    }

    // Runs are interleaved (bare, then each bundle) so that drift in machine load hits all alike;
    // each sample is one bundle's import wall time minus the bare run of the same round.
    const env = childEnv();
    const bare = (): number => timeProcess("node", ["-e", ""], { env });
    bare(); // warm the executable into the page cache
    const deltas = new Map<string, number[]>(LAMBDA_ENTRIES.map((e) => [e, []]));
    const bareSamples: number[] = [];
    for (let round = 0; round < IMPORT_RUNS; round++) {
      const base = bare();
      bareSamples.push(base);
      for (const [entry, file] of bundles) deltas.get(entry)!.push(timeProcess("node", ["-e", `require(${JSON.stringify(file)})`], { env }) - base);
    }
    context.log(`bare node -e '': median ${median(bareSamples).toFixed(1)} ms`);
    figures.push({ name: "bare node -e ''", unit: "ms", median: median(bareSamples), samples: bareSamples, command: "node -e '' (fresh process, wall time)" });
    for (const [entry, samples] of deltas)
      figures.push({
        name: `${entry} cold import`,
        unit: "ms",
        median: median(samples),
        samples,
        command: `node -e "require('<tmp>/${entry}/index.js')" minus node -e '' of the same round (fresh processes, wall time)`,
        target: { atMost: 50 },
      });
    return figures;
  },
};
