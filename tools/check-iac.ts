// `npm run check:iac`: synthesizes the stacks as plain Terraform (npm run synth:hcl, into a temporary folder) and
// scans them with checkov (pinned in requirements.txt, installed by npm run python:setup). Fails on any failed
// check, on a file checkov cannot parse, and on a suppression without a reason. A check is suppressed only next
// to its resource, with a one-line reason (skipCheck in stacks/constructs/checkov-skip.ts), which the HCL carries
// as a `# checkov:skip=` comment. Ends with "N passed, N failed" (suppressed checks are counted apart).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCommand, runAsScript } from "../core/cli-args";
import { PROJECT_ROOT } from "../core/config";
import { synthHcl } from "./synth-hcl";

const CHECKOV = join(PROJECT_ROOT, ".venv", "bin", "checkov");
const NO_REASON = "No comment provided";

interface CheckRecord {
  check_id: string;
  check_name: string;
  resource: string;
  file_path: string;
  file_line_range: [number, number];
  check_result: { result: string; suppress_comment?: string };
}

interface CheckovReport {
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number; checkov_version: string };
  results: { passed_checks: CheckRecord[]; failed_checks: CheckRecord[]; skipped_checks: CheckRecord[]; parsing_errors: string[] };
}

/** Runs checkov on a folder of Terraform (HCL); returns its JSON report. */
export function scan(dir: string): CheckovReport {
  if (!existsSync(CHECKOV)) throw new Error(`${CHECKOV} not found: run npm run python:setup first (Python 3.11)`);
  // --skip-download: no calls to the vendor's platform; the checks are the ones in the pinned package.
  const result = spawnSync(CHECKOV, ["--directory", dir, "--framework", "terraform", "--output", "json", "--skip-download"], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, LOG_LEVEL: "WARNING" },
  });
  // checkov exits 1 when a check failed; the report says which.
  if (result.status !== 0 && result.status !== 1) throw new Error(`checkov failed (exit ${result.status}):\n${(result.stderr || result.stdout).trim().slice(-4000)}`);
  let report: CheckovReport | CheckovReport[];
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(`checkov printed no JSON report:\n${(result.stderr || result.stdout).trim().slice(-4000)}`);
  }
  if (Array.isArray(report)) throw new Error(`checkov ran ${report.length} frameworks; expected terraform only`);
  // With nothing to scan, checkov prints an empty summary without results.
  if (!report.results) throw new Error(`checkov found no Terraform to scan in ${dir}`);
  return report;
}

const where = (r: CheckRecord) => `${r.resource} (${r.file_path.replace(/^\//, "")}:${r.file_line_range.join("-")})`;

export const CHECK_IAC_COMMAND = defineCommand({
  command: "npm run check:iac --",
  summary:
    "Synthesizes the stacks as plain Terraform (npm run synth:hcl, in a temporary folder) and scans them with checkov from .venv/ (npm run python:setup). A failed check fails unless it is suppressed next to its resource with a reason (skipCheck).",
  options: {},
  epilogue: 'Ends with "N passed, N failed". Exit codes: 0 no failed check, 1 a failed check, an unexplained suppression or an error, 2 bad usage.',
});

async function main(): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), "check-iac-"));
  try {
    const stacks = await synthHcl(out);
    const { summary, results } = scan(out);
    const unexplained = results.skipped_checks.filter((r) => !r.check_result.suppress_comment?.trim() || r.check_result.suppress_comment === NO_REASON);
    console.log(`checkov ${summary.checkov_version} on ${stacks.join(", ")} (npm run synth:hcl)`);
    for (const r of results.skipped_checks) console.log(`  - suppressed ${r.check_id} on ${where(r)}: ${r.check_result.suppress_comment}`);
    for (const r of results.failed_checks) console.log(`  ✘ ${r.check_id} ${r.check_name}\n      ${where(r)}`);
    for (const r of unexplained) console.log(`  ✘ ${r.check_id} suppressed without a reason on ${where(r)}`);
    for (const e of results.parsing_errors) console.log(`  ✘ checkov cannot parse ${e}`);
    const failed = summary.failed + unexplained.length + summary.parsing_errors;
    console.log(`\ncheck:iac: ${summary.passed} checks passed, ${summary.failed} failed, ${summary.skipped} suppressed next to their resource with a reason`);
    if (failed) console.log("Fix the resource, or, if the check does not apply, add skipCheck(resource, id, reason) next to it.");
    console.log(`${summary.passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(CHECK_IAC_COMMAND, main);
