// The shipped example's datasets (the two QuickSight shapes) keep their realistic sample generators (local/dataset-samples.ts;
// its generation from any schema is tested in test/local/dataset-samples.test.ts).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, loadConfig, schemaPath } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { sampleGeneratorFor, writeDatasetSamples } from "../../local/dataset-samples";
import { generateMarketing, generateSales } from "../../local/sample-data";

describe("example: sample data of the shipped datasets", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "dataset-samples-example-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // The shipped example's own datasets (the two QuickSight shapes) keep their realistic generators.
  describe("the shipped example", () => {
    it("keeps the realistic sales and marketing generators, byte for byte", async () => {
      const config = loadConfig(DEFAULT_CONFIG_FILE);
      expect(sampleGeneratorFor(readSchemaFile(schemaPath(config, config.datasets.sales.schema)))).to.equal("sales");
      expect(sampleGeneratorFor(readSchemaFile(schemaPath(config, config.datasets.marketing.schema)))).to.equal("marketing");
      const files = await writeDatasetSamples(config, join(dir, "shipped"));
      expect(await readFile(files.sales, "utf8")).to.equal(generateSales());
      expect(await readFile(files.marketing, "utf8")).to.equal(generateMarketing());
    });
  });
});
