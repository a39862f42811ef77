import { expect } from "chai";
import { parseArgs } from "../../bench/run";

describe("bench/run", () => {
  it("runs every section, in order, without arguments", () => {
    expect(parseArgs([]).only).to.deep.equal(["synth", "bundles", "overhead", "runner-scale", "etl"]);
  });

  it("--only picks sections and keeps the run order", () => {
    expect(parseArgs(["--only", "etl,synth"]).only).to.deep.equal(["synth", "etl"]);
    expect(parseArgs(["--only=bundles"]).only).to.deep.equal(["bundles"]);
  });

  it("names an unknown section and an unknown argument", () => {
    expect(() => parseArgs(["--only", "synth,speed"])).to.throw("--only: unknown section speed; known: synth, bundles, overhead, runner-scale, etl");
    expect(() => parseArgs(["--fast"])).to.throw("unknown argument '--fast'");
    expect(() => parseArgs(["--only"])).to.throw("--only needs a section");
  });
});
