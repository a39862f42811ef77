import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT, resourceNames } from "../../core/config";
import { activeConfigFile, activeRawConfig, parseVariant, workflowTasks } from "../support/workflow";
import { DIAGRAM_FILE, README_BEGIN, README_END, diagramDocument, diagramTargets, embedInReadme, loadBaseConfig, runDiagram } from "../../tools/diagram";
import { scriptArgs } from "../support/scripts";

/** As `npm run diagram` runs it. */
const CLI = scriptArgs("diagram");

describe("tools/diagram", () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "diagram-"))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("the committed docs/state-machine.md is up to date (run `npm run diagram` when this fails)", () => {
    expect(runDiagram({ check: true })).to.deep.equal([]);
    expect(readFileSync(DIAGRAM_FILE, "utf8")).to.equal(diagramDocument(loadBaseConfig(DEFAULT_CONFIG_FILE)));
  });

  it("labels each runner task with its job's engine from the configuration", () => {
    // The active workflow's runner states, the first job on Glue, the second on Athena, the others on EMR Serverless.
    const raw = activeRawConfig();
    const { runners } = workflowTasks();
    expect(runners.length, "runner tasks").to.be.at.least(2);
    const engines = ["glue", "athena", "emr-serverless"] as const;
    const labels = { glue: "Glue", athena: "Athena", "emr-serverless": "EMR Serverless" };
    const engineOf = (i: number) => engines[Math.min(i, 2)];
    runners.forEach(({ job }, i) => {
      raw.jobs[job].engine = engineOf(i);
      if (engineOf(i) !== "glue") for (const field of ["workerType", "numberOfWorkers"]) delete raw.jobs[job][field];
    });
    const config = parseVariant(raw);
    const doc = diagramDocument(config);
    runners.forEach(({ state, job }, i) => expect(doc).to.include(`s_${state}["${state}<br/>${labels[engineOf(i)]} job ${resourceNames(config).glueJob(job)}"]`));
  });

  it("shows the base environment's names whatever ETL_ENV says", () => {
    const saved = process.env.ETL_ENV;
    process.env.ETL_ENV = "prod";
    try {
      const config = loadBaseConfig(activeConfigFile());
      const { runners } = workflowTasks(config);
      expect(runners).to.not.be.empty;
      const { job } = runners[0];
      expect(config.environment).to.equal(activeRawConfig().environment);
      expect(diagramDocument(config)).to.include(`job ${resourceNames(config).glueJob(job)}"]`);
      expect(process.env.ETL_ENV).to.equal("prod");
    } finally {
      if (saved === undefined) delete process.env.ETL_ENV;
      else process.env.ETL_ENV = saved;
    }
  });

  it("--check exits 1 naming a stale file, and writes nothing; without --check it writes the file", () => {
    const out = join(tmp, "state-machine.md");
    writeFileSync(out, "stale\n");
    const check = spawnSync(process.execPath, [...CLI, "--check", "--out", out], { encoding: "utf8" });
    expect(check.status).to.equal(1);
    expect(check.stderr).to.include("state-machine.md").and.include("npm run diagram");
    expect(readFileSync(out, "utf8")).to.equal("stale\n");

    execFileSync(process.execPath, [...CLI, "--out", out]);
    expect(readFileSync(out, "utf8")).to.equal(readFileSync(DIAGRAM_FILE, "utf8"));
    expect(spawnSync(process.execPath, [...CLI, "--check", "--out", out]).status).to.equal(0);
  });

  it("fails naming the ASL file when the definition is invalid", () => {
    cpSync(join(PROJECT_ROOT, "glue-scripts"), join(tmp, "glue-scripts"), { recursive: true });
    cpSync(join(PROJECT_ROOT, "asl"), join(tmp, "asl"), { recursive: true });
    cpSync(DEFAULT_CONFIG_FILE, join(tmp, "etl.config.json"));
    writeFileSync(join(tmp, "asl", "etl-workflow.asl.json"), '{ "StartAt": "A", "States": { "A": { "Type": "Pass", "Next": "Nowhere" } } }');
    const result = spawnSync(process.execPath, [...CLI, "--check", "--config", join(tmp, "etl.config.json"), "--out", join(tmp, "out.md")], { encoding: "utf8" });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include("etl-workflow.asl.json").and.include("invalid Amazon States Language");
  });

  describe("README embedding", () => {
    const mermaid = "flowchart TD\n  a --> b\n";

    it("replaces the text between the markers and keeps the rest", () => {
      const readme = `# Title\n\n${README_BEGIN}\nold\n${README_END}\n\nMore.\n`;
      expect(embedInReadme(readme, mermaid)).to.equal(`# Title\n\n${README_BEGIN}\n\`\`\`mermaid\nflowchart TD\n  a --> b\n\`\`\`\n${README_END}\n\nMore.\n`);
    });

    it("leaves a README without markers alone", () => {
      const readme = "# Title\n";
      expect(embedInReadme(readme, mermaid)).to.equal(readme);
      writeFileSync(join(tmp, "README.md"), readme);
      const targets = diagramTargets(loadBaseConfig(DEFAULT_CONFIG_FILE), { diagram: join(tmp, "d.md"), readme: join(tmp, "README.md") });
      expect(targets.map((t) => t.file)).to.deep.equal([join(tmp, "d.md")]);
    });

    it("targets a README that has the markers", () => {
      writeFileSync(join(tmp, "README.md"), `${README_BEGIN}\n${README_END}\n`);
      const config = loadBaseConfig(activeConfigFile());
      const targets = diagramTargets(config, { diagram: join(tmp, "d.md"), readme: join(tmp, "README.md") });
      expect(targets.map((t) => t.file)).to.deep.equal([join(tmp, "d.md"), join(tmp, "README.md")]);
      const [{ state, job }] = workflowTasks(config).runners;
      expect(targets[1].text).to.match(new RegExp(`s_${state}\\["${state}<br/>\\S+( \\S+)? job ${resourceNames(config).glueJob(job)}"\\]`));
    });
  });
});
