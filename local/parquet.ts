// Reads a run's Parquet output back with DuckDB (row count and the first rows), for the summary and the tests.
import { join } from "node:path";
import { literal } from "../core/sql";
import { withConnection } from "./duckdb-instance";

export interface ParquetContents {
  rows: number;
  /** The first `limit` rows, as JSON-compatible objects (dates as 'YYYY-MM-DD'). */
  first: Array<Record<string, unknown>>;
}

/** Reads every *.parquet file directly in `dir`. */
export async function readParquet(dir: string, limit: number): Promise<ParquetContents> {
  const files = literal(join(dir, "*.parquet"));
  // On the process's one DuckDB (local/duckdb-instance.ts), which reads each file as it is now.
  return withConnection(async (connection) => {
    const count = await connection.runAndReadAll(`SELECT COUNT(*)::INTEGER AS n FROM read_parquet(${files})`);
    const rows = Number(count.getRowObjectsJson()[0].n);
    const first = limit > 0 ? (await connection.runAndReadAll(`SELECT * FROM read_parquet(${files}) LIMIT ${Math.floor(limit)}`)).getRowObjectsJson() : [];
    return { rows, first };
  });
}
