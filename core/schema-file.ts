// Reads a column schema (glue-scripts/schemas/*.json) for the Glue Data Catalog tables.
// Must not import cdktf.
import { readFileSync } from "node:fs";
import { z } from "zod";

const column = z.looseObject({
  /** Header of the column in the raw CSV, if the schema describes a CSV. */
  source: z.string().min(1).optional(),
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/, "lower snake_case"),
  type: z.enum(["date", "bigint", "boolean", "string", "double"]),
});

const schemaFile = z.looseObject({
  format: z.enum(["csv", "parquet"]).optional(),
  columns: z.array(column).min(1),
});

export type SchemaFile = z.infer<typeof schemaFile>;

/** Parses and validates a schema file; errors name the file, the field and the value given. */
export function readSchemaFile(path: string): SchemaFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: cannot read the schema (${(e as Error).message})`);
  }
  const result = schemaFile.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const value = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
      return `  - ${issue.path.join(".") || "(root)"}: ${issue.message} (got ${value === undefined ? "nothing" : JSON.stringify(value)})`;
    });
    throw new Error(`${path}: invalid schema\n${lines.join("\n")}`);
  }
  const names = result.data.columns.map((c) => c.name);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length) throw new Error(`${path}: invalid schema\n  - columns: duplicate name ${[...new Set(duplicates)].join(", ")}`);
  return result.data;
}
