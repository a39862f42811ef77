// The job SQL files: one definition of each transformation, run by Spark SQL and DuckDB alike. The shipped
// example's own schemas are checked in test/example/local-schemas.test.ts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig, scriptsDir } from "../../core/config";

// The active configuration (ETL_CONFIG, default etl.config.json): its jobs and their scripts folder.
const config = loadConfig();
const SCRIPTS_DIR = scriptsDir(config);

/** Tables a query reads: the names after FROM and JOIN, comments removed. */
function tablesRead(sql: string): string[] {
  const code = sql.replace(/--.*$/gm, "");
  return [...code.matchAll(/\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)/gi)].map((m) => m[1]);
}

describe("glue-scripts SQL", () => {
  for (const [id, job] of Object.entries(config.jobs)) {
    const sqlFile = job.script.replace(/\.py$/, ".sql");
    it(`${id}: ${sqlFile} reads only the job's declared inputs, in SQL both engines share`, () => {
      expect(existsSync(join(SCRIPTS_DIR, job.script)), job.script).to.equal(true);
      const sql = readFileSync(join(SCRIPTS_DIR, sqlFile), "utf8");
      const read = tablesRead(sql);
      expect(read, sqlFile).to.not.be.empty;
      expect(job.inputs.map((i) => i.name), sqlFile).to.include.members(read);
      // Backticks are Spark-only, double-quoted names mean strings in Spark, '::' casts are DuckDB-only.
      expect(sql.replace(/--.*$/gm, ""), sqlFile).to.not.match(/[`"]|::|;\s*\S/);
    });
  }

  it("finds the tables of a query, and would catch an undeclared one", () => {
    expect(tablesRead("SELECT * FROM sales JOIN marketing USING (date) -- FROM other")).to.deep.equal(["sales", "marketing"]);
    expect(tablesRead("select a from raw_sales s left join x.y on true")).to.deep.equal(["raw_sales", "x.y"]);
  });
});
