// Staged objects of runs that never publish (failed or stopped Athena and EMR Serverless runs) expire: a lifecycle
// rule on the data lake's staging prefix, from the configuration.
import { expect } from "chai";
import { ConfigError } from "../../core/config";
import { resources, synthConfig, synthFile, variant, type TfJson } from "./synth";

/** The rules of the data-lake bucket's lifecycle configuration. */
function dataLakeRules(glue: TfJson): any[] {
  const lifecycle = Object.values(resources(glue, "aws_s3_bucket_lifecycle_configuration")).find((l) => l.bucket.includes("data-lake"));
  expect(lifecycle, "data-lake lifecycle configuration").to.not.equal(undefined);
  return lifecycle.rule;
}

describe("glue stack: staging lifecycle", () => {
  it("expires staged objects after dataLake.stagingExpirationDays (default 7), replaced ones after a day, and aborts stale uploads there", () => {
    const { config, glue } = synthFile();
    const rule = dataLakeRules(glue).find((r) => r.id === "expire-staging");
    expect(rule).to.deep.include({
      status: "Enabled",
      filter: [{ prefix: config.dataLake.stagingPrefix }],
      expiration: [{ days: config.dataLake.stagingExpirationDays }],
      noncurrent_version_expiration: [{ noncurrent_days: 1 }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
    });
    const raw = variant((c) => delete c.dataLake.stagingExpirationDays);
    expect(raw.dataLake.stagingExpirationDays, "default").to.equal(7);
  });

  it("follows a configured prefix and number of days, and touches no other prefix", () => {
    const config = variant((c) => Object.assign(c.dataLake, { stagingPrefix: "tmp/runs/", stagingExpirationDays: 21 }));
    const rules = dataLakeRules(synthConfig(config).glue);
    const staging = rules.filter((r) => r.id === "expire-staging");
    expect(staging).to.have.length(1);
    expect(staging[0].filter).to.deep.equal([{ prefix: "tmp/runs/" }]);
    expect(staging[0].expiration).to.deep.equal([{ days: 21 }]);
    // Only the staging rule expires current objects by age: raw, processed and curated data never expire.
    expect(rules.filter((r) => r.expiration?.some((e: any) => e.days !== undefined)).map((r) => r.id)).to.deep.equal(["expire-staging"]);
  });

  it("refuses fewer days than a run may last, naming the field", () => {
    expect(() => variant((c) => (c.dataLake.stagingExpirationDays = 2))).to.throw(ConfigError, /dataLake\.stagingExpirationDays.*at least 3/);
    expect(() => variant((c) => (c.dataLake.stagingExpirationDays = 7.5))).to.throw(ConfigError, /dataLake\.stagingExpirationDays/);
  });
});
