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
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: "{orders" })).to.throw(/DATASETS: not JSON/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: '{"orders":{"prefix":"raw/orders/"}}' })).to.throw(/DATASETS\.orders\.activityArn/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, DATASETS: "{}" })).to.throw(/DATASETS: at least one dataset/);
    expect(() => arrivalConfigFromEnv({ ...ARRIVAL_ENV, ARRIVAL_TTL_DAYS: "-1" })).to.throw(/ARRIVAL_TTL_DAYS/);
  });

  it("maps a key to the dataset with the longest matching prefix", () => {
    const datasets = { ...CONFIG.datasets, orders_eu: { prefix: "raw/orders/eu/", activityArn: "arn:aws:states:us-east-1:1:activity:x" } };
    expect(datasetOfKey(datasets, "raw/orders/2026.csv")).to.equal("orders");
    expect(datasetOfKey(datasets, "raw/orders/eu/2026.csv")).to.equal("orders_eu");
    expect(datasetOfKey(datasets, "raw/ordersman.csv")).to.equal(undefined);
  });
});
