// The CI workflow (.github/workflows/ci.yml): valid YAML, only scripts that exist, and the jobs the review relies on.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../../core/config";

const WORKFLOW = join(PROJECT_ROOT, ".github", "workflows", "ci.yml");
const scripts: Record<string, string> = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")).scripts;

/** The npm scripts a shell text runs: `npm run [--flags] NAME`, `npm test`, `npm start`. */
function npmScriptsIn(text: string): string[] {
  const names = [...text.matchAll(/\bnpm (?:run|run-script)(?:\s+--?[\w-]+)*\s+([\w:.-]+)/g)].map((m) => m[1]);
  for (const m of text.matchAll(/\bnpm (test|start)\b/g)) names.push(m[1]);
  return names;
}

type Step = { name?: string; run?: string; uses?: string; with?: Record<string, unknown>; if?: string; env?: Record<string, string> };
type Job = { if?: string; needs?: string | string[]; permissions?: Record<string, string>; steps: Step[] };

describe("CI workflow (.github/workflows/ci.yml)", () => {
  const text = readFileSync(WORKFLOW, "utf8");
  const workflow = parse(text, { strict: true, uniqueKeys: true });
  const jobs: Record<string, Job> = workflow.jobs;
  const steps = Object.values(jobs).flatMap((j) => j.steps);
  const runs = (job: string) => jobs[job].steps.map((s) => s.run ?? "").join("\n");
  const uses = (job: string, action: string) => jobs[job].steps.find((s) => s.uses?.startsWith(`${action}@`));

  it("is valid YAML for a pull_request workflow with read-only default permissions", () => {
    expect(workflow.on).to.have.property("pull_request");
    expect(workflow.permissions).to.deep.equal({ contents: "read" });
    expect(Object.keys(jobs)).to.have.members(["test", "spark-and-iac", "synth-diff", "plan-skipped", "plan"]);
  });

  it("references only npm scripts that exist in package.json", () => {
    const referenced = steps.flatMap((s) => npmScriptsIn(s.run ?? ""));
    expect(referenced).to.include.members(["test", "synth", "synth:diff", "diagram"]);
    for (const name of referenced) expect(scripts, `npm run ${name}`).to.have.property(name);
  });

  it("npmScriptsIn finds names after flags, and a missing one is caught", () => {
    expect(npmScriptsIn('npm run --silent synth:diff -- --base "$B"\nnpm test\nnpm ci\nnpm run nope')).to.deep.equal(["synth:diff", "nope", "test"]);
    expect(scripts).to.not.have.property("nope");
  });

  it("references only files of the repository (or of its own synth step)", () => {
    const paths = [...text.matchAll(/require\("\.\/([^"]+)"\)/g)].map((m) => m[1]);
    // cdktf.out/ is written by the workflow's synth step, not committed.
    const generated = paths.filter((path) => path.startsWith("cdktf.out/"));
    if (generated.length) expect(text).to.match(/cdktf synth|npm run synth/);
    for (const path of paths.filter((path) => !generated.includes(path))) expect(existsSync(join(PROJECT_ROOT, path)), path).to.equal(true);
  });

  it("pins every action to a major version", () => {
    for (const step of steps.filter((s) => s.uses)) expect(step.uses).to.match(/^[\w-]+\/[\w-]+@v\d+$/);
  });

  it("test: npm ci, npm test, cdktf synth, and uploads cdktf.out", () => {
    const commands = jobs.test.steps.map((s) => s.run).filter(Boolean);
    expect(commands.indexOf("npm ci")).to.be.lessThan(commands.indexOf("npm test"));
    expect(commands.indexOf("npm test")).to.be.lessThan(commands.indexOf("npm run synth"));
    expect(scripts.synth).to.equal("cdktf synth");
    expect(uses("test", "actions/upload-artifact")!.with).to.include({ name: "cdktf-out", path: "cdktf.out", "if-no-files-found": "error" });
  });

  it("spark-and-iac: Python 3.11 and Java 17, the pinned tools, then test:spark (example and fixture) and check:iac", () => {
    const commands = jobs["spark-and-iac"].steps.map((s) => s.run).filter(Boolean);
    expect(commands).to.deep.equal(["npm ci", "npm run python:setup", "npm run test:spark", "npm run test:spark", "npm run check:iac"]);
    expect(uses("spark-and-iac", "actions/setup-python")!.with).to.include({ "python-version": "3.11", "cache-dependency-path": "requirements.txt" });
    expect(uses("spark-and-iac", "actions/setup-java")!.with).to.include({ "java-version": "17" });
    const fixture = jobs["spark-and-iac"].steps.find((s) => s.env?.ETL_CONFIG);
    expect(existsSync(join(PROJECT_ROOT, fixture!.env!.ETL_CONFIG)), fixture!.env!.ETL_CONFIG).to.equal(true);
  });

  it("synth-diff: compares with the PR base from a full clone and upserts one marked comment", () => {
    expect(uses("synth-diff", "actions/checkout")!.with).to.include({ "fetch-depth": 0 });
    expect(runs("synth-diff")).to.include('synth:diff -- --base "$BASE_SHA" --out synth-diff.md');
    expect(jobs["synth-diff"].steps.find((s) => s.run?.includes("synth:diff"))!.env).to.deep.equal({ BASE_SHA: "${{ github.event.pull_request.base.sha }}" });
    const comment = uses("synth-diff", "actions/github-script")!;
    expect(comment.with!.script).to.include('marker: "<!-- etl-ci:synth-diff -->", file: "synth-diff.md"');
    expect(comment.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
    expect(jobs["synth-diff"].permissions).to.deep.equal({ contents: "read", "pull-requests": "write" });
  });

  it("plan: runs cdktf diff per stack only with an AWS role, through OIDC", () => {
    const plan = jobs.plan;
    expect(plan.if).to.include("vars.AWS_ROLE_ARN != ''");
    expect(plan.permissions).to.deep.equal({ contents: "read", "pull-requests": "write", "id-token": "write" });
    expect(uses("plan", "aws-actions/configure-aws-credentials")!.with).to.include({ "role-to-assume": "${{ vars.AWS_ROLE_ARN }}" });
    expect(runs("plan")).to.include('npx cdktf diff "$stack" --skip-synth --no-color');
    expect(uses("plan", "actions/github-script")!.with!.script).to.include('marker: "<!-- etl-ci:cdktf-plan -->", file: "plan.md"');
    // No job but plan may ask for an OIDC token.
    for (const [id, job] of Object.entries(jobs)) if (id !== "plan") expect(job.permissions?.["id-token"], id).to.equal(undefined);
  });

  it("plan-skipped: runs exactly when plan does not, with a notice", () => {
    expect(jobs["plan-skipped"].if).to.equal("vars.AWS_ROLE_ARN == '' || github.event.pull_request.head.repo.full_name != github.repository");
    expect(jobs.plan.if).to.equal("vars.AWS_ROLE_ARN != '' && github.event.pull_request.head.repo.full_name == github.repository");
    expect(runs("plan-skipped")).to.include("::notice title=cdktf diff skipped::");
  });

  it("documents the permissions it needs at the top", () => {
    const header = text.slice(0, text.indexOf("\nname:"));
    for (const words of ["pull-requests: write", "id-token: write", "AWS_ROLE_ARN", "token.actions.githubusercontent.com", "sts.amazonaws.com", ".tflock"]) expect(header).to.include(words);
  });
});
