import { expect } from "chai";
import { withConnection, withScratchDatabase } from "../../local/duckdb-instance";

const databases = () => withConnection(async (c) => (await c.runAndReadAll("SELECT database_name FROM duckdb_databases()")).getRowObjectsJson().map((r) => String(r.database_name)));

describe("local/duckdb-instance", () => {
  it("gives each scratch user a database of its own, unseen by another at the same time, and detached when it ends, failed or not", async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const first = withScratchDatabase(async (c, name) => {
      await c.run("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 1 AS x");
      await hold;
      return { name, rows: (await c.runAndReadAll("SELECT x FROM s.t")).getRowsJson() };
    });
    const second = await withScratchDatabase(async (c, name) => {
      const seen = (await c.runAndReadAll("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = current_database()")).getRowObjectsJson()[0].n;
      return { name, seen };
    });
    release();
    const done = await first;
    expect(second.seen, "tables the other scratch database holds").to.equal(0);
    expect(done.rows).to.deep.equal([[1]]);
    expect(done.name).to.not.equal(second.name);
    const failed = await withScratchDatabase(async (c, name) => {
      await c.run("CREATE TABLE t AS SELECT 1 AS x");
      throw Object.assign(new Error("its own error"), { database: name });
    }).catch((e: Error & { database: string }) => e);
    expect(failed.message).to.equal("its own error");
    expect(await databases()).to.not.include.members([done.name, second.name, failed.database]);
  });

  it("after an error that invalidates the instance (DuckDB's FATAL), the next user gets a new one", async () => {
    await withConnection((c) => c.run("CREATE OR REPLACE TABLE marker AS SELECT 1 AS x"));
    const tables = () => withConnection(async (c) => (await c.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'")).getRowObjectsJson().map((r) => r.table_name));
    expect(await tables()).to.include("marker");
    await withConnection(async () => {
      throw new Error("FATAL Error: Failed: database has been invalidated because of a previous fatal error");
    }).catch(() => undefined);
    expect(await tables()).to.not.include("marker");
  });
});
