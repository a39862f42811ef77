// etl.config.schema.json: generated from the zod schema, fresh, referenced by the shipped configuration and the
// fixtures, and it accepts what the loader accepts and rejects what it rejects (checked with ajv, draft 2020-12).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { expect } from "chai";
import { CONFIG_SCHEMA_FILE, configSchemaText } from "../../core/config-schema";
import { DEFAULT_CONFIG_FILE, loadConfig, parseConfig, PROJECT_ROOT } from "../../core/config";
import { FIXTURE_CONFIG } from "../stacks/synth";

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
// Compiled once for the file (0.1-0.2 s of CPU each time): a compiled validator keeps no state between calls but
// `errors`, which each call sets.
let compiled: ValidateFunction | undefined;
const validator = () => {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  return (compiled = ajv.compile(readJson(CONFIG_SCHEMA_FILE)));
};

describe("core/config-schema (etl.config.schema.json)", () => {
  it("is fresh: regenerating it from the zod schema gives the committed file (npm run config:schema)", () => {
    expect(readFileSync(CONFIG_SCHEMA_FILE, "utf8"), "stale: run `npm run config:schema` and commit the result").to.equal(configSchemaText());
  });

  for (const file of [DEFAULT_CONFIG_FILE, FIXTURE_CONFIG]) {
    const name = file.slice(PROJECT_ROOT.length + 1);
    it(`${name} points $schema at it, validates against it and loads`, () => {
      const raw = readJson(file);
      expect(resolve(dirname(file), raw.$schema)).to.equal(CONFIG_SCHEMA_FILE);
      const validate = validator();
      expect(validate(raw), JSON.stringify(validate.errors)).to.equal(true);
      expect(loadConfig(file).project).to.equal(raw.project);
    });
  }

  it("rejects what the zod schema rejects: an unknown field, a bad value, a missing section, a bad override", () => {
    const validate = validator();
    const base = readJson(DEFAULT_CONFIG_FILE);
    const cases: Array<[string, (c: Record<string, any>) => void]> = [
      ["unknown field", (c) => (c.runner.memory = 1)],
      ["bad value", (c) => (c.glue.workerType = "G.16X")],
      ["missing section", (c) => delete c.schedules],
      ["below minimum", (c) => (c.runner.timeoutSeconds = 30)],
      ["bad override", (c) => (c.environments = { prod: { glue: { numberOfWorkers: 1 } } })],
      ["unknown override field", (c) => (c.environments = { prod: { glue: { workers: 4 } } })],
    ];
    for (const [what, change] of cases) {
      const raw = structuredClone(base);
      change(raw);
      expect(validate(raw), `${what} accepted by the JSON schema`).to.equal(false);
      expect(() => parseConfig(raw, { source: "x", environment: raw.environments ? "prod" : undefined }), `${what} accepted by zod`).to.throw();
    }
  });

  it("accepts a partial environment override (merged deeply, nothing required)", () => {
    const raw = { ...readJson(DEFAULT_CONFIG_FILE), environments: { prod: { runner: { memoryMb: 512 }, backend: { type: "s3", bucket: "tf-state-bucket" } } } };
    const validate = validator();
    expect(validate(raw), JSON.stringify(validate.errors)).to.equal(true);
    expect(parseConfig(raw, { environment: "prod" }).runner.memoryMb).to.equal(512);
  });

  it("the loader accepts a $schema key and rejects one that is not a string, naming it", () => {
    const raw = readJson(DEFAULT_CONFIG_FILE);
    expect(parseConfig({ ...raw, $schema: "https://example.com/s.json" }).project).to.equal(raw.project);
    expect(() => parseConfig({ ...raw, $schema: 1 }, { source: "etl.config.json" })).to.throw("etl.config.json: $schema: expected the path or URL");
  });

  it("describes every field the zod schema has, and the environments", () => {
    const schema = readJson(CONFIG_SCHEMA_FILE);
    expect(Object.keys(schema.properties)).to.include.members(["$schema", "environments", ...Object.keys(readJson(join(PROJECT_ROOT, "etl.config.json"))).filter((k) => k !== "$schema")]);
    expect(schema.required).to.include.members(["project", "environment", "region", "datasets", "jobs"]);
  });
});
