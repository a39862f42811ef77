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

  it("starts nothing after a failure, and rejects with the lowest index that failed once the calls in flight settled", async () => {
    const started: number[] = [];
    let inFlight = 0;
    const error = await mapConcurrent(Array.from({ length: 100 }, (_, i) => i), 4, async (n) => {
      started.push(n);
      inFlight++;
      // 3 fails late, 6 fails at once: 6 is the first failure in time.
      await new Promise((resolve) => setTimeout(resolve, n === 3 ? 30 : 1));
      inFlight--;
      if (n === 3 || n === 6) throw new Error(`item ${n}`);
      return n;
    }).catch((e: Error) => e);
    expect((error as Error).message).to.equal("item 3");
    expect(inFlight).to.equal(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Math.max(...started)).to.be.below(6 + 4);
  });

  it("handles an empty list", async () => {
    expect(await mapConcurrent([], 4, async () => 1)).to.deep.equal([]);
  });
});
