// The local Athena dialect covers what the shipped example and the three-datasets fixture use, and nothing more:
// each covered function appears in some statement generated for them. (Coverage of the active configuration's
// statements is checked in test/local/athena-dialect.test.ts.)
import { join } from "node:path";
import { expect } from "chai";
import { athenaCountsQuery, athenaQuery } from "../../core/athena-query";
import { jobQualityLimits } from "../../core/quality";
import { outputTableName } from "../../core/catalog";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT, loadConfig, type EtlConfig } from "../../core/config";
import { ATHENA_FUNCTIONS, functionNames, parseUnload } from "../../local/athena-dialect";

const CONFIG_FILES = [DEFAULT_CONFIG_FILE, join(PROJECT_ROOT, "test/fixtures/three-datasets/etl.config.json")];
/** Every job that can run on Athena, as it would: its statement and its counts statement. */
function athenaStatements(config: EtlConfig): string[] {
  return Object.keys(config.jobs)
    .filter((id) => config.jobs[id].inputs.every((i) => i.job === undefined || outputTableName(config, i.job) !== undefined))
    .flatMap((id) => [athenaQuery(config, id), athenaCountsQuery(config, id, { ...jobQualityLimits(config, id), notNull: ["c"] })]);
}
const seen = () => new Set(CONFIG_FILES.flatMap((f) => athenaStatements(loadConfig(f))).flatMap((s) => functionNames(parseUnload(s).query)));

describe("example: the local Athena dialect and the shipped statements", () => {
  it("sees what the generator writes around each job's SQL in the shipped example's statements", () => {
    const functions = seen();
    for (const generated of ["regexp_like", "date_parse", "try", "try_cast", "cast", "nullif", "upper", "coalesce", "substr", "length", "replace", "count", "count_if"]) expect(functions).to.include(generated);
  });

  it("covers nothing the project does not use: each covered function appears in some generated statement", () => {
    const functions = seen();
    expect(Object.keys(ATHENA_FUNCTIONS).filter((n) => !functions.has(n))).to.deep.equal([]);
  });
});
