// Run by the synth section in a fresh process: times the phases of one synth and prints them as JSON.
// Usage: node --import tsx bench/synth-phases.ts <outdir>
import { performance } from "node:perf_hooks";

const outdir = process.argv[2];
if (!outdir) {
  console.error("usage: node --import tsx bench/synth-phases.ts <outdir>");
  process.exit(2);
}
const t0 = performance.now();
// Loaded here, not at the top, so that their import is what is timed.
const { buildApp } = require("../stacks/app") as typeof import("../stacks/app");
const { loadConfig } = require("../core/config") as typeof import("../core/config");
const t1 = performance.now();
const app = buildApp(loadConfig(), { outdir }).app;
const t2 = performance.now();
app.synth();
const t3 = performance.now();
console.log(JSON.stringify({ startMs: t0, importMs: t1 - t0, constructMs: t2 - t1, writeMs: t3 - t2 }));
