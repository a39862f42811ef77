import { expect } from "chai";
import { DuckDBInstance } from "@duckdb/node-api";
import { withConnection, withScratchDatabase } from "../../local/duckdb-instance";
import { whileDetachRefused } from "../support/duckdb";

/** Which of `names` are still attached. */
const attached = (...names: string[]) =>
  withConnection(async (c) => (await c.runAndReadAll("SELECT database_name FROM duckdb_databases()")).getRowObjectsJson().map((r) => String(r.database_name)).filter((name) => names.includes(name)));
const memoryTables = () => withConnection(async (c) => (await c.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'")).getRowObjectsJson().map((r) => r.table_name));
const error = (promise: Promise<unknown>) => promise.then(() => expect.fail("expected a rejection"), (e: Error) => e);

describe("local/duckdb-instance", () => {
  it("gives each scratch user a database of its own, unseen by another at the same time, and detached when it ends, failed or not", async () => {
    let created!: () => void;
    const tableCreated = new Promise<void>((resolve) => (created = resolve));
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const first = withScratchDatabase(async (c, name) => {
      await c.run("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 1 AS x");
      created();
      await hold;
      return { name, rows: (await c.runAndReadAll("SELECT x FROM s.t")).getRowsJson() };
    });
    await tableCreated;
    const second = await withScratchDatabase(async (c, name) => {
      const seen = (await c.runAndReadAll("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = current_database()")).getRowObjectsJson()[0].n;
      return { name, seen, read: await error(c.run("SELECT * FROM s.t")) };
    });
    release();
    const done = await first;
    expect(second.seen, "tables the other scratch database holds").to.equal(0);
    expect(second.read.message).to.match(/^Catalog Error/);
    expect(done.rows).to.deep.equal([[1]]);
    expect(done.name).to.not.equal(second.name);
    const failed = await error(
      withScratchDatabase(async (c, name) => {
        await c.run("CREATE TABLE t AS SELECT 1 AS x");
        throw new Error("its own error", { cause: name });
      }),
    );
    expect(failed.message).to.equal("its own error");
    expect(await attached(done.name, second.name, String(failed.cause))).to.deep.equal([]);
  });

  it("detaches a scratch database its own connection cannot (a transaction left open) from another connection", async () => {
    const failed = await error(
      withScratchDatabase(async (c, name) => {
        await c.run("CREATE TABLE t AS SELECT 1 AS x; BEGIN TRANSACTION; INSERT INTO t VALUES (2)");
        throw new Error("its own error", { cause: name });
      }),
    );
    expect(failed.message).to.equal("its own error");
    expect(await attached(String(failed.cause))).to.deep.equal([]);
  });

  it("names a scratch database no connection could detach: in a warning after the user's own error (thrown), else in the error", async () => {
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => warnings.push(message);
    const names: string[] = [];
    try {
      const [failed, unfinished] = await whileDetachRefused(async () => [
        await error(
          withScratchDatabase(async (_, name) => {
            names.push(name);
            throw new Error("its own error");
          }),
        ),
        await error(withScratchDatabase(async (_, name) => void names.push(name))),
      ]);
      expect(failed.message).to.equal("its own error");
      expect(warnings).to.deep.equal([`local DuckDB: could not detach scratch database ${names[0]}: detach refused`]);
      expect(unfinished.message).to.equal(`local DuckDB: could not detach scratch database ${names[1]}: detach refused`);
    } finally {
      console.warn = warn;
      await withConnection(async (c) => {
        for (const name of names) await c.run(`DETACH DATABASE IF EXISTS ${name}`);
      });
    }
  });

  it("keeps the instance after a user's error, even one that quotes DuckDB's INTERNAL Error, while it still runs statements", async () => {
    await withConnection((c) => c.run("CREATE OR REPLACE TABLE marker AS SELECT 1 AS x"));
    const failed = await error(withConnection((c) => c.run(`SELECT "INTERNAL Error" FROM marker`)));
    expect(failed.message).to.match(/^Binder Error.*INTERNAL Error/s);
    expect(await memoryTables()).to.include("marker");
  });

  it("after an error, drops an instance that can no longer run a statement, and closes it when its last connection closes", async () => {
    await withConnection((c) => c.run("CREATE OR REPLACE TABLE marker AS SELECT 1 AS x"));
    // The instance made unusable as DuckDB invalidates itself on a FATAL error: a new connection to it fails.
    const { connect, closeSync } = DuckDBInstance.prototype;
    let shared: DuckDBInstance | undefined;
    let broken = false;
    const closed: DuckDBInstance[] = [];
    DuckDBInstance.prototype.connect = function (this: DuckDBInstance) {
      shared ??= this;
      return broken && this === shared ? Promise.reject(new Error("FATAL Error: database has been invalidated")) : connect.call(this);
    };
    DuckDBInstance.prototype.closeSync = function (this: DuckDBInstance) {
      closed.push(this);
      closeSync.call(this);
    };
    try {
      let opened!: () => void;
      const open = new Promise<void>((resolve) => (opened = resolve));
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const other = withConnection(async () => {
        opened();
        await hold;
      });
      await open;
      broken = true;
      await error(withConnection(() => Promise.reject(new Error("a failure"))));
      expect(closed, "closed while another connection is open").to.deep.equal([]);
      release();
      await other;
      expect(closed).to.deep.equal([shared]);
      expect(await memoryTables(), "a new instance's").to.not.include("marker");
    } finally {
      Object.assign(DuckDBInstance.prototype, { connect, closeSync });
    }
  });
});
