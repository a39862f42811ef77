import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig, schemaPath } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import { checkCsvHeaders, InputError } from "../../local/inputs";

describe("local/inputs: the CSV inputs of npm start, checked before the run", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "local-inputs-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("refuses a file whose name starts with '_' or '.' (Spark would read it as no rows), naming the file and the dataset; the same file renamed is read", async () => {
    const config = loadConfig();
    const [dataset, { schema }] = Object.entries(config.datasets)[0];
    const header = readSchemaFile(schemaPath(config, schema)).columns.map((c) => c.source).join(",");
    for (const name of ["_data.csv", ".data.csv", "data.csv"]) {
      const file = join(dir, name);
      await writeFile(file, `${header}\n`);
      const outcome = await checkCsvHeaders(config, { [dataset]: file }).then((found) => found, (e: Error) => e);
      if (name === "data.csv") expect(outcome).to.deep.equal({ [dataset]: [file] });
      else {
        expect(outcome, name).to.be.instanceOf(InputError);
        expect((outcome as Error).message).to.equal(`${file}: the file's name starts with '_' or '.', which Spark and Hadoop skip as hidden (read as no rows); rename it (the ${dataset} dataset)`);
      }
    }
  });
});
