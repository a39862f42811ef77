// `npm run config:schema [-- --check]`: writes etl.config.schema.json from the zod schema (see core/config-schema.ts).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { defineCommand, runAsScript } from "../core/cli-args";
import { CONFIG_SCHEMA_FILE, configSchemaText } from "../core/config-schema";

export const CONFIG_SCHEMA_COMMAND = defineCommand({
  command: "npm run config:schema --",
  summary: "Writes etl.config.schema.json, the JSON schema of etl.config.json, from the zod schema in core/config.ts.",
  options: {
    check: { type: "boolean", description: "write nothing; exit 1 when the file is stale" },
  },
  epilogue: "Exit codes: 0 written or up to date, 1 stale (--check), 2 bad usage.",
});

if (require.main === module) {
  runAsScript(CONFIG_SCHEMA_COMMAND, (values) => {
    const text = configSchemaText();
    const file = relative(process.cwd(), CONFIG_SCHEMA_FILE);
    if (existsSync(CONFIG_SCHEMA_FILE) && readFileSync(CONFIG_SCHEMA_FILE, "utf8") === text) {
      console.log(`${file} up to date`);
      return 0;
    }
    if (values.check) {
      console.error(`stale: ${file}; run \`npm run config:schema\` and commit the result`);
      return 1;
    }
    writeFileSync(CONFIG_SCHEMA_FILE, text);
    console.log(`wrote ${file}`);
    return 0;
  });
}
