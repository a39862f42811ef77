import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { synthScope } from "../stack-traces";
import { loadConfig, scriptsDir, type EtlConfig } from "../../../core/config";
import { GlueCatalog } from "../../../stacks/constructs/glue-catalog";
import type { PolicyStatement } from "../../../stacks/iam-policy";
import { SecureBucket } from "../../../stacks/constructs/secure-bucket";
import { variant } from "../synth";

const CATALOG = "arn:aws:glue:us-east-1:123456789012:catalog";

function synth(config: EtlConfig, grant?: (catalog: GlueCatalog) => void) {
  return JSON.parse(
    synthScope((scope) => {
      const catalog = new GlueCatalog(scope, "catalog", { config, dataLake: new SecureBucket(scope, "lake", { bucketPrefix: "lake-" }), catalogArn: CATALOG });
      grant?.(catalog);
    }),
  );
}

describe("GlueCatalog", () => {
  const config = loadConfig();

  it("has one database, a string-typed CSV table per raw dataset and a Parquet table per job with a catalog schema", () => {
    const out = synth(config);
    expect(Object.values<any>(out.resource.aws_glue_catalog_database)[0].name).to.equal(config.glue.databaseName);
    const tables = Object.values<any>(out.resource.aws_glue_catalog_table);
    const raw = tables.filter((t) => t.parameters.classification === "csv");
    expect(raw.map((t) => t.name).sort()).to.deep.equal(Object.keys(config.datasets).map((d) => `raw_${d}`).sort());
    for (const t of raw) expect(new Set(t.storage_descriptor.columns.map((c: any) => c.type))).to.deep.equal(new Set(["string"]));
    const outputs = tables.filter((t) => t.parameters.classification === "parquet");
    expect(outputs).to.have.length(Object.values(config.jobs).filter((j) => j.catalogSchema).length);
  });

  it("grantRead names the catalog, the database and every table, with read actions only", () => {
    const granted: PolicyStatement[] = [];
    const out = synth(config, (c) => c.grantRead({ addToRolePolicy: (_, s) => granted.push(...s) }));
    expect(granted).to.have.length(1);
    expect(granted[0].Action.every((a) => /^glue:Get/.test(a))).to.equal(true);
    expect(granted[0].Resource[0]).to.equal(CATALOG);
    expect(granted[0].Resource).to.have.length(2 + Object.keys(out.resource.aws_glue_catalog_table).length);
  });

  it("rejects two tables of one name (a catalog schema named like a raw table), naming them", () => {
    const scripts = mkdtempSync(join(tmpdir(), "etl-catalog-"));
    try {
      cpSync(scriptsDir(config), scripts, { recursive: true });
      const [dataset] = Object.keys(config.datasets);
      writeFileSync(join(scripts, "schemas", `raw_${dataset}.json`), JSON.stringify({ columns: [{ name: "a", type: "string" }] }));
      const clash = variant((raw) => {
        raw.scriptsDir = scripts;
        const [job] = Object.keys(raw.jobs);
        raw.jobs[job].catalogSchema = `raw_${dataset}.json`;
      });
      expect(() => synth(clash)).to.throw(new RegExp(`two tables would be named 'raw_${dataset}'`));
    } finally {
      rmSync(scripts, { recursive: true, force: true });
    }
  });
});
