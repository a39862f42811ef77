// Parquet read back with DuckDB, for tests that check what an engine wrote.
import { DuckDBInstance } from "@duckdb/node-api";

export type Row = Record<string, unknown>;

async function query<T>(run: (connection: Awaited<ReturnType<DuckDBInstance["connect"]>>, list: string) => Promise<T>, files: string[]): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return await run(connection, `[${files.map((f) => `'${f}'`).join(", ")}]`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Column names and types, and rows as JSON values (dates 'YYYY-MM-DD', bigints as strings). */
export const readParquet = (files: string[]): Promise<{ columns: Array<[string, string]>; rows: Row[] }> =>
  query(async (connection, list) => {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${list})`);
    const columns = described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)] as [string, string]);
    const rows = (await connection.runAndReadAll(`SELECT * FROM read_parquet(${list})`)).getRowObjectsJson() as Row[];
    return { columns, rows };
  }, files);

/** Rows as arrays of JSON values, ordered as stored. */
export const parquetRows = (files: string[]): Promise<unknown[][]> =>
  query(async (connection, list) => (await connection.runAndReadAll(`SELECT * FROM read_parquet(${list})`)).getRowsJson() as unknown[][], files);

/** M/D/YYYY -> YYYY-MM-DD, independent of the engine. */
export function isoDate(text: string): string {
  const [m, d, y] = text.split("/");
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}
