import { expect } from "chai";
import { passedTests } from "../../../bench/sections/test-loop";

describe("bench/sections/test-loop", () => {
  it("reads the passed count of the reporter's closing line, the last one when a run prints several", () => {
    expect(passedTests("  ✔ a\n\n12 passed, 0 failed\n", "npm test")).to.equal(12);
    expect(passedTests("3 passed, 0 failed\nthen\n1228 passed, 0 failed\n", "npm test")).to.equal(1228);
  });

  it("refuses a run that failed, skipped or ran no test, or printed no closing line, naming the command", () => {
    expect(() => passedTests("1227 passed, 1 failed\n", "npm test")).to.throw("npm test: 1 test(s) failed");
    expect(() => passedTests("10 passed, 0 failed, 2 skipped\n", "npm run test:unit")).to.throw("npm run test:unit: 2 test(s) skipped");
    expect(() => passedTests("0 passed, 0 failed\n", "npm test")).to.throw("npm test: ran no test");
    expect(() => passedTests("Error: cannot find module\n", "npm test")).to.throw(/npm test: no "N passed, N failed" line.*cannot find module/);
    // A line that only contains the pattern is not the reporter's.
    expect(() => passedTests("note: 5 passed, 0 failed earlier\n", "npm test")).to.throw("no \"N passed, N failed\" line");
  });
});
