// `npm run synth:hcl [-- --out DIR]`: writes each stack as plain Terraform (HCL) into terraform/<stack>/
// (main.tf plus the assets it uploads), the exit route from CDKTF.
// It runs the app the way `cdktf synth --hcl` does (SYNTH_HCL_OUTPUT=true), repairs the strings cdktf 0.21
// renders invalid (see synth-hcl/repair.ts) with the exact values from a JSON synth, writes it the way Terraform
// is written (synth-hcl/canonical.ts: bare references, state paths relative to the output folder), formats it as
// `terraform fmt` does (the CLI's own formatter), writes the checkov skips recorded next to the resources as
// `# checkov:skip=` comments, and fails naming the file if the result does not parse as HCL or lost a value of
// the JSON synthesis.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as pathModule from "node:path";
import { join, relative, resolve } from "node:path";
import { defineCommand, runAsScript } from "../core/cli-args";
import { PROJECT_ROOT } from "../core/config";
import { SynthError, synthesize } from "./synth-diff";

// Loaded once the arguments parse (core/cli-args.ts: entry points): the HCL tools (WebAssembly), and cdktf.
const hclTools = () => require("@cdktf/hcl-tools") as typeof import("@cdktf/hcl-tools");
const hcl2json = () => require("@cdktf/hcl2json") as typeof import("@cdktf/hcl2json");
const etlStack = () => require("../stacks/etl-stack") as typeof import("../stacks/etl-stack");
import { canonicalHcl, relativeStatePaths, withCheckovSkips } from "./synth-hcl/canonical";
import { repairHcl, stringsOf } from "./synth-hcl/repair";

export const DEFAULT_HCL_DIR = join(PROJECT_ROOT, "terraform");

/** cdktf's "//" metadata, which the HCL does not carry. */
function withoutMetadata(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutMetadata);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "//").map(([k, x]) => [k, withoutMetadata(x)]));
  return v;
}

/** The JSON synthesis as the canonical HCL says it: depends_on entries are references, state paths moved. */
function asCanonical(v: unknown, statePaths: ReadonlyMap<string, string>, key = ""): unknown {
  if (key === "depends_on" && Array.isArray(v)) return v.map((s) => `\${${s}}`);
  if (typeof v === "string") return statePaths.get(v) ?? v;
  if (Array.isArray(v)) return v.map((x) => asCanonical(x, statePaths));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asCanonical(x, statePaths, k)]));
  return v;
}

/**
 * Repairs, canonicalizes, formats and checks one stack's HCL against its JSON synthesis: it must parse, and every
 * string of the JSON (every name, value and reference) must come back from it unchanged, except the state paths
 * `statePaths` moves. `file` names it in errors.
 */
export async function plainHcl(raw: string, json: unknown, file: string, statePaths: ReadonlyMap<string, string> = new Map()): Promise<string> {
  const { format } = hclTools();
  const { parse } = hcl2json();
  const hcl = await format(withCheckovSkips(canonicalHcl(repairHcl(raw, stringsOf(withoutMetadata(json))), statePaths), json));
  const expected = stringsOf(asCanonical(withoutMetadata(json), statePaths));
  let parsed: unknown;
  try {
    parsed = await parse(file, hcl);
  } catch (e) {
    const first = (e as Error).message.split(/(?<=\.) (?=\S+:\d+,\d+)/).slice(0, 3).join("\n  ");
    throw new SynthError(`${file}: the generated HCL does not parse:\n  ${first}`);
  }
  const found = stringsOf(parsed);
  const lost = [...expected].filter((s) => !found.has(s));
  if (lost.length) throw new SynthError(`${file}: the generated HCL lost ${lost.length} value(s) of the JSON synthesis: ${lost.slice(0, 5).map((s) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s)).join(", ")}`);
  return hcl;
}

/** Synthesizes HCL for every stack into `outDir/<stack>/`; returns the stack ids. Replaces what was there. */
export async function synthHcl(outDir = DEFAULT_HCL_DIR, root = PROJECT_ROOT): Promise<string[]> {
  const { stackWorkingDir } = etlStack();
  const scratch = mkdtempSync(join(tmpdir(), "synth-hcl-"));
  try {
    synthesize(root, join(scratch, "json"));
    synthesize(root, join(scratch, "hcl"), { SYNTH_HCL_OUTPUT: "true" });
    const stacksDir = join(scratch, "hcl", "stacks");
    const stacks = existsSync(stacksDir) ? readdirSync(stacksDir).filter((id) => existsSync(join(stacksDir, id, "cdk.tf"))).sort() : [];
    if (!stacks.length) throw new SynthError(`${root}: the app synthesized no HCL stacks`);
    for (const id of stacks) {
      const target = join(outDir, id);
      const json = JSON.parse(readFileSync(join(scratch, "json", "stacks", id, "cdk.tf.json"), "utf8"));
      const statePaths = relativeStatePaths(json, stackWorkingDir(id), target, pathModule);
      const hcl = await plainHcl(readFileSync(join(stacksDir, id, "cdk.tf"), "utf8"), json, relative(process.cwd(), join(target, "main.tf")), statePaths);
      rmSync(target, { recursive: true, force: true });
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, "main.tf"), hcl);
      // main.tf refers to its uploads by relative paths (assets/<name>/<hash>/...).
      if (existsSync(join(stacksDir, id, "assets"))) cpSync(join(stacksDir, id, "assets"), join(target, "assets"), { recursive: true });
    }
    return stacks;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export const SYNTH_HCL_COMMAND = defineCommand({
  command: "npm run synth:hcl --",
  summary: "Writes each stack as plain Terraform (HCL) into <out>/<stack>/main.tf, with the assets it uploads.",
  options: {
    out: { type: "string", value: "DIR", description: "the folder of the stack folders (replaced). Default: terraform/" },
  },
  epilogue: "Exit codes: 0 written, 1 a synth error or HCL that does not parse, 2 bad usage.",
});

if (require.main === module) {
  runAsScript(SYNTH_HCL_COMMAND, async (values) => {
    const outDir = resolve(values.out ?? DEFAULT_HCL_DIR);
    const stacks = await synthHcl(outDir);
    console.log(`wrote ${stacks.map((id) => `${relative(process.cwd(), join(outDir, id))}/main.tf`).join(", ")}`);
  });
}
