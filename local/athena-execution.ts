// How the local Athena runs one statement: the catalog tables it names are staged from the local S3 into DuckDB as
// their table definitions read them (RegexSerDe text tables: each line of each file, the header lines skipped, matched
// by the table's input.regex, a line that does not match all NULL, with the "$path" of its file; Parquet tables: typed
// columns by name), the query
// runs as written (local/athena-dialect.ts), and its result is written as Parquet or JSON to the UNLOAD destination,
// which must be empty, as on Athena.
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import type { S3Client } from "@aws-sdk/client-s3";
import type { DuckDBConnection } from "@duckdb/node-api";
import { PARQUET_SERDE, REGEX_SERDE, type CatalogTable } from "../core/catalog";
import { checkCoverage, installAthenaDialect, parseUnload } from "./athena-dialect";
import { isSkippedInputFile } from "../core/csv-header";
import { csvBytes } from "./csv";
import { withScratchDatabase } from "./duckdb-instance";
import { parseS3Uri, S3Staging } from "./s3-staging";
import { escapeRegExp } from "../core/regex";
import { literal } from "../core/sql";

/** The local Data Catalog: the tables of one database, over the local data-lake bucket. */
export interface LocalCatalog {
  database: string;
  bucket: string;
  tables: readonly CatalogTable[];
}

export interface AthenaStatementResult {
  rows: number;
  /** Bytes of the table files read. */
  dataScannedInBytes: number;
  /** Time DuckDB spent on the query. */
  engineExecutionTimeInMillis: number;
}

/** A query failure as Athena reports it: AthenaError's ErrorCategory (1 system, 2 user) and ErrorType. */
export class AthenaQueryError extends Error {
  constructor(
    message: string,
    readonly category: 1 | 2 = 2,
    readonly errorType = 1000,
  ) {
    super(message);
  }
}

const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Runs one UNLOAD statement on the local S3; `database` is the query's context. Throws AthenaQueryError. */
export async function runAthenaStatement(options: { s3: S3Client; catalog: LocalCatalog; database: string; statement: string; queryId: string }): Promise<AthenaStatementResult> {
  const { catalog, statement } = options;
  const staging = new S3Staging(options.s3);
  if (options.database !== catalog.database) throw new AthenaQueryError(`SCHEMA_NOT_FOUND: Schema '${options.database}' does not exist`);
  let unload;
  try {
    unload = parseUnload(statement);
    checkCoverage(unload.query);
  } catch (e) {
    throw new AthenaQueryError(`local Athena: ${(e as Error).message}`);
  }
  const format = unload.properties.format?.toUpperCase();
  if (format !== "PARQUET" && format !== "JSON") throw new AthenaQueryError(`local Athena: UNLOAD format ${JSON.stringify(unload.properties.format)} is not covered (only PARQUET and JSON)`);
  const compression = (unload.properties.compression ?? "GZIP").toUpperCase();
  const covered = format === "PARQUET" ? ["SNAPPY", "GZIP", "ZSTD"] : ["GZIP"];
  if (!covered.includes(compression)) throw new AthenaQueryError(`local Athena: ${format} compression ${compression} is not covered`);
  const destination = parseS3Uri(unload.destination, "UNLOAD destination");
  if (!destination.prefix.endsWith("/")) throw new AthenaQueryError(`UNLOAD destination ${unload.destination} must be a folder (end with '/')`);
  if ((await staging.listKeys(destination.bucket, destination.prefix)).length > 0)
    throw new AthenaQueryError(`HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: ${unload.destination}. You may need to manually clean the data at location before retrying.`);

  const work = await mkdtemp(join(tmpdir(), "etl-athena-"));
  try {
    const outputDir = join(work, "output");
    // The statement's schema, tables and macros in a database of its own on the process's one DuckDB
    // (local/duckdb-instance.ts), detached once it ends: what it names resolves to its own tables; another running
    // statement's database can still be listed (information_schema) and named, only not guessed.
    const result = await withScratchDatabase(async (connection, scratch) => {
      // Athena's names: <query id>_<n>.<compression>.parquet, <query id>_<n>.gz (JSON lines).
      const file = format === "PARQUET" ? `${options.queryId}_00000.${compression.toLowerCase()}.parquet` : `${options.queryId}_00000.gz`;
      const copy = await queryFailure(() => connection.extractStatements(`COPY (${unload.query}) TO ${literal(join(outputDir, file))} (FORMAT ${format.toLowerCase()}, COMPRESSION ${compression.toLowerCase()})`));
      // One statement only, as Athena: a second one pasted in (SET GLOBAL ...) would change the shared DuckDB.
      if (copy.count !== 1) throw new AthenaQueryError(`local Athena: only one SQL statement is allowed, got: ${statement}`);
      await installAthenaDialect(connection);
      await connection.run(`CREATE SCHEMA ${identifier(catalog.database)}`);
      let dataScannedInBytes = 0;
      for (const table of referencedTables(catalog, unload.query))
        dataScannedInBytes += await stageTable(connection, scratch, staging, catalog, table, join(work, "tables", table.name), prunedPaths(unload.query, catalog.database, table.name));
      await mkdir(outputDir, { recursive: true });
      const started = Date.now();
      const rows = await queryFailure(async () => (await (await copy.prepare(0)).run()).rowsChanged);
      return { rows, dataScannedInBytes, engineExecutionTimeInMillis: Date.now() - started };
    });
    // Published once the scratch database is gone: a statement reported failed has written nothing.
    // The destination was found empty: nothing is replaced.
    await staging.replacePrefix(destination.bucket, destination.prefix, outputDir);
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** DuckDB's error parsing or running the query, as the failed query Athena reports. */
async function queryFailure<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new AthenaQueryError(`local Athena: the query failed (${(e as Error).message})`);
  }
}

/** The catalog tables the query names as "<database>"."<table>" (quoted or not). */
function referencedTables(catalog: LocalCatalog, query: string): CatalogTable[] {
  const names = new Set<string>();
  const reference = /"?([A-Za-z0-9_]+)"?\s*\.\s*"?([A-Za-z0-9_]+)"?/g;
  for (const match of query.matchAll(reference)) if (match[1] === catalog.database) names.add(match[2]);
  const unknown = [...names].filter((n) => !catalog.tables.some((t) => t.name === n));
  if (unknown.length) throw new AthenaQueryError(`TABLE_NOT_FOUND: Table '${catalog.database}.${unknown[0]}' does not exist`);
  return catalog.tables.filter((t) => names.has(t.name));
}

/**
 * The files a query can read of a table when every scan of it is filtered by a top-level `"$path" IN (...)` (the whole
 * WHERE of the scan, as core/athena-inputs.ts binds a run's statements): the listed s3:// URIs, which Athena's engine
 * prunes the table's files to. Undefined when some scan is not so filtered (every file is read).
 */
export function prunedPaths(query: string, database: string, table: string): Set<string> | undefined {
  const reference = new RegExp(`"?${escapeRegExp(database)}"?\\s*\\.\\s*"?${escapeRegExp(table)}"?(?![A-Za-z0-9_])`, "g");
  const filtered = /^\s+WHERE\s+"\$path"\s+IN\s*\(\s*('(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*)\s*\)\s*\)/;
  const paths = new Set<string>();
  let scans = 0;
  for (const match of query.matchAll(reference)) {
    scans++;
    const list = filtered.exec(query.slice(match.index + match[0].length))?.[1];
    if (list === undefined) return undefined;
    for (const [, uri] of list.matchAll(/'((?:[^']|'')*)'/g)) paths.add(uri.replace(/''/g, "'"));
  }
  return scans > 0 ? paths : undefined;
}

/**
 * Makes one table queryable; returns the bytes read. Files named '_*' or '.*' are skipped, as Hive does; with `only`
 * (prunedPaths), the files not in it are neither read nor counted. `scratch`: the statement's database (withScratchDatabase).
 */
async function stageTable(connection: DuckDBConnection, scratch: string, staging: S3Staging, catalog: LocalCatalog, table: CatalogTable, dir: string, only?: ReadonlySet<string>): Promise<number> {
  await staging.download(catalog.bucket, table.prefix, dir);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const uriOf = (file: string) => `s3://${catalog.bucket}/${table.prefix}${relative(dir, file).split(sep).join("/")}`;
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .filter((file) => !isSkippedInputFile(relative(dir, file)) && (only === undefined || only.has(uriOf(file))))
      .sort()
      .map(async (file) => ({ file, size: (await stat(file)).size })),
  );
  const name = `${identifier(catalog.database)}.${identifier(table.name)}`;
  const columns = table.columns.map((c) => `${identifier(c.name)} ${duckType(c.type)}`).join(", ");
  const list = `[${files.map((f) => literal(f.file)).join(", ")}]`;
  if (table.serde.library === REGEX_SERDE) await stageRegexTable(connection, scratch, catalog.database, table, files.map((f) => ({ file: f.file, uri: uriOf(f.file) })));
  else if (table.serde.library !== PARQUET_SERDE) throw new AthenaQueryError(`local Athena: table ${table.name}: SerDe ${table.serde.library} is not covered`);
  else if (files.length === 0) await connection.run(`CREATE TABLE ${name} (${columns})`);
  else await connection.run(`CREATE VIEW ${name} AS SELECT ${table.columns.map((c) => identifier(c.name)).join(", ")} FROM read_parquet(${list})`);
  return files.reduce((sum, f) => sum + f.size, 0);
}

/**
 * A RegexSerDe text table, as Hive's text input and the SerDe read it: every line (ending at LF, CR LF or CR) of every
 * file (*.gz decompressed), after the table's skip.header.line.count lines of each; a line that input.regex matches
 * whole gives its groups (a group that took no part: NULL), any other line all NULL. Each row also has Athena's
 * "$path" pseudo-column, the s3:// URI of its file (a column here: `SELECT *` shows it, which Athena's does not).
 */
async function stageRegexTable(connection: DuckDBConnection, scratch: string, database: string, table: CatalogTable, files: Array<{ file: string; uri: string }>): Promise<void> {
  const pattern = table.serde.parameters["input.regex"];
  if (!pattern) throw new AthenaQueryError(`local Athena: table ${table.name}: RegexSerDe without input.regex`);
  const regex = new RegExp(pattern, "u");
  const skip = Number(table.parameters["skip.header.line.count"] ?? 0);
  await connection.run(`CREATE TABLE ${identifier(database)}.${identifier(table.name)} (${[...table.columns.map((c) => c.name), PATH_COLUMN].map((c) => `${identifier(c)} VARCHAR`).join(", ")})`);
  const appender = await connection.createAppender(table.name, database, scratch);
  try {
    for (const { file, uri } of files) {
      let line = 0;
      for await (const text of createInterface({ input: csvBytes(file), crlfDelay: Infinity })) {
        if (line++ < skip) continue;
        const match = regex.exec(text);
        if (match && match.length - 1 !== table.columns.length)
          throw new AthenaQueryError(`HIVE_CURSOR_ERROR: Number of matching groups doesn't match the number of columns (table ${table.name})`);
        for (let i = 0; i < table.columns.length; i++) {
          const value = match?.[i + 1];
          if (value === undefined) appender.appendNull();
          else appender.appendVarchar(value);
        }
        appender.appendVarchar(uri);
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Athena's pseudo-column of a row's file (core/athena-inputs.ts binds statements to files with it). */
export const PATH_COLUMN = "$path";

function duckType(type: string): string {
  const types: Record<string, string> = { string: "VARCHAR", bigint: "BIGINT", double: "DOUBLE", boolean: "BOOLEAN", date: "DATE" };
  if (!types[type]) throw new AthenaQueryError(`local Athena: column type ${type} is not covered`);
  return types[type];
}

