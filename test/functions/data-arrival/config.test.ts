import { expect } from "chai";
import { arrivalConfigFromEnv, datasetOfKey } from "../../../functions/data-arrival/config";
import { arrivalEnvironment } from "../../../core/arrival-environment";
import { ARRIVAL_ENV, CONFIG } from "./harness";

describe("data-arrival config", () => {
  it("reads every variable", () => {
    expect(arrivalConfigFromEnv(ARRIVAL_ENV)).to.deep.equal(CONFIG);
  });

  it("reads back what arrivalEnvironment writes (the environment the stacks and the local runtime set)", () => {
    const env = arrivalEnvironment({ ...CONFIG, logLevel: "INFO" });
    expect(arrivalConfigFromEnv(env)).to.deep.equal(CONFIG);
    expect(env).to.include({ POWERTOOLS_SERVICE_NAME: "data-arrival", POWERTOOLS_LOG_LEVEL: "INFO" });
  });

  for (const name of Object.keys(ARRIVAL_ENV)) {
    it(`names ${name} when it is missing`, () => {
      const env: Record<string, string> = { ...ARRIVAL_ENV };
      delete env[name];
      expect(() => arrivalConfigFromEnv(env)).to.throw(new RegExp(`${name}: required`));
    });
  }

  it("names DATASETS when it is not JSON or misses a field", () => {
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: "{sales" })).to.throw(/DATASETS: not JSON/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: '{"sales":{"prefix":"raw/sales/"}}' })).to.throw(/DATASETS\.sales\.activityArn/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: "{}" })).to.throw(/DATASETS: at least one dataset/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, ARRIVAL_TTL_DAYS: "-1" })).to.throw(/ARRIVAL_TTL_DAYS/);
  });

  it("maps a key to the dataset with the longest matching prefix", () => {
    const datasets = { ...CONFIG.datasets, sales_eu: { prefix: "raw/sales/eu/", activityArn: "arn:aws:states:us-east-1:1:activity:x" } };
    expect(datasetOfKey(datasets, "raw/sales/2026.csv")).to.equal("sales");
    expect(datasetOfKey(datasets, "raw/sales/eu/2026.csv")).to.equal("sales_eu");
    expect(datasetOfKey(datasets, "raw/salesman.csv")).to.equal(undefined);
  });
});
