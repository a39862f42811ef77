// How the local Athena runs one statement: the catalog tables it names are staged from the local S3 into DuckDB
// (CSV tables as OpenCSVSerde reads them: by position, header line skipped, every column a string), the query runs
// as written (local/athena-dialect.ts), and its result is written as Parquet to the UNLOAD destination, which must be
// empty, as on Athena.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { CatalogTable } from "../core/catalog";
import { checkCoverage, installAthenaDialect, parseUnload } from "./athena-dialect";
import { unclosedQuoteLines } from "./etl-engine";
import { parseS3Uri, S3Staging } from "./s3-staging";

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

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
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
  if (format !== "PARQUET") throw new AthenaQueryError(`local Athena: UNLOAD format ${JSON.stringify(unload.properties.format)} is not covered (only PARQUET)`);
  const compression = (unload.properties.compression ?? "GZIP").toUpperCase();
  if (compression !== "SNAPPY" && compression !== "GZIP" && compression !== "ZSTD") throw new AthenaQueryError(`local Athena: compression ${compression} is not covered`);
  const destination = parseS3Uri(unload.destination, "UNLOAD destination");
  if (!destination.prefix.endsWith("/")) throw new AthenaQueryError(`UNLOAD destination ${unload.destination} must be a folder (end with '/')`);
  if ((await staging.listKeys(destination.bucket, destination.prefix)).length > 0)
    throw new AthenaQueryError(`HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: ${unload.destination}. You may need to manually clean the data at location before retrying.`);

  const work = await mkdtemp(join(tmpdir(), "etl-athena-"));
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await installAthenaDialect(connection);
    await connection.run(`CREATE SCHEMA ${identifier(catalog.database)}`);
    let dataScannedInBytes = 0;
    for (const table of referencedTables(catalog, unload.query)) dataScannedInBytes += await stageTable(connection, staging, catalog, table, join(work, "tables", table.name));
    const outputDir = join(work, "output");
    await mkdir(outputDir, { recursive: true });
    const started = Date.now();
    let rows: number;
    try {
      const copy = await connection.run(`COPY (${unload.query}) TO ${literal(join(outputDir, `${options.queryId}_00000.${compression.toLowerCase()}.parquet`))} (FORMAT parquet, COMPRESSION ${compression.toLowerCase()})`);
      rows = copy.rowsChanged;
    } catch (e) {
      throw new AthenaQueryError(`local Athena: the query failed (${(e as Error).message})`);
    }
    const engineExecutionTimeInMillis = Date.now() - started;
    // The destination was found empty: nothing is replaced.
    await staging.replacePrefix(destination.bucket, destination.prefix, outputDir);
    return { rows, dataScannedInBytes, engineExecutionTimeInMillis };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(work, { recursive: true, force: true });
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

/** Makes one table queryable; returns the bytes read. Files named '_*' or '.*' are skipped, as Hive does. */
async function stageTable(connection: DuckDBConnection, staging: S3Staging, catalog: LocalCatalog, table: CatalogTable, dir: string): Promise<number> {
  await staging.download(catalog.bucket, table.prefix, dir);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .filter((file) => !relative(dir, file).split(sep).some((part) => part.startsWith("_") || part.startsWith(".")))
      .sort()
      .map(async (file) => ({ file, size: (await stat(file)).size })),
  );
  const name = `${identifier(catalog.database)}.${identifier(table.name)}`;
  const columns = table.columns.map((c) => `${identifier(c.name)} ${duckType(c.type)}`).join(", ");
  const list = `[${files.map((f) => literal(f.file)).join(", ")}]`;
  if (table.format === "csv") for (const { file } of files) await closeQuotesAtLineEnds(file);
  if (files.length === 0) await connection.run(`CREATE TABLE ${name} (${columns})`);
  else if (table.format === "csv")
    // OpenCSVSerde also reads a doubled quote inside quotes as one quote (RFC 4180), as DuckDB does with escape = quote.
    await connection.run(
      `CREATE VIEW ${name} AS SELECT * FROM read_csv(${list}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
        `null_padding = true, columns = {${table.columns.map((c) => `${literal(c.name)}: 'VARCHAR'`).join(", ")}})`,
    );
  else await connection.run(`CREATE VIEW ${name} AS SELECT ${table.columns.map((c) => identifier(c.name)).join(", ")} FROM read_parquet(${list})`);
  return files.reduce((sum, f) => sum + f.size, 0);
}

/**
 * Hive's text input hands OpenCSVSerde one line per record: a quote left open runs to the end of its line, never
 * into the next. The staged copy closes such quotes at the line end, so DuckDB reads the line as OpenCSVSerde does.
 */
async function closeQuotesAtLineEnds(file: string): Promise<void> {
  const data = await readFile(file);
  const open = unclosedQuoteLines(data);
  if (open.length === 0) return;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const line of open) {
    // Before the line break (LF, CR LF or CR), if any.
    let end = line.end;
    while (end > line.start && (data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
    parts.push(data.subarray(at, end), Buffer.from('"'));
    at = end;
  }
  parts.push(data.subarray(at));
  await writeFile(file, Buffer.concat(parts));
}

function duckType(type: string): string {
  const types: Record<string, string> = { string: "VARCHAR", bigint: "BIGINT", double: "DOUBLE", boolean: "BOOLEAN", date: "DATE" };
  if (!types[type]) throw new AthenaQueryError(`local Athena: column type ${type} is not covered`);
  return types[type];
}

