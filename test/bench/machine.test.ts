import { expect } from "chai";
import { describeMachine, machineLine } from "../../bench/machine";

describe("bench/machine", () => {
  it("describes the machine with cpu, cores, memory, node and os", () => {
    const m = describeMachine();
    expect(m.cores).to.be.greaterThan(0);
    expect(m.memoryGiB).to.be.greaterThan(0);
    expect(m.node).to.equal(process.version);
    expect(machineLine(m)).to.contain(`${m.cores} cores`).and.contain(process.version);
  });
});
