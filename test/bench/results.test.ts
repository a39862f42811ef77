import { expect } from "chai";
import { renderTable, statusText, verdict, type Figure } from "../../bench/results";
import { describeMachine } from "../../bench/machine";

const figure = (median: number, target?: Figure["target"]): Figure => ({ name: "f", unit: "ms", median, samples: [median], command: "c", target });

describe("bench/results", () => {
  it("an at-most target is met at or below it and missed above it, by the difference", () => {
    expect(verdict(figure(50, { atMost: 50 }))).to.deep.equal({ status: "met", by: 0 });
    expect(verdict(figure(60, { atMost: 50 }))).to.deep.equal({ status: "missed", by: 10 });
    expect(statusText(figure(60, { atMost: 50 }))).to.equal("MISSED by 10.0 ms (20%)");
  });

  it("an at-least target is missed below it", () => {
    expect(verdict(figure(900, { atLeast: 1000 }))).to.deep.equal({ status: "missed", by: 100 });
    expect(verdict(figure(1000, { atLeast: 1000 }))?.status).to.equal("met");
  });

  it("a figure without a target has no verdict", () => {
    expect(verdict(figure(1))).to.equal(undefined);
    expect(statusText(figure(1))).to.equal("");
  });

  it("renders only the selected sections, one row per figure", () => {
    const machine = describeMachine();
    const section = (name: string) => ({ title: "t", measuredAt: "", machine, command: "c", figures: [{ ...figure(1234.5, { atMost: 2000 }), name }] });
    const table = renderTable({ updatedAt: "", sections: { a: section("first"), b: section("second") } }, ["b"]);
    const lines = table.split("\n");
    expect(lines).to.have.length(3);
    expect(lines[2]).to.match(/^\| b +\| second +\| 1,235 +\| ms +\| 1 +\| ≤ 2,000 ms \| met +\|$/);
  });
});
