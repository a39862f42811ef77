import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT, parseConfig } from "../../core/config";
import { DIAGRAM_FILE, README_BEGIN, README_END, diagramDocument, diagramTargets, embedInReadme, loadBaseConfig, runDiagram } from "../../tools/diagram";

const TSX = join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
const CLI = join(PROJECT_ROOT, "tools", "diagram.ts");

describe("tools/diagram", () => {
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), "diagram-"))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("the committed docs/state-machine.md is up to date (run `npm run diagram` when this fails)", () => {
    expect(runDiagram({ check: true })).to.deep.equal([]);
    expect(readFileSync(DIAGRAM_FILE, "utf8")).to.equal(diagramDocument(loadBaseConfig(DEFAULT_CONFIG_FILE)));
  });

  it("renders the shipped workflow: branches as subgraphs, tasks labelled with what they run", () => {
    const doc = diagramDocument(loadBaseConfig(DEFAULT_CONFIG_FILE));
    // A branch is its wait task, then its job: no kick states.
    expect(doc).to.not.include("putEvents");
    expect(doc.split("\n")).to.include("  s_WaitForSalesData --> s_PSD");
    expect(doc).to.match(/^```mermaid\nflowchart TD\n/m);
    for (const line of [
      '  subgraph s_ProcessDatasets["ProcessDatasets<br/>Parallel"]',
      '    subgraph s_ProcessDatasets__branch1["branch 1"]',
      '    subgraph s_ProcessDatasets__branch2["branch 2"]',
      '      s_PSD["PSD<br/>Glue job etl-dev-PSD"]',
      '      s_WaitForMarketingData["WaitForMarketingData<br/>wait for marketing upload"]',
      '  s_JMSD["JMSD<br/>Glue job etl-dev-JMSD"]',
      '  s_WorkflowSucceeded(["WorkflowSucceeded<br/>Succeed"]):::succeed',
      '  s_DefaultDataSince -->|"$.dataSince is present"| s_ProcessDatasets',
      '  s_ProcessDatasets --> s_JMSD',
      '  s_JMSD -.->|"retry JobRetryableError up to 6× (30 s, backoff 2)"| s_JMSD',
    ])
      expect(doc.split("\n")).to.include(line);
  });

  it("labels each runner task with its job's engine from the configuration", () => {
    const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
    raw.jobs.PMD.engine = "athena";
    raw.jobs.JMSD.engine = "emr-serverless";
    const doc = diagramDocument(parseConfig(raw, { source: "variant", rootDir: PROJECT_ROOT }));
    expect(doc).to.include('s_PMD["PMD<br/>Athena job etl-dev-PMD"]').and.include('s_JMSD["JMSD<br/>EMR Serverless job etl-dev-JMSD"]');
    expect(doc).to.include('s_PSD["PSD<br/>Glue job etl-dev-PSD"]');
  });

  it("shows the base environment's names whatever ETL_ENV says", () => {
    const saved = process.env.ETL_ENV;
    process.env.ETL_ENV = "prod";
    try {
      expect(diagramDocument(loadBaseConfig(DEFAULT_CONFIG_FILE))).to.include("Glue job etl-dev-PSD");
      expect(process.env.ETL_ENV).to.equal("prod");
    } finally {
      if (saved === undefined) delete process.env.ETL_ENV;
      else process.env.ETL_ENV = saved;
    }
  });

  it("--check exits 1 naming a stale file, and writes nothing; without --check it writes the file", () => {
    const out = join(tmp, "state-machine.md");
    writeFileSync(out, "stale\n");
    const check = spawnSync(TSX, [CLI, "--check", "--out", out], { encoding: "utf8" });
    expect(check.status).to.equal(1);
    expect(check.stderr).to.include("state-machine.md").and.include("npm run diagram");
    expect(readFileSync(out, "utf8")).to.equal("stale\n");

    execFileSync(TSX, [CLI, "--out", out]);
    expect(readFileSync(out, "utf8")).to.equal(readFileSync(DIAGRAM_FILE, "utf8"));
    expect(spawnSync(TSX, [CLI, "--check", "--out", out]).status).to.equal(0);
  });

  it("fails naming the ASL file when the definition is invalid", () => {
    cpSync(join(PROJECT_ROOT, "glue-scripts"), join(tmp, "glue-scripts"), { recursive: true });
    cpSync(join(PROJECT_ROOT, "asl"), join(tmp, "asl"), { recursive: true });
    cpSync(DEFAULT_CONFIG_FILE, join(tmp, "etl.config.json"));
    writeFileSync(join(tmp, "asl", "etl-workflow.asl.json"), '{ "StartAt": "A", "States": { "A": { "Type": "Pass", "Next": "Nowhere" } } }');
    const result = spawnSync(TSX, [CLI, "--check", "--config", join(tmp, "etl.config.json"), "--out", join(tmp, "out.md")], { encoding: "utf8" });
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
      const targets = diagramTargets(loadBaseConfig(DEFAULT_CONFIG_FILE), { diagram: join(tmp, "d.md"), readme: join(tmp, "README.md") });
      expect(targets.map((t) => t.file)).to.deep.equal([join(tmp, "d.md"), join(tmp, "README.md")]);
      expect(targets[1].text).to.include('s_PSD["PSD<br/>Glue job etl-dev-PSD"]');
    });
  });
});
