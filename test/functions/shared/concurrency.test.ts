import { expect } from "chai";
import { mapConcurrent } from "../../../functions/shared/concurrency";

describe("mapConcurrent", () => {
  it("keeps at most `limit` calls in flight and the results in order", async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapConcurrent([5, 1, 4, 2, 3, 0], 3, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n * 2));
      inFlight--;
      return n * 10;
    });
    expect(results).to.deep.equal([50, 10, 40, 20, 30, 0]);
    expect(peak).to.equal(3);
  });

  it("handles an empty list", async () => {
    expect(await mapConcurrent([], 4, async () => 1)).to.deep.equal([]);
  });
});
