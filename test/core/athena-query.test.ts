import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { athenaCounts, countsColumn } from "../../core/athena-counts";
import { athenaCountsQuery, athenaQuery, COUNTS_UNLOAD_OPTIONS, UNLOAD_OPTIONS } from "../../core/athena-query";
import { catalogTables, csvLineRegex, outputTableName, rawTableName } from "../../core/catalog";
import { jobQualityLimits } from "../../core/quality";
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

  it("reads raw lines with a RegexSerDe pattern: every field of a well-formed line; one field of a line with one field; nothing of a malformed line", () => {
    const groups = (line: string) => {
      const match = new RegExp(csvLineRegex(3), "u").exec(line);
      return match ? match.slice(1).map((g) => g ?? null) : null;
    };
    expect(groups("a,b,c")).to.deep.equal(["a", "b", "c"]);
    expect(groups(',"x, ""y""",')).to.deep.equal(["", '"x, ""y"""', ""]);
    expect(groups('a,b"c"d,e'), "a quote inside an unquoted value, even count: kept as written (as DuckDB and Spark)").to.deep.equal(["a", 'b"c"d', "e"]);
    expect(groups("   "), "a blank line: its first field alone").to.deep.equal(["   ", null, null]);
    expect(groups("lonely"), "one field: too few").to.deep.equal(["lonely", null, null]);
    for (const malformed of ['a,"b,c', 'a,b"c,d', "a,b", "a,b,c,d", 'a,"q"r,c', '"a,b,c'])
      expect(groups(malformed), malformed).to.equal(null);
    expect(new RegExp(csvLineRegex(1), "u").exec("x")?.slice(1)).to.deep.equal(["x"]);
  });

  it("counts with a statement that unloads one JSON line per run, for every job reading raw datasets; reads that line back, naming a missing count", () => {
    for (const id of workflowShape(config).datasetJobs) {
      const limits = { ...jobQualityLimits(config, id), notNull: ["some_column"] };
      const statement = athenaCountsQuery(config, id, limits);
      expect(statement.endsWith(`\n) TO '${STAGING_URI_MARKER}' WITH (${COUNTS_UNLOAD_OPTIONS})`)).to.equal(true);
      for (const input of config.jobs[id].inputs) {
        expect(statement).to.include(`AS "${countsColumn.read(input.name)}"`);
        expect(statement).to.include(`AS "${countsColumn.kept(input.name)}"`);
      }
      expect(statement).to.include(`count_if("some_column" IS NULL) FROM "etl_result") AS "${countsColumn.nulls("some_column")}"`);
      const row: Record<string, number> = { written: 3, [countsColumn.nulls("some_column")]: 1 };
      for (const input of config.jobs[id].inputs) Object.assign(row, { [countsColumn.read(input.name)]: 10, [countsColumn.kept(input.name)]: 7 });
      const counts = athenaCounts(JSON.stringify(row), limits);
      expect(counts.written).to.equal(3);
      expect(counts.nulls).to.deep.equal({ some_column: 1 });
      for (const input of config.jobs[id].inputs) expect(counts.inputs[input.name]).to.deep.equal({ read: 10, dropped: 3 });
      expect(() => athenaCounts(JSON.stringify({ ...row, written: undefined }), limits)).to.throw(/no count "written"/);
      expect(() => athenaCounts("not json", limits)).to.throw(/not a JSON line/);
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
