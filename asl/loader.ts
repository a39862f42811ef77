// Loads a hand-written ASL file, substitutes ${Placeholder} values and validates the result.
// Shared by the stacks (values are Terraform references) and the local runtime (values are local ARNs).
import { readFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import type validateAsl from "asl-validator";
import { readCache, writeCache } from "../core/build-cache";
import { sha256 } from "../core/build-inputs";

/** asl-validator's version and that of the ajv it validates with (what its answer depends on), read at first use. */
let versions: string | undefined;
const validatorVersions = () =>
  (versions ??= ["asl-validator/package.json", "ajv/package.json"]
    .map((file) => (JSON.parse(readFileSync(require.resolve(file, { paths: [dirname(require.resolve("asl-validator"))] }), "utf8")) as { version: string }).version)
    .join(" "));

export class AslError extends Error {
  override name = "AslError";
}

export interface LoadedStateMachine {
  /** The file as given, for messages. */
  file: string;
  /** The definition after substitution, as a JSON string ready for Step Functions. */
  json: string;
  definition: Record<string, unknown>;
}

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9_.:-]*)\}/g;

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    // Node reports "... at position N" (sometimes with line/column already); give both forms.
    const position = /position (\d+)/.exec(message);
    const where = position ? ` at ${lineAndColumn(text, Number(position[1]))}` : "";
    throw new AslError(`${file}: invalid JSON${where}: ${message}`);
  }
}

/**
 * Reads `path`, replaces every `${Name}` with `values[Name]` (JSON-escaped), and validates the ASL.
 * Throws AslError naming the file for invalid JSON (with line and column), unknown placeholders
 * (with the known ones) and invalid ASL (with the validator's messages).
 */
export function loadStateMachine(path: string, values: Readonly<Record<string, string>>): LoadedStateMachine {
  const file = relative(process.cwd(), path) || path;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new AslError(`${file}: cannot read the state machine definition (${(e as Error).message})`);
  }
  parseJson(text, file);

  const unknown = [...text.matchAll(PLACEHOLDER)]
    .filter((m) => !Object.hasOwn(values, m[1]))
    .map((m) => `\${${m[1]}} at ${lineAndColumn(text, m.index)}`);
  if (unknown.length) {
    const known = Object.keys(values).sort().map((k) => `\${${k}}`).join(", ");
    throw new AslError(`${file}: unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown.join("; ")}. Known placeholders: ${known}`);
  }

  const substituted = text.replace(PLACEHOLDER, (_, name: string) => JSON.stringify(values[name]).slice(1, -1));
  const definition = parseJson(substituted, file) as Record<string, unknown>;
  const json = JSON.stringify(definition);
  const problems = validationProblems(json, definition);
  if (problems.length) throw new AslError(`${file}: invalid Amazon States Language\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return { file, json, definition };
}

/** Where the validator's answer on a definition (its JSON) is kept in the build cache. */
export const validationCacheKey = (json: string) => `asl-checked/${sha256(validatorVersions(), json)}`;

/**
 * asl-validator's findings on a definition ("<Error code>: <Message>"; none when it is valid). It compiles its JSON
 * schemas on every call (about 0.3-0.4 s of CPU), so its answer for the very same definition and validator version is
 * kept in the build cache, a refusal as well as a pass (a test of an invalid file, a user fixing one and running again).
 */
function validationProblems(json: string, definition: Record<string, unknown>): string[] {
  const key = validationCacheKey(json);
  const cached = readCache(key);
  if (cached) {
    try {
      const problems: unknown = JSON.parse(cached.toString("utf8"));
      if (Array.isArray(problems) && problems.every((p) => typeof p === "string")) return problems;
    } catch {
      // unreadable: asked again, and written anew
    }
  }
  // Loaded only here: its import (ajv and its schemas) costs more than a cached synth's whole ASL step.
  const aslValidator: typeof validateAsl = require("asl-validator");
  // The validator annotates what it is given (QueryLanguage on every state): validate a copy.
  const { isValid, errors } = aslValidator(structuredClone(definition));
  const problems = isValid ? [] : errors.map((e) => `${e["Error code"]}: ${e.Message}`);
  writeCache(key, JSON.stringify(problems));
  return problems;
}

/** Every state of a definition, including those inside Parallel branches and Map iterators. */
export function allStates(definition: Record<string, unknown>): Array<[string, Record<string, any>]> {
  const out: Array<[string, Record<string, any>]> = [];
  const visit = (machine: any) => {
    for (const [name, state] of Object.entries<any>(machine?.States ?? {})) {
      out.push([name, state]);
      for (const branch of state.Branches ?? []) visit(branch);
      visit(state.ItemProcessor ?? state.Iterator);
    }
  };
  visit(definition);
  return out;
}
