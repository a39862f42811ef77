// The data-quality gate's rule, pinned by the table every engine's tests read (test/fixtures/quality-gates.json);
// the limits come from the configuration and reach the job as --etl_quality.
import { expect } from "chai";
import { loadConfig } from "../../core/config";
import { jobArguments } from "../../core/job-arguments";
import { checkQuality, DataQualityError, enforceQuality, isDataQualityMessage, jobQualityLimits, parseQualityLimits } from "../../core/quality";
import { QUALITY_CASES } from "../quality-cases";
import { activeRawConfig, parseVariant } from "../support/workflow";

describe("core/quality", () => {
  it("the shared table covers passing and failing cases", () => {
    expect(QUALITY_CASES.filter((c) => c.error === null).length).to.be.greaterThan(2);
    expect(QUALITY_CASES.filter((c) => c.error !== null).length).to.be.greaterThan(4);
  });

  for (const c of QUALITY_CASES)
    it(`checkQuality: ${c.name}`, () => {
      expect(checkQuality(c.counts, c.limits) ?? null).to.equal(c.error);
      const thrown = (() => {
        try {
          enforceQuality(c.counts, c.limits);
          return undefined;
        } catch (e) {
          return e as DataQualityError;
        }
      })();
      if (c.error === null) expect(thrown).to.equal(undefined);
      else {
        expect(thrown).to.be.instanceOf(DataQualityError);
        expect(thrown!.message).to.equal(`DataQualityError: ${c.error}`);
        expect(thrown!.counts).to.deep.equal(c.counts);
      }
    });

  it("recognizes a data-quality failure in a run's error message, also behind Glue's own prefix", () => {
    expect(isDataQualityMessage("DataQualityError: output: 0 rows written")).to.equal(true);
    expect(isDataQualityMessage("Error Category: UNCLASSIFIED_ERROR; DataQualityError: output: 0 rows written")).to.equal(true);
    expect(isDataQualityMessage("AnalysisException: Path does not exist")).to.equal(false);
    expect(isDataQualityMessage("NotADataQualityError: x")).to.equal(false);
    expect(isDataQualityMessage(undefined)).to.equal(false);
  });

  describe("limits from the configuration", () => {
    const base = activeRawConfig();
    const config = loadConfig();
    const jobIds = Object.keys(config.jobs);
    const csvJob = jobIds.find((id) => config.jobs[id].inputs.some((i) => i.dataset !== undefined))!;
    const csvInput = config.jobs[csvJob].inputs.find((i) => i.dataset !== undefined)!;

    it("applies the safe defaults to every job: no input may lose every row, the output may not be empty", () => {
      for (const id of jobIds) {
        const limits = jobQualityLimits(config, id);
        expect(limits.minOutputRows, id).to.equal(1);
        expect(limits.notNull, id).to.deep.equal([]);
        expect(Object.keys(limits.inputs), id).to.deep.equal(config.jobs[id].inputs.map((i) => i.name));
        expect(Object.values(limits.inputs).every((l) => l.maxDroppedFraction === null), id).to.equal(true);
        // The job gets them as --etl_quality, which both engines parse back to the same limits.
        expect(parseQualityLimits(jobArguments(config, id, "bucket")["--etl_quality"])).to.deep.equal(limits);
      }
    });

    it("takes a dataset's limit for its inputs, and a job's limits over its datasets'", () => {
      const withDataset = structuredClone(base);
      withDataset.datasets[csvInput.dataset!].quality = { maxDroppedFraction: 0.1 };
      expect(jobQualityLimits(parseVariant(withDataset), csvJob).inputs[csvInput.name]).to.deep.equal({ maxDroppedFraction: 0.1 });
      const withJob = structuredClone(withDataset);
      withJob.jobs[csvJob].quality = { maxDroppedFraction: 1, minOutputRows: 0, notNull: ["date"] };
      expect(jobQualityLimits(parseVariant(withJob), csvJob)).to.deep.equal({
        inputs: Object.fromEntries(config.jobs[csvJob].inputs.map((i) => [i.name, { maxDroppedFraction: 1 }])),
        minOutputRows: 0,
        notNull: ["date"],
      });
    });

    it("rejects bad limits in the configuration, naming the field", () => {
      const bad = structuredClone(base);
      bad.jobs[csvJob].quality = { maxDroppedFraction: 1.5, minOutputRows: -1 };
      bad.datasets[csvInput.dataset!].quality = { maxDropped: 0.1 };
      const message = (() => {
        try {
          parseVariant(bad);
          return "";
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(message).to.contain(`jobs.${csvJob}.quality.maxDroppedFraction`).and.contain(`jobs.${csvJob}.quality.minOutputRows`).and.contain(`datasets.${csvInput.dataset}.quality`);
    });

    it("rejects a bad --etl_quality, naming the field", () => {
      expect(() => parseQualityLimits("{")).to.throw(/--etl_quality: invalid JSON/);
      expect(() => parseQualityLimits('{"inputs":{"orders":{"maxDroppedFraction":2}}}')).to.throw(/inputs\.orders\.maxDroppedFraction/);
      expect(() => parseQualityLimits('{"minOutputRows":-1}')).to.throw(/minOutputRows/);
      expect(() => parseQualityLimits('{"notNull":"date"}')).to.throw(/notNull/);
      expect(parseQualityLimits(undefined)).to.deep.equal({ inputs: {}, minOutputRows: 1, notNull: [] });
    });
  });
});
