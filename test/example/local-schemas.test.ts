// The shipped example's schemas: the raw ones list every column of the QuickSight samples with its snake_case name
// and type, and the curated one is PSD's output then PMD's columns (JMSD's catalogSchema).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../core/config";
import { snakeCase } from "../../local/csv";
import { MARKETING_HEADER, SALES_COLUMNS, SALES_HEADER } from "../../local/sample-data";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");
const config = loadConfig(join(__dirname, "..", "..", "etl.config.json"));

interface Schema {
  format: string;
  columns: Array<{ source?: string; name: string; type: string }>;
}
const schema = (file: string) => JSON.parse(readFileSync(join(SCRIPTS_DIR, "schemas", file), "utf8")) as Schema;

describe("example: the glue-scripts schemas", () => {
  it("the raw schemas list every source column of the datasets with its snake_case name", () => {
    for (const [file, header] of [["sales.json", SALES_HEADER], ["marketing.json", MARKETING_HEADER]]) {
      const s = schema(file);
      expect(s.format, file).to.equal("csv");
      expect(s.columns.map((c) => c.source), file).to.deep.equal(header.split(","));
      for (const c of s.columns) expect(c.name, `${file} ${c.source}`).to.equal(snakeCase(c.source!));
    }
    expect(schema("marketing.json").columns.find((c) => c.source === "Mailing list adds ")?.name).to.equal("mailing_list_adds");
    const types = (file: string) => Object.fromEntries(schema(file).columns.map((c) => [c.name, c.type]));
    // The sample's generator writes each column's values in the schema's type (the strict line check's tests read its types).
    expect(schema("sales.json").columns.map((c) => c.type)).to.deep.equal(SALES_COLUMNS.map((c) => c.type));
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
