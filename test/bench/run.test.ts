import { expect } from "chai";
import { parseArgs } from "../../bench/run";

describe("bench/run", () => {
  it("runs every section, in order, without arguments", () => {
    expect((parseArgs([]) as { only: string[] }).only).to.deep.equal(["synth", "bundles", "overhead", "runner-scale", "etl", "end-to-end", "test-loop"]);
  });

  it("--only picks sections and keeps the run order", () => {
    expect(parseArgs(["--only", "etl,synth"])).to.deep.equal({ only: ["synth", "etl"] });
    expect(parseArgs(["--only=bundles"])).to.deep.equal({ only: ["bundles"] });
    expect(parseArgs(["--help"])).to.equal("help");
  });

  it("names an unknown section and an unknown argument", () => {
    expect(() => parseArgs(["--only", "synth,speed"])).to.throw("--only: unknown section speed; known: synth, bundles, overhead, runner-scale, etl, end-to-end, test-loop");
    expect(() => parseArgs(["--fast"])).to.throw("unknown option '--fast'");
    expect(() => parseArgs(["--only"])).to.throw("--only needs a value");
    expect(() => parseArgs(["--only="])).to.throw("--only needs a section");
  });
});
