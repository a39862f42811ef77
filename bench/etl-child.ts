// One measured ETL run in a fresh process, so its peak memory is its own: `engine` runs runTransformation() of
// local/etl-engine.ts; `duckdb` runs the same job SQL in plain DuckDB on the same file (DuckDB's own typed CSV
// reader, columns renamed as the schema names them, Parquet Snappy out). Prints one JSON line:
// { seconds, maxRssMiB, rowsWritten }. Usage: tsx bench/etl-child.ts <engine|duckdb> <job> <csv file> <output dir>
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig, scriptsDir, sqlPath } from "../core/config";
import { jobArguments, type EtlInput } from "../core/job-arguments";
import { readSchemaFile } from "../core/schema-file";
import { runTransformation } from "../local/etl-engine";

/** DuckDB's type for each schema type (dates as the data writes them: M/D/YYYY). */
const DUCKDB_TYPES: Record<string, string> = { date: "DATE", bigint: "BIGINT", double: "DOUBLE", boolean: "BOOLEAN", string: "VARCHAR" };

async function plainDuckDb(sql: string, input: EtlInput, schemaPath: string, file: string, outputDir: string): Promise<number> {
  const schema = readSchemaFile(schemaPath);
  const columns = schema.columns.map((c) => `'${c.source!.replace(/'/g, "''")}': '${DUCKDB_TYPES[c.type]}'`).join(", ");
  const renamed = schema.columns.map((c) => `"${c.source!.replace(/"/g, '""')}" AS ${c.name}`).join(", ");
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE VIEW ${input.name} AS SELECT ${renamed} FROM read_csv('${file}', header = true, auto_detect = false, dateformat = '%m/%d/%Y', columns = {${columns}})`);
    const copy = await connection.run(`COPY (${sql.trim().replace(/;\s*$/, "")}) TO '${join(outputDir, "part-00000.snappy.parquet")}' (FORMAT parquet, COMPRESSION snappy)`);
    return copy.rowsChanged;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function main(): Promise<void> {
  const [mode, jobId, file, outputDir] = process.argv.slice(2);
  const config = loadConfig();
  const job = config.jobs[jobId];
  if (!job || !file || !outputDir || (mode !== "engine" && mode !== "duckdb")) throw new Error("usage: tsx bench/etl-child.ts <engine|duckdb> <job> <csv file> <output dir>");
  const [input] = JSON.parse(jobArguments(config, jobId, "bench")["--etl_inputs"]) as EtlInput[];
  const start = performance.now();
  let rowsWritten: number;
  let dropped = 0;
  if (mode === "engine") {
    const result = await runTransformation({ inputs: [{ ...input, path: file }], sqlFile: sqlPath(config, job), outputDir, scriptsDir: scriptsDir(config) });
    rowsWritten = result.rowsWritten;
    dropped = Object.values(result.droppedRows).reduce((a, b) => a + b, 0);
  } else {
    rowsWritten = await plainDuckDb(readFileSync(sqlPath(config, job), "utf8"), input, join(scriptsDir(config), "schemas", input.schema!), file, outputDir);
  }
  const seconds = (performance.now() - start) / 1000;
  // resourceUsage().maxRSS is in KiB: the process's peak resident memory, DuckDB's native allocations included.
  console.log(JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, rowsWritten, dropped }));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
