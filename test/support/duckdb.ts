// DuckDB made to fail where tests cannot make it fail for real.
import { DuckDBConnection } from "@duckdb/node-api";

/** Runs `test` while every DETACH statement fails with "detach refused", on any connection. */
export async function whileDetachRefused<T>(test: () => Promise<T>): Promise<T> {
  const { run } = DuckDBConnection.prototype;
  DuckDBConnection.prototype.run = function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    return /^DETACH/.test(sql) ? Promise.reject(new Error("detach refused")) : (run as (...args: unknown[]) => ReturnType<typeof run>).call(this, sql, ...rest);
  };
  try {
    return await test();
  } finally {
    DuckDBConnection.prototype.run = run;
  }
}
