// Parquet read back with DuckDB, for tests that check what an engine wrote.
import type { DuckDBConnection } from "@duckdb/node-api";
import { literal } from "../../core/sql";
import { withConnection } from "../../local/duckdb-instance";

export type Row = Record<string, unknown>;

/** On the process's one in-memory DuckDB (local/duckdb-instance.ts: its file cache off, so a test that rewrites an
 * output at the same path reads the file as it is now); each read has a connection of its own and creates nothing. */
const query = <T>(run: (connection: DuckDBConnection, list: string) => Promise<T>, files: string[]): Promise<T> =>
  withConnection((connection) => run(connection, `[${files.map(literal).join(", ")}]`));

// @duckdb/node-api decodes text with a TextDecoder that drops a leading U+FEFF (a byte order mark) from every value,
// so text columns are read as their bytes and decoded here, keeping it: an engine that kept one must be seen to.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Column names and types of `source` (a FROM clause), and its rows as JSON values, text exactly as stored. */
export async function jsonRows(connection: DuckDBConnection, source: string): Promise<{ columns: Array<[string, string]>; rows: unknown[][] }> {
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  const columns = described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)] as [string, string]);
  const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const result = await connection.runAndReadAll(`SELECT ${columns.map(([name, type]) => (type === "VARCHAR" ? `encode(${quoted(name)})` : quoted(name))).join(", ")} FROM ${source}`);
  const rows = result.getRowsJson() as unknown[][];
  // Only the text columns' values read again, as their bytes (not every value twice).
  columns.forEach(([, type], c) => {
    if (type !== "VARCHAR") return;
    rows.forEach((row, r) => {
      const raw = result.value(c, r) as { bytes: Uint8Array } | null;
      row[c] = raw === null ? null : utf8.decode(raw.bytes);
    });
  });
  return { columns, rows };
}

/** Column names and types, and rows as JSON values (dates 'YYYY-MM-DD', bigints as strings). */
export const readParquet = (files: string[]): Promise<{ columns: Array<[string, string]>; rows: Row[] }> =>
  query(async (connection, list) => {
    const { columns, rows } = await jsonRows(connection, `read_parquet(${list})`);
    return { columns, rows: rows.map((row) => Object.fromEntries(columns.map(([name], c) => [name, row[c]]))) };
  }, files);

/** Rows as arrays of JSON values, ordered as stored. */
export const parquetRows = (files: string[]): Promise<unknown[][]> => query(async (connection, list) => (await jsonRows(connection, `read_parquet(${list})`)).rows, files);

/** M/D/YYYY -> YYYY-MM-DD, independent of the engine. */
export function isoDate(text: string): string {
  const [m, d, y] = text.split("/");
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}
