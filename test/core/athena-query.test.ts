import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { athenaQuery, UNLOAD_OPTIONS } from "../../core/athena-query";
import { catalogTables, outputTableName, rawTableName } from "../../core/catalog";
import { loadConfig, PROJECT_ROOT } from "../../core/config";
import { STAGING_URI_MARKER } from "../../core/job-spec";

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
    expect(() => athenaQuery(config, "JMSD")).to.throw(/jobs\.JMSD\.inputs\[0\]\.job: .*give job PSD a catalogSchema/);
    const withTables = { ...config, jobs: { ...config.jobs, PSD: { ...config.jobs.PSD, catalogSchema: "marketing_and_sales.json" }, PMD: { ...config.jobs.PMD, catalogSchema: "marketing.json" } } };
    const statement = athenaQuery(withTables, "JMSD");
    expect(statement).to.include(`"sales" AS (SELECT * FROM "${config.glue.databaseName}"."${outputTableName(withTables, "PSD")}")`);
  });

  it("merges the input views into a job SQL that has its own WITH, keeping its leading comments", () => {
    const dir = mkdtempSync(join(tmpdir(), "athena-query-"));
    try {
      cpSync(join(PROJECT_ROOT, "glue-scripts"), dir, { recursive: true });
      writeFileSync(join(dir, "process_marketing_data.sql"), "-- a comment\nWITH days AS (SELECT date FROM marketing)\nSELECT * FROM days;\n");
      const statement = athenaQuery({ ...config, scriptsDir: dir, rootDir: "/" }, "PMD");
      expect(statement).to.match(/^UNLOAD \(\n-- a comment\nWITH\n"marketing" AS \([\s\S]*\),\ndays AS \(SELECT date FROM marketing\)\nSELECT \* FROM days\n\) TO /);
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
