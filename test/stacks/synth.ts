// Test helper (not a test file): synthesizes the app of a configuration once and returns each stack's JSON.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { buildApp, stackIds } from "../../stacks/app";
import { type EtlConfig, loadConfig } from "../../core/config";
import { activeConfigFile, activeRawConfig, parseVariant } from "../support/workflow";
import { withCheapStackTraces } from "./stack-traces";

export const FIXTURE_CONFIG = join(__dirname, "..", "fixtures", "three-datasets", "etl.config.json");

export type TfJson = { resource: Record<string, Record<string, any>>; data?: Record<string, Record<string, any>>; terraform: any; provider: any; output?: any };
export interface SynthesizedApp {
  config: EtlConfig;
  glue: TfJson;
  stateMachine: TfJson;
  runner: TfJson;
}

const cache = new Map<string, SynthesizedApp>();

/**
 * Synthesizes `config` into a temporary folder, parses the three stacks and removes the folder (at once: a root
 * `after` hook in this helper would only run for the first file of each mocha worker).
 */
export function synthConfig(config: EtlConfig): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), "etl-synth-test-"));
  try {
    withCheapStackTraces(() => buildApp(config, { outdir }).app.synth());
    const ids = stackIds(config);
    const read = (id: string) => JSON.parse(readFileSync(join(outdir, "stacks", id, "cdk.tf.json"), "utf8")) as TfJson;
    return { config, glue: read(ids.glue), stateMachine: read(ids.stateMachine), runner: read(ids.runner) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** buildApp(config, { outdir }), withCheapStackTraces (not synthesized). */
export function buildAppCheaply(config: EtlConfig, outdir: string): ReturnType<typeof buildApp> {
  return withCheapStackTraces(() => buildApp(config, { outdir }));
}

/** Like synthConfig for a configuration file (and environment), synthesized once per process: the key is the file
 * and environment loadConfig resolves, so the default and the same file named are one synthesis. */
export function synthFile(file?: string, environment?: string): SynthesizedApp {
  const key = `${file === undefined ? activeConfigFile() : resolve(file)}#${environment ?? (process.env.ETL_ENV || "")}`;
  if (!cache.has(key)) cache.set(key, synthConfig(loadConfig(file, environment)));
  return cache.get(key)!;
}

/** The resources of one type in a stack, by id (empty when there are none). */
export function resources(stack: TfJson, type: string): Record<string, any> {
  return stack.resource[type] ?? {};
}

/** The one resource of `type` whose `key` property equals `value`; fails otherwise. */
export function resourceWith(stack: TfJson, type: string, key: string, value: unknown): any {
  const found = Object.values(resources(stack, type)).filter((r) => r[key] === value);
  if (found.length !== 1) throw new Error(`expected one ${type} with ${key} = ${JSON.stringify(value)}, found ${found.length}`);
  return found[0];
}

/** Every IAM policy document (role inline policies, trust policies and bucket policies) in a stack, parsed. */
export function policies(stack: TfJson): Array<{ where: string; document: any }> {
  const out: Array<{ where: string; document: any }> = [];
  for (const [id, p] of Object.entries(resources(stack, "aws_iam_role_policy"))) out.push({ where: `aws_iam_role_policy.${id}`, document: JSON.parse(p.policy) });
  for (const [id, p] of Object.entries(resources(stack, "aws_s3_bucket_policy"))) out.push({ where: `aws_s3_bucket_policy.${id}`, document: JSON.parse(p.policy) });
  for (const [id, r] of Object.entries(resources(stack, "aws_iam_role"))) out.push({ where: `aws_iam_role.${id} (trust)`, document: JSON.parse(r.assume_role_policy) });
  return out;
}

/**
 * The active configuration (ETL_CONFIG, else etl.config.json) with `change` applied to its raw JSON, validated
 * like a file's. With another `rootDir` (a folder holding an edited ASL file), the scripts stay the active ones.
 */
export function variant(change: (raw: any) => void, rootDir?: string): EtlConfig {
  const raw = activeRawConfig();
  if (rootDir !== undefined) raw.scriptsDir = resolve(dirname(activeConfigFile()), raw.scriptsDir ?? "glue-scripts");
  change(raw);
  return parseVariant(raw, { rootDir });
}
