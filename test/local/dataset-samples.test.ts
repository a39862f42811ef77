// Sample data for any dataset (local/dataset-samples.ts): derived from the schema file, read by the local engine
// without a dropped row; the shipped example's datasets keep their realistic generators.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, loadConfig, PROJECT_ROOT, scriptsDir } from "../../core/config";
import { readSchemaFile, type SchemaFile } from "../../core/schema-file";
import { readCsvHeader } from "../../local/csv";
import { sampleGeneratorFor, schemaChunks, writeDatasetSamples } from "../../local/dataset-samples";
import { runTransformation } from "../../local/etl-engine";
import { FIXTURE_CONFIG } from "../stacks/synth";

const UNPADDED_DATE = /^([1-9]|1[0-2])\/([1-9]|[12]\d|3[01])\/\d{4}$/;
const epochDay = (date: string) => {
  const [m, d, y] = date.split("/").map(Number);
  return Date.UTC(y, m - 1, d) / 86_400_000;
};

/** Every type, and headers that need their exact spelling kept: a trailing space, a comma, a quote. */
const ODD_SCHEMA: SchemaFile = {
  format: "csv",
  columns: [
    { source: "Day", name: "day", type: "date" },
    { source: "Shipped On", name: "shipped_on", type: "date" },
    { source: "Country, ISO", name: "country_iso", type: "string" },
    { source: 'Say "hi" ', name: "say_hi", type: "string" },
    { source: "Units", name: "units", type: "bigint" },
    { source: "Price", name: "price", type: "double" },
    { source: "Returned", name: "returned", type: "boolean" },
  ],
};

const text = (schema: SchemaFile, options: Parameters<typeof schemaChunks>[1] = {}) => [...schemaChunks(schema, options)].join("");

describe("local/dataset-samples", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "etl-dataset-samples-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe("schemaChunks (rows derived from a schema file)", () => {
    it("writes the headers in their exact spelling, quoted where CSV needs it", async () => {
      const file = join(dir, "odd.csv");
      await writeFile(file, text(ODD_SCHEMA, { days: 3 }));
      expect(await readCsvHeader(file)).to.deep.equal(ODD_SCHEMA.columns.map((c) => c.source));
    });

    it("writes unpadded M/D/YYYY dates day by day (later date columns after the first), and values of each type", () => {
      const lines = text(ODD_SCHEMA, { days: 400 }).trimEnd().split("\n").slice(1);
      expect(lines.length).to.be.within(400, 1200);
      let previous = -Infinity;
      const seen = { countries: new Set<string>(), booleans: new Set<string>() };
      for (const line of lines) {
        // No generated value holds a comma or a quote here, only the quoted labels of the text columns.
        const fields = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, "")).slice(0, 7);
        const [day, shipped, country, , units, price, returned] = fields;
        expect(day).to.match(UNPADDED_DATE);
        expect(shipped).to.match(UNPADDED_DATE);
        expect(epochDay(day)).to.be.at.least(previous);
        expect(epochDay(shipped)).to.be.at.least(epochDay(day));
        previous = epochDay(day);
        expect(country).to.match(/^"Country, ISO \d+"$/);
        expect(units).to.match(/^\d+$/);
        expect(price).to.match(/^\d+\.\d{2}$/);
        expect(returned).to.be.oneOf(["TRUE", "FALSE"]);
        seen.countries.add(country);
        seen.booleans.add(returned);
      }
      expect(seen.countries.size, "a few categories").to.be.within(2, 12);
      expect(seen.booleans.size).to.equal(2);
    });

    it("is deterministic: the same seed and name give the same bytes; another seed or dataset name other values", () => {
      const a = text(ODD_SCHEMA, { seed: 7, name: "web", days: 50 });
      expect(text(ODD_SCHEMA, { seed: 7, name: "web", days: 50 })).to.equal(a);
      expect(text(ODD_SCHEMA, { seed: 8, name: "web", days: 50 })).to.not.equal(a);
      expect(text(ODD_SCHEMA, { seed: 7, name: "shop", days: 50 })).to.not.equal(a);
    });

    it("writes one row per day for a schema without text columns", () => {
      const numbers: SchemaFile = { columns: [{ source: "Date", name: "date", type: "date" }, { source: "Visits", name: "visits", type: "bigint" }] };
      expect(text(numbers, { days: 30 }).trimEnd().split("\n")).to.have.length(31);
    });
  });

  // The configuration-driven part: whatever the datasets are, their samples pass the CLI's header check and the
  // local engine's typed reader without a dropped row.
  for (const [label, file] of [
    ["the active configuration", process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE],
    ["the three-datasets fixture", FIXTURE_CONFIG],
  ] as const) {
    it(`gives every dataset of ${label} a file the local engine reads with no dropped row`, async () => {
      const config = loadConfig(file, file === FIXTURE_CONFIG ? undefined : process.env.ETL_ENV || undefined);
      const files = await writeDatasetSamples(config, join(dir, basename(file) + "-" + Object.keys(config.datasets).length), undefined, { salesRows: 500 });
      expect(Object.keys(files)).to.deep.equal(Object.keys(config.datasets));
      const sql = join(dir, "select-all.sql");
      for (const [dataset, path] of Object.entries(files)) {
        await writeFile(sql, `SELECT * FROM ${dataset}`);
        const result = await runTransformation({
          inputs: [{ name: dataset, path, format: "csv", schema: config.datasets[dataset].schema }],
          sqlFile: sql,
          outputDir: join(dir, "engine-out", dataset),
          scriptsDir: scriptsDir(config),
        });
        expect(result.droppedRows, dataset).to.deep.equal({ [dataset]: 0 });
        expect(result.rowsWritten, dataset).to.be.greaterThan(100);
      }
    });
  }

  it("writes only the datasets asked for, and names an unknown one", async () => {
    const config = loadConfig(FIXTURE_CONFIG);
    const last = Object.keys(config.datasets).at(-1)!;
    const files = await writeDatasetSamples(config, join(dir, "one"), [last]);
    expect(Object.keys(files)).to.deep.equal([last]);
    expect(basename(files[last])).to.equal(`${last}.csv`);
    const error = await writeDatasetSamples(config, join(dir, "none"), ["nope"]).catch((e: Error) => e);
    expect((error as Error).message).to.equal(`unknown dataset 'nope'; known: ${Object.keys(config.datasets).join(", ")}`);
  });

  it("derives a schema the realistic headers do not cover (the fixture's web) from its schema file", () => {
    const web = readSchemaFile(join(PROJECT_ROOT, "test", "fixtures", "three-datasets", "glue-scripts", "schemas", "web.json"));
    expect(sampleGeneratorFor(web)).to.equal("schema");
  });
});
