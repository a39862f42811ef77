// One in-memory DuckDB per process for the local services' short reads and statements (local/parquet.ts, the local
// Athena's statements in local/athena-execution.ts): creating an instance costs about 15 ms of CPU, a connection well
// under 1 ms, and a run made several (an Athena job's two statements, the output folder's row count, the CLI's first
// rows). Each user takes a connection of its own and closes it; what a statement creates goes in a database of its
// own (withScratchDatabase), detached when it is done, so nothing one leaves is seen by another, at once or later.
// Its file cache is off: an output rewritten at the same path must be read as it is now, as a new instance would.
import { randomUUID } from "node:crypto";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

let shared: Promise<DuckDBInstance> | undefined;

/** The process's instance, created on first use (a failed creation is tried again by the next caller). */
function instance(): Promise<DuckDBInstance> {
  if (!shared) {
    shared = DuckDBInstance.create(":memory:", { enable_external_file_cache: "false" });
    shared.catch(() => (shared = undefined));
  }
  return shared;
}

/**
 * Runs `use` on a new connection to the process's instance, closed when it settles. An error that invalidates the
 * instance (DuckDB's FATAL and INTERNAL errors) makes the next caller create another: one failure never fails every later
 * statement of a long-lived process (npm run serve), as it would not with an instance per statement.
 */
export async function withConnection<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const current = instance();
  const connection = await (await current).connect();
  try {
    return await use(connection);
  } catch (e) {
    if (shared === current && /\b(FATAL|INTERNAL) Error\b|database has been invalidated/.test(String((e as Error)?.message))) shared = undefined;
    throw e;
  } finally {
    connection.closeSync();
  }
}

/**
 * Runs `use` on a new connection whose default database is an empty in-memory database of its own (what it creates
 * without naming a database goes there: schemas, tables, views, macros), detached with everything in it when `use`
 * settles. `use` gets that database's name (for an appender, which names its catalog).
 */
export function withScratchDatabase<T>(use: (connection: DuckDBConnection, database: string) => Promise<T>): Promise<T> {
  return withConnection(async (connection) => {
    const database = `scratch_${randomUUID().replace(/-/g, "")}`;
    await connection.run(`ATTACH ':memory:' AS ${database}`);
    const detach = async () => {
      await connection.run("USE memory");
      await connection.run(`DETACH ${database}`);
    };
    let result: T;
    try {
      await connection.run(`USE ${database}`);
      result = await use(connection, database);
    } catch (e) {
      // Its own error is the one thrown: a detach that fails then leaves the database to the instance.
      await detach().catch(() => undefined);
      throw e;
    }
    await detach();
    return result;
  });
}
