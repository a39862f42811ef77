// core/build-inputs.ts: the record of what a cached build read is refused when an input changed during the build.
import { expect } from "chai";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHANGE_TIME_SLACK_MS, fingerprintFiles, inputsUnchanged, recordInputs, startBuild } from "../../core/build-inputs";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("core/build-inputs", () => {
  let root: string;
  let inputs: string[];
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "etl-build-inputs-"));
    writeFileSync(join(root, "package-lock.json"), "{}");
    inputs = ["a.ts", "b.ts"].map((name) => join(root, name));
    for (const file of inputs) writeFileSync(file, `export const x = "${file}";\n`);
    await pause(CHANGE_TIME_SLACK_MS + 10); // written well before the builds below start
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("records the inputs of a build none of whose inputs changed during it, as fingerprintFiles sees them after", () => {
    const start = startBuild(root);
    const recorded = recordInputs(inputs, root, start)!;
    expect(recorded).to.deep.equal({ inputs, inputsFingerprint: fingerprintFiles(inputs), lockfileHash: start.lockfileHash });
    expect(inputsUnchanged(recorded, root)).to.equal(true);
  });

  it("takes a missing lockfile as missing (a checkout without one still builds), and rebuilds once one appears", () => {
    rmSync(join(root, "package-lock.json"));
    const start = startBuild(root);
    expect(start.lockfileHash).to.equal("<missing>");
    const recorded = recordInputs(inputs, root, start)!;
    expect(inputsUnchanged(recorded, root)).to.equal(true);
    writeFileSync(join(root, "package-lock.json"), "{}");
    expect(inputsUnchanged(recorded, root), "a lockfile appeared").to.equal(false);
  });

  it("refuses the record when an input was edited, deleted or re-dated into the past during the build, or the lockfile changed", async () => {
    const cases: Array<[string, () => void]> = [
      ["edited", () => writeFileSync(inputs[1], "export const x = 2;\n")],
      ["deleted", () => rmSync(inputs[0])],
      // A copy that keeps the old modification time (cp -p, tar): the change time still tells.
      ["re-dated", () => (writeFileSync(inputs[1], "export const x = 3;\n"), utimesSync(inputs[1], new Date(2020, 0, 1), new Date(2020, 0, 1)))],
      ["lockfile", () => writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}')],
    ];
    for (const [what, change] of cases) {
      const start = startBuild(root);
      expect(recordInputs(inputs, root, start), `${what}: unchanged so far`).to.not.equal(undefined);
      change();
      expect(recordInputs(inputs, root, start), what).to.equal(undefined);
      for (const file of inputs) writeFileSync(file, `export const x = "${file}";\n`);
      writeFileSync(join(root, "package-lock.json"), "{}");
      await pause(CHANGE_TIME_SLACK_MS + 10);
    }
  });
});
