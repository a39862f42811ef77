// What DuckDB needs to run the statements core/athena-query.ts generates, as Athena (Trino) would: the UNLOAD
// wrapper is taken apart here, and the Trino functions whose DuckDB spelling or meaning differs are DuckDB macros.
// Exactly the functions the project generates or its job SQL uses are covered (a test checks every function name
// in the generated statements against ATHENA_FUNCTIONS); this is not a general Trino translator.
import type { DuckDBConnection } from "@duckdb/node-api";

/**
 * Every function the local Athena runs, by Trino name: "native" where DuckDB has the same name and meaning for
 * the uses in the project, else the DuckDB macro that gives Trino's meaning.
 */
export const ATHENA_FUNCTIONS: Readonly<Record<string, { macro?: string }>> = {
  // Trino: a partial regular-expression match (the generated patterns are anchored).
  regexp_like: { macro: "CREATE MACRO regexp_like(s, pattern) AS regexp_matches(s, pattern)" },
  // Trino: a timestamp parsed with MySQL specifiers, an error when the text does not parse (the generator wraps it
  // in TRY). Only the format the generator writes is covered: checkCoverage refuses a query with another one.
  date_parse: { macro: "CREATE MACRO date_parse(s, format) AS strptime(s, '%m/%d/%Y')" },
  // Same name and meaning in DuckDB.
  try: {},
  try_cast: {},
  cast: {},
  nullif: {},
  upper: {},
  coalesce: {},
  count: {},
  // Trino: 0 over no rows (a header-only file); DuckDB's count_if gives NULL there.
  count_if: { macro: "CREATE MACRO count_if(b) AS count(CASE WHEN b THEN 1 END)" },
  sum: {},
  // 1-based start, a length in characters; replace of every occurrence: the same in both.
  substr: {},
  length: {},
  replace: {},
};

/** The date_parse formats covered (Trino's MySQL specifiers), as core/athena-query.ts writes them. */
export const DATE_PARSE_FORMATS: readonly string[] = ["%c/%e/%Y"];

// Words followed by '(' that are not functions.
const NOT_FUNCTIONS = new Set(
  "as from unload with using in and or not on join select where exists over values to by then else when case end is null all distinct union except intersect lateral filter within decimal varchar char array map row".split(" "),
);

/** The function names a statement calls (lower case), ignoring comments, string literals and quoted identifiers. */
export function functionNames(sql: string): string[] {
  const bare = sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, " 0 ");
  const names = [...bare.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)].map((m) => m[1].toLowerCase()).filter((n) => !NOT_FUNCTIONS.has(n));
  return [...new Set(names)];
}

/**
 * Refuses a query that calls a function the local dialect does not cover, or date_parse with another format,
 * rather than letting DuckDB give another meaning to it. The message says where to add it.
 */
export function checkCoverage(query: string): void {
  const uncovered = functionNames(query).filter((n) => !Object.hasOwn(ATHENA_FUNCTIONS, n));
  if (uncovered.length)
    throw new Error(`function(s) ${uncovered.join(", ")} not covered by the local Athena dialect (local/athena-dialect.ts covers ${Object.keys(ATHENA_FUNCTIONS).join(", ")})`);
  for (const match of query.matchAll(/date_parse\s*\([^']*'((?:[^']|'')*)'\s*\)/gi))
    if (!DATE_PARSE_FORMATS.includes(match[1])) throw new Error(`date_parse format '${match[1]}' not covered by the local Athena dialect (covered: ${DATE_PARSE_FORMATS.join(", ")})`);
}

/** Installs the macros on a connection. */
export async function installAthenaDialect(connection: DuckDBConnection): Promise<void> {
  for (const { macro } of Object.values(ATHENA_FUNCTIONS)) if (macro) await connection.run(macro);
}

export interface UnloadStatement {
  /** The SELECT (or WITH ... SELECT) inside UNLOAD ( ... ). */
  query: string;
  /** s3:// URI of the destination folder. */
  destination: string;
  /** The WITH ( ... ) properties, keys lower case, values unquoted. */
  properties: Record<string, string>;
}

const UNLOAD = /^\s*UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'((?:[^']|'')*)'\s*WITH\s*\(([^()]*)\)\s*;?\s*$/i;

/** Parses `UNLOAD (<query>) TO '<s3 uri>' WITH (k = 'v', ...)`; anything else is refused with the reason. */
export function parseUnload(statement: string): UnloadStatement {
  const match = UNLOAD.exec(statement);
  if (!match) throw new Error("the local Athena runs UNLOAD (<query>) TO 's3://...' WITH (...) statements only (what core/athena-query.ts generates)");
  const properties: Record<string, string> = {};
  for (const part of match[3].split(",")) {
    const property = /^\s*([A-Za-z_]+)\s*=\s*'([^']*)'\s*$/.exec(part);
    if (!property) throw new Error(`UNLOAD: cannot read the property ${JSON.stringify(part.trim())}`);
    properties[property[1].toLowerCase()] = property[2];
  }
  return { query: match[1], destination: match[2].replace(/''/g, "'"), properties };
}
