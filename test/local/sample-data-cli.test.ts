// `npm run sample-data`: every dataset of the active configuration, each in its schema's exact headers; the
// realistic generators for the datasets they cover, rows derived from the schema for the others; --help lists them.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { sampleGeneratorFor } from "../../local/dataset-samples";
import { parseSampleDataArgs, runSampleData } from "../../local/sample-data-cli";
import { DEFAULT_SALES_ROWS, DEFAULT_SEED } from "../../local/sample-data";
import { FIXTURE_CONFIG } from "../stacks/synth";
import { workflowShape } from "../support/workflow";

/** Runs the command with ETL_CONFIG set to `file` (undefined: the active configuration), capturing its output. */
async function sampleData(file: string | undefined, argv: string[]) {
  const saved = process.env.ETL_CONFIG;
  if (file) process.env.ETL_CONFIG = file;
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runSampleData(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    if (saved === undefined) delete process.env.ETL_CONFIG;
    else process.env.ETL_CONFIG = saved;
  }
}

const headerOf = (config: EtlConfig, dataset: string) =>
  readSchemaFile(schemaPath(config, config.datasets[dataset].schema)).columns.map((c) => c.source ?? c.name);

describe("npm run sample-data (local/sample-data-cli.ts)", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "sample-data-cli-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  it("defaults to every configured dataset; --dataset picks some; names an unknown dataset, flag or value", () => {
    const { config, datasets } = workflowShape();
    expect(parseSampleDataArgs(["--out", "/tmp/x"], config)).to.deep.equal({ out: "/tmp/x", datasets, salesRows: DEFAULT_SALES_ROWS, days: 1461, seed: DEFAULT_SEED });
    const last = datasets.at(-1)!;
    expect(parseSampleDataArgs(["--out", "d", "--dataset", last, "--dataset", last, "--days", "10"], config)).to.include({ days: 10 }).and.to.have.deep.property("datasets", [last]);
    expect(() => parseSampleDataArgs(["--out", "d", "--dataset", "nope"], config)).to.throw(`--dataset: unknown dataset nope; known: ${datasets.join(", ")}`);
    expect(() => parseSampleDataArgs([], config)).to.throw("--out DIR is required");
    expect(() => parseSampleDataArgs(["--out", "d", "--sales-rows", "ten"], config)).to.throw('--sales-rows: expected a non-negative integer, got "ten"');
    expect(() => parseSampleDataArgs(["--out", "d", "--rows", "1"], config)).to.throw("unknown option '--rows'");
    expect(parseSampleDataArgs(["--help"], config)).to.equal("help");
  });

  for (const [label, file] of [["the active configuration", undefined], ["the three-datasets fixture", FIXTURE_CONFIG]] as const) {
    it(`writes every dataset of ${label} in its schema's headers, and --help lists them`, async () => {
      const config = loadConfig(file);
      const out = join(dir, label.replace(/\W+/g, "-"));
      const result = await sampleData(file, ["--out", out, "--sales-rows", "500", "--days", "40", "--seed", "7"]);
      expect(result.code, result.err).to.equal(0);
      const lines = result.out.split("\n");
      expect(lines).to.have.length(Object.keys(config.datasets).length);
      for (const [i, dataset] of Object.keys(config.datasets).entries()) {
        const [, path, rows, kind] = /^[^:]+: (\S+) \((\d+) rows, (.+)\)$/.exec(lines[i]) ?? [];
        expect(lines[i], dataset).to.match(new RegExp(`^${dataset}: `));
        expect(path.startsWith(join(out, dataset))).to.equal(true);
        const csv = await readFile(path, "utf8");
        const [header, ...data] = csv.trimEnd().split("\n");
        // The realistic generators write their whole header (a superset of the schema's columns).
        const expected = headerOf(config, dataset);
        expect(header.split(","), dataset).to.include.members(expected);
        expect(data.length, dataset).to.equal(Number(rows)).and.be.greaterThan(0);
        const generator = sampleGeneratorFor(readSchemaFile(schemaPath(config, config.datasets[dataset].schema)));
        if (generator === "schema") {
          expect(header).to.equal(expected.map((h) => (/[",\n]/.test(h) ? `"${h.replace(/"/g, '""')}"` : h)).join(","));
          expect(kind).to.equal("derived from its schema");
        } else {
          expect(kind).to.equal(`QuickSight ${generator} shape`);
          if (generator === "sales") expect(data).to.have.length(500);
        }
      }
      const help = await sampleData(file, ["--help"]);
      expect(help.code).to.equal(0);
      expect(help.out).to.match(/^Usage: npm run sample-data --/);
      for (const dataset of Object.keys(config.datasets)) expect(help.out).to.match(new RegExp(`^  ${dataset} +upload prefix `, "m"));
    });
  }

  it("exits 2 naming the configuration it cannot read", async () => {
    const result = await sampleData(join(dir, "missing.json"), ["--out", dir]);
    expect(result.code).to.equal(2);
    expect(result.err).to.include("missing.json");
  });
});
