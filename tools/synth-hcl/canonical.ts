// Makes cdktf 0.21's (repaired) HCL read like hand-written Terraform, as `terraform fmt` and the Terraform style
// guide write it: a string that is one interpolation and nothing else becomes the bare expression
// ("${aws_s3_bucket.x.id}" -> aws_s3_bucket.x.id), depends_on lists bare references, and state paths (local
// backend, local terraform_remote_state) are rewritten relative to the folder the HCL is written to. Pure.
import { skipsOf } from "../../stacks/constructs/checkov-skip";
import { endOfSequence, mapLinesOutsideHeredocs, STRING_LINE } from "./repair";

/** The expression of a string that is exactly one `${...}` interpolation (not `$${`), or undefined. */
export function interpolationOnly(raw: string): string | undefined {
  if (!raw.startsWith("${") || endOfSequence(raw, 0) !== raw.length) return undefined;
  const expression = raw.slice(2, -1).trim();
  return expression === "" ? undefined : expression;
}

const DEPENDS_ON = /^\s*depends_on = \[$/;
const STATE_PATH = /^(\s*path\s*=\s*)"([^"]*\.tfstate)"$/;

/**
 * The canonical form of one stack's HCL. `statePaths` maps each state path of the JSON synthesis to the path to
 * write instead (see `relativeStatePaths`).
 */
export function canonicalHcl(text: string, statePaths: ReadonlyMap<string, string> = new Map()): string {
  let inDependsOn = false;
  return mapLinesOutsideHeredocs(text, (line) => {
    if (DEPENDS_ON.test(line)) inDependsOn = true;
    else if (inDependsOn && line.trim().startsWith("]")) inDependsOn = false;
    const state = STATE_PATH.exec(line);
    if (state && statePaths.has(state[2])) return `${state[1]}${JSON.stringify(statePaths.get(state[2]))}`;
    const m = STRING_LINE.exec(line);
    if (!m) return line;
    // A quoted depends_on entry is a reference written as a string (deprecated since Terraform 0.12).
    const expression = inDependsOn && /^[A-Za-z0-9_.-]+$/.test(m[2]) ? m[2] : interpolationOnly(m[2]);
    return expression === undefined ? line : `${m[1]}${expression}${m[3]}`;
  });
}

/**
 * For each local state path of a stack's JSON (its backend and its terraform_remote_state lookups), relative to
 * `fromDir` (where cdktf runs terraform), the same file relative to `toDir` (where the HCL is written).
 */
export function relativeStatePaths(json: any, fromDir: string, toDir: string, path: typeof import("node:path")): Map<string, string> {
  const paths = [json?.terraform?.backend?.local?.path, ...Object.values(json?.data?.terraform_remote_state ?? {}).map((r: any) => (r?.backend === "local" ? r?.config?.path : undefined))];
  const out = new Map<string, string>();
  for (const p of paths) if (typeof p === "string" && !path.isAbsolute(p)) out.set(p, path.relative(toDir, path.resolve(fromDir, p)));
  return out;
}

/**
 * Writes each checkov skip recorded in a resource's "//" metadata (stacks/constructs/checkov-skip.ts) as a
 * `# checkov:skip=<id>:<reason>` comment at the top of the resource's block, where checkov reads suppressions.
 */
export function withCheckovSkips(text: string, json: any): string {
  const comments = new Map<string, string[]>();
  for (const [type, resources] of Object.entries<any>(json?.resource ?? {}))
    for (const [name, resource] of Object.entries<any>(resources ?? {})) {
      const skips = skipsOf(resource);
      if (skips.length) comments.set(`resource "${type}" "${name}" {`, skips.map((s) => `  # checkov:skip=${s.id}:${s.reason}`));
    }
  return text
    .split("\n")
    .flatMap((line) => [line, ...(comments.get(line) ?? [])])
    .join("\n");
}
