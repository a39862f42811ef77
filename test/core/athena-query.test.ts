import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { athenaQuery, UNLOAD_OPTIONS } from "../../core/athena-query";
import { catalogTables, outputTableName, rawTableName } from "../../core/catalog";
import { loadConfig, scriptsDir } from "../../core/config";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { workflowShape } from "../support/workflow";

describe("core/athena-query", () => {
  const config = loadConfig();

  it("wraps the job's own SQL, after one typed view per input read from the catalog, in an UNLOAD to the staging marker", () => {
    for (const [id, job] of Object.entries(config.jobs)) {
      if (job.inputs.some((i) => i.job !== undefined)) continue;
      const statement = athenaQuery(config, id);
      expect(statement.startsWith("UNLOAD (\nWITH\n")).to.equal(true);
      expect(statement.endsWith(`\n) TO '${STAGING_URI_MARKER}' WITH (${UNLOAD_OPTIONS})`)).to.equal(true);
      for (const input of job.inputs) {
        expect(statement).to.include(`"${input.name}" AS (`);
        expect(statement).to.include(`FROM "${config.glue.databaseName}"."${rawTableName(input.dataset!)}"`);
      }
    }
  });

  it("reads a job input through the output's catalog table, and names the field when that job has none", () => {
    const { joinJobs } = workflowShape(config);
    expect(joinJobs, "jobs reading other jobs' outputs").to.not.be.empty;
    const join = joinJobs[0];
    const [first, ...rest] = config.jobs[join].inputs;
    // The jobs it reads without a catalog table of their own, then each with one (any schema file of the configuration).
    const bare = { ...config, jobs: { ...config.jobs, [first.job!]: { ...config.jobs[first.job!], catalogSchema: undefined } } };
    expect(() => athenaQuery(bare, join)).to.throw(new RegExp(`jobs\\.${join}\\.inputs\\[0\\]\\.job: .*give job ${first.job} a catalogSchema`));
    const schemaFile = Object.values(config.datasets)[0].schema;
    const jobs = { ...config.jobs };
    for (const input of [first, ...rest]) jobs[input.job!] = { ...jobs[input.job!], catalogSchema: jobs[input.job!].catalogSchema ?? schemaFile };
    const withTables = { ...config, jobs };
    const statement = athenaQuery(withTables, join);
    for (const input of [first, ...rest])
      expect(statement).to.include(`"${input.name}" AS (SELECT * FROM "${config.glue.databaseName}"."${outputTableName(withTables, input.job!)}")`);
  });

  it("merges the input views into a job SQL that has its own WITH, keeping its leading comments", () => {
    const dir = mkdtempSync(join(tmpdir(), "athena-query-"));
    try {
      cpSync(scriptsDir(config), dir, { recursive: true });
      const { datasetJobs } = workflowShape(config);
      const id = datasetJobs[0];
      const view = config.jobs[id].inputs[0].name;
      writeFileSync(join(dir, config.jobs[id].script.replace(/\.py$/, ".sql")), `-- a comment\nWITH days AS (SELECT date FROM ${view})\nSELECT * FROM days;\n`);
      const statement = athenaQuery({ ...config, scriptsDir: dir, rootDir: "/" }, id);
      expect(statement).to.match(new RegExp(`^UNLOAD \\(\\n-- a comment\\nWITH\\n"${view}" AS \\([\\s\\S]*\\),\\ndays AS \\(SELECT date FROM ${view}\\)\\nSELECT \\* FROM days\\n\\) TO `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists a raw table per dataset (every column a string) and a Parquet table per job with a catalogSchema", () => {
    const tables = catalogTables(config);
    for (const dataset of Object.keys(config.datasets)) {
      const table = tables.find((t) => t.name === rawTableName(dataset))!;
      expect(table.format).to.equal("csv");
      expect(table.prefix).to.equal(config.datasets[dataset].prefix);
      expect(table.columns.every((c) => c.type === "string")).to.equal(true);
    }
    const outputs = Object.keys(config.jobs).filter((id) => config.jobs[id].catalogSchema);
    expect(tables.filter((t) => t.format === "parquet").map((t) => t.prefix)).to.deep.equal(outputs.map((id) => config.jobs[id].output));
  });
});
