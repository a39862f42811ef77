// Opt-in acceptance check on the real QuickSight sample datasets (never needed by `npm test`):
//   npx tsx test/example/local-real-data-check.ts [DIR]   (default DIR: /work/shared/datasets/quicksight-samples)
// Runs PSD, PMD and JMSD with the local engine and compares the results with a plain TypeScript computation.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { runTransformation } from "../../local/etl-engine";

const SCRIPTS_DIR = resolve(__dirname, "..", "..", "glue-scripts");

function isoDate(text: string): string {
  const [m, d, y] = text.split("/");
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}

async function main(dir: string): Promise<void> {
  const salesFile = join(dir, "SalesPipeline_QuickSightSample.csv");
  const marketingFile = join(dir, "MarketingData_QuickSightSample.csv");
  const work = await mkdtemp(join(tmpdir(), "etl-real-data-"));
  try {
    await runTransformation({ inputs: [{ name: "sales", path: salesFile, format: "csv", schema: "sales.json" }], sqlFile: "process_sales_data.sql", outputDir: join(work, "psd"), scriptsDir: SCRIPTS_DIR });
    await runTransformation({ inputs: [{ name: "marketing", path: marketingFile, format: "csv", schema: "marketing.json" }], sqlFile: "process_marketing_data.sql", outputDir: join(work, "pmd"), scriptsDir: SCRIPTS_DIR });
    const joined = await runTransformation({
      inputs: [{ name: "sales", path: join(work, "psd"), format: "parquet" }, { name: "marketing", path: join(work, "pmd"), format: "parquet" }],
      sqlFile: "join_marketing_and_sales_data.sql",
      outputDir: join(work, "curated"),
      scriptsDir: SCRIPTS_DIR,
    });

    // Independent computation (the real files have no quoted fields).
    const days = new Map<string, [number, number, number, number]>();
    for (const line of (await readFile(salesFile, "utf8")).trim().split("\n").slice(1)) {
      const f = line.split(",");
      const d = days.get(isoDate(f[0])) ?? [0, 0, 0, 0];
      days.set(isoDate(f[0]), [d[0] + 1, d[1] + Number(f[6]), d[2] + (f[7] === "Lead" ? 1 : 0), d[3] + (f[7] === "Lead" ? Number(f[6]) : 0)]);
    }
    const marketing = new Map((await readFile(marketingFile, "utf8")).trim().split("\n").slice(1).map((l) => [isoDate(l.split(",")[0]), l.split(",")] as const));
    const expected = [...days.keys()].filter((d) => marketing.has(d)).sort().map((d) => [d, ...days.get(d)!.map(String), marketing.get(d)![1], marketing.get(d)![18] || null]);

    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(`SELECT date, opportunities, forecasted_monthly_revenue, leads_generated, forecasted_lead_revenue, new_visitors_seo, events FROM read_parquet('${joined.files[0]}')`)).getRowsJson();
    connection.closeSync();
    instance.closeSync();
    const actual = rows.map((r) => r.map((v) => (v === null ? null : String(v))));
    const mismatch = actual.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(expected[i]));
    if (actual.length !== expected.length || mismatch >= 0) {
      console.error(`MISMATCH: ${actual.length} rows vs ${expected.length} expected; first difference at row ${mismatch}:\n  got      ${JSON.stringify(actual[mismatch])}\n  expected ${JSON.stringify(expected[mismatch])}`);
      process.exitCode = 1;
    } else {
      console.log(`OK: ${days.size} sales days, ${marketing.size} marketing days, ${actual.length} joined rows match the independent computation`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main(resolve(process.argv[2] ?? "/work/shared/datasets/quicksight-samples")).catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
