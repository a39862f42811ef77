import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "chai";
import { athenaCountsQuery, athenaQuery, athenaRawInputs } from "../../core/athena-query";
import { bindRawRows } from "../../core/athena-inputs";
import { jobQualityLimits } from "../../core/quality";
import { outputTableName } from "../../core/catalog";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT, loadConfig, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { ATHENA_FUNCTIONS, DATE_PARSE_FORMATS, checkCoverage, functionNames, installAthenaDialect, parseUnload } from "../../local/athena-dialect";

/** The active configuration and the three-datasets fixture: every job that can run on Athena, as it would. (That the
 * dialect covers nothing the shipped example does not use is checked in test/example/local-athena-dialect.test.ts.) */
const CONFIG_FILES = [process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE, join(PROJECT_ROOT, "test/fixtures/three-datasets/etl.config.json")];
function athenaStatements(config: EtlConfig): string[] {
  return Object.keys(config.jobs)
    .filter((id) => config.jobs[id].inputs.every((i) => i.job === undefined || outputTableName(config, i.job) !== undefined))
    .flatMap((id) => {
      const statements = [athenaQuery(config, id), athenaCountsQuery(config, id, { ...jobQualityLimits(config, id), notNull: ["c"] })];
      // As the runner binds them to a run's files: two files with their columns in two orders.
      const raws = athenaRawInputs(config, id, "bucket");
      const files = Object.fromEntries(raws.map((r) => [r.table, [r.columns.map((_, j) => j), r.columns.map((_, j) => r.columns.length - 1 - j)].map((positions, i) => ({ uri: `${r.uri}${i}.csv`, positions }))]));
      return [...statements, ...statements.map((s) => bindRawRows(s, raws, files))];
    });
}

/** Runs each of `selects` (Trino text) on one DuckDB with the dialect installed (the selects change nothing in it);
 * returns each one's first row as JSON. */
async function duck(selects: string[]): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await installAthenaDialect(connection);
    const rows: unknown[][] = [];
    for (const select of selects) rows.push((await connection.runAndReadAll(select)).getRowsJson()[0] as unknown[]);
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("local/athena-dialect", () => {
  it("covers every function name in the statements generated for every job that can run on Athena (active configuration and fixture)", () => {
    const seen = new Set<string>();
    for (const file of CONFIG_FILES) {
      const statements = athenaStatements(loadConfig(file));
      expect(statements.length, file).to.be.greaterThan(0);
      for (const statement of statements) {
        const { query } = parseUnload(statement);
        for (const name of functionNames(query)) seen.add(name);
        expect(() => checkCoverage(query)).to.not.throw();
      }
    }
    const uncovered = [...seen].filter((n) => !Object.hasOwn(ATHENA_FUNCTIONS, n));
    expect(uncovered, "functions in generated statements the local Athena does not cover").to.deep.equal([]);
  });

  it("gives each covered function Trino's result on DuckDB", async () => {
    // [Trino expression, what Trino returns]
    const probes: Record<string, [string, unknown]> = {
      regexp_like: ["regexp_like('a12b', '[0-9]+')", true],
      date_parse: [`CAST(date_parse('3/7/2013', '${DATE_PARSE_FORMATS[0]}') AS DATE) = DATE '2013-03-07'`, true],
      try: [`TRY(CAST(date_parse('2/30/2013', '${DATE_PARSE_FORMATS[0]}') AS DATE)) IS NULL`, true],
      try_cast: ["TRY_CAST('12x' AS BIGINT) IS NULL AND TRY_CAST('-12' AS BIGINT) = -12", true],
      cast: ["CAST('7' AS BIGINT) = 7", true],
      nullif: ["NULLIF('', '') IS NULL AND NULLIF('a', '') = 'a'", true],
      upper: ["upper('true')", "TRUE"],
      coalesce: ["coalesce(NULL, 3) = 3", true],
      count: ["(SELECT count(*) FROM (VALUES (1), (NULL)) t(x)) = 2", true],
      count_if: ["(SELECT count_if(x IS NULL) FROM (VALUES (1), (NULL), (NULL)) t(x)) = 2 AND (SELECT count_if(x IS NULL) FROM (VALUES (1)) t(x) WHERE x > 1) = 0", true],
      substr: ["substr('\"ab\"', 2, length('\"ab\"') - 2)", "ab"],
      length: ["length('héllo') = 5", true],
      replace: ["replace('say \"\"hi\"\"', '\"\"', '\"')", 'say "hi"'],
      sum: ["(SELECT CAST(sum(x) AS BIGINT) FROM (VALUES (1), (2)) t(x)) = 3", true],
    };
    expect(Object.keys(probes).sort()).to.deep.equal(Object.keys(ATHENA_FUNCTIONS).sort());
    const results = await duck(Object.values(probes).map(([expression]) => `SELECT ${expression}`));
    Object.entries(probes).forEach(([name, [, expected]], i) => expect(results[i][0], name).to.equal(expected));
  });

  it("refuses a function it does not cover and a date_parse format it does not know, naming them", () => {
    expect(() => checkCoverage("SELECT round(x, 2), regexp_like(y, 'a') FROM t")).to.throw(/function\(s\) round not covered/);
    expect(() => checkCoverage("SELECT date_parse(x, '%Y-%m-%d') FROM t")).to.throw(/date_parse format '%Y-%m-%d' not covered/);
    // Names inside strings, comments and quoted identifiers are not calls.
    expect(functionNames(`SELECT "round"(1) AS a, 'floor(' AS b -- ceil(\nFROM t`)).to.deep.equal([]);
  });

  it("takes an UNLOAD apart and refuses anything else", () => {
    const unload = parseUnload("UNLOAD (SELECT 1 AS a\n-- end\n) TO 's3://b/p/' WITH (format = 'PARQUET', compression = 'SNAPPY')");
    expect(unload).to.deep.equal({ query: "SELECT 1 AS a\n-- end\n", destination: "s3://b/p/", properties: { format: "PARQUET", compression: "SNAPPY" } });
    expect(() => parseUnload("SELECT 1")).to.throw(/UNLOAD .* statements only/);
    expect(() => parseUnload("UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format PARQUET)")).to.throw(/cannot read the property/);
  });

  it("keeps the generated patterns those of the other engines", () => {
    const python = readFileSync(join(PROJECT_ROOT, "glue-scripts/etl_common.py"), "utf8");
    // A job of the configuration reading a dataset with date and integer columns.
    const config = loadConfig();
    const types = (dataset: string) => readSchemaFile(schemaPath(config, config.datasets[dataset].schema)).columns.map((c) => c.type);
    const job = Object.keys(config.jobs).find((id) => config.jobs[id].inputs.some((i) => i.dataset !== undefined && types(i.dataset).includes("date") && types(i.dataset).includes("bigint")));
    expect(job, "a job reads a dataset with date and bigint columns").to.be.a("string");
    const statement = athenaQuery(config, job!);
    for (const kind of ["DATE", "BIGINT"]) {
      const pattern = new RegExp(`${kind}_PATTERN = r"(.*)"`).exec(python)![1];
      expect(statement, kind).to.include(`'${pattern}'`);
    }
  });
});
