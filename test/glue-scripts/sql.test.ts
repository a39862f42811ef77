// The job SQL files and schemas: one definition of each transformation, run by Spark SQL and DuckDB alike.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../core/config";
import { snakeCase } from "../../local/csv";
import { MARKETING_HEADER, SALES_HEADER } from "../../local/sample-data";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");
const config = loadConfig(join(__dirname, "..", "..", "etl.config.json"));

/** Tables a query reads: the names after FROM and JOIN, comments removed. */
function tablesRead(sql: string): string[] {
  const code = sql.replace(/--.*$/gm, "");
  return [...code.matchAll(/\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)/gi)].map((m) => m[1]);
}

interface Schema {
  format: string;
  columns: Array<{ source?: string; name: string; type: string }>;
}
const schema = (file: string) => JSON.parse(readFileSync(join(SCRIPTS_DIR, "schemas", file), "utf8")) as Schema;

describe("glue-scripts SQL and schemas", () => {
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

  it("the raw schemas list every source column of the datasets with its snake_case name", () => {
    for (const [file, header] of [["sales.json", SALES_HEADER], ["marketing.json", MARKETING_HEADER]]) {
      const s = schema(file);
      expect(s.format, file).to.equal("csv");
      expect(s.columns.map((c) => c.source), file).to.deep.equal(header.split(","));
      for (const c of s.columns) expect(c.name, `${file} ${c.source}`).to.equal(snakeCase(c.source!));
    }
    expect(schema("marketing.json").columns.find((c) => c.source === "Mailing list adds ")?.name).to.equal("mailing_list_adds");
    const types = (file: string) => Object.fromEntries(schema(file).columns.map((c) => [c.name, c.type]));
    expect(types("sales.json")).to.include({ date: "date", target_close: "date", forecasted_monthly_revenue: "bigint", weighted_revenue: "bigint", opportunity_stage: "string", closed_opportunity: "boolean" });
    expect(Object.values(types("marketing.json")).filter((t) => t === "bigint")).to.have.length(17);
    expect(types("marketing.json")).to.include({ date: "date", events: "string" });
  });

  it("the curated schema is the sales output then the marketing columns, date once", () => {
    const curated = schema("marketing_and_sales.json");
    const marketing = schema("marketing.json").columns.filter((c) => c.name !== "date").map(({ name, type }) => ({ name, type }));
    expect(curated.format).to.equal("parquet");
    expect(curated.columns).to.deep.equal([
      { name: "date", type: "date" },
      { name: "opportunities", type: "bigint" },
      { name: "forecasted_monthly_revenue", type: "bigint" },
      { name: "leads_generated", type: "bigint" },
      { name: "forecasted_lead_revenue", type: "bigint" },
      ...marketing,
    ]);
    expect(config.jobs.JMSD.catalogSchema).to.equal("marketing_and_sales.json");
  });
});
