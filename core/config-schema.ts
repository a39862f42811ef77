// The JSON schema of etl.config.json, generated from the zod schema (core/config.ts) so that editors complete
// and check the file. Committed as etl.config.schema.json; `npm run config:schema` refreshes it and a test fails
// when it is stale. The cross-field checks (known datasets, name lengths, files) stay in zod only.
import { join } from "node:path";
import { z } from "zod";
import { baseSchema, PROJECT_ROOT } from "./config";

export const CONFIG_SCHEMA_FILE = join(PROJECT_ROOT, "etl.config.schema.json");

type JsonSchema = Record<string, unknown>;

/** Keywords whose value is a schema, a list of schemas or a map of schemas (the ones zod emits). */
const SUBSCHEMA = ["additionalProperties", "items", "propertyNames", "not"];
const SUBSCHEMA_LISTS = ["oneOf", "anyOf", "allOf", "prefixItems"];
const SUBSCHEMA_MAPS = ["properties", "$defs"];

/**
 * An override of an environment: any subset of the fields at any depth (they are merged deeply over the base),
 * so nothing is required and no default applies; a union's branches may overlap once nothing is required.
 */
function overrideOf(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "required" || key === "default") continue;
    if (SUBSCHEMA.includes(key) && value !== null && typeof value === "object") out[key] = overrideOf(value as JsonSchema);
    else if (SUBSCHEMA_LISTS.includes(key)) out[key === "oneOf" ? "anyOf" : key] = (value as JsonSchema[]).map(overrideOf);
    else if (SUBSCHEMA_MAPS.includes(key)) out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, overrideOf(v)]));
    else out[key] = value;
  }
  return out;
}

/** The schema as committed. */
export function configJsonSchema(): JsonSchema {
  const { $schema, properties, required, ...rest } = z.toJSONSchema(baseSchema, { io: "input", target: "draft-2020-12" }) as JsonSchema;
  const fields = properties as Record<string, JsonSchema>;
  const { environment, ...overridable } = fields;
  return {
    $schema,
    title: "etl.config.json",
    description: "The ETL orchestrator's configuration. Generated from core/config.ts by `npm run config:schema`; do not edit.",
    ...rest,
    properties: {
      $schema: { type: "string", description: "The path or URL of this schema, for editors; ignored by the loader." },
      ...fields,
      environments: {
        description: "Per-environment overrides, merged deeply over the base when ETL_ENV names the environment.",
        type: "object",
        propertyNames: environment,
        additionalProperties: overrideOf({ type: "object", properties: overridable, additionalProperties: false }),
      },
    },
    required,
  };
}

/** The file's text: stable key order, two-space indent, final newline. */
export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
