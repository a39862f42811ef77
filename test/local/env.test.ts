import { expect } from "chai";
import { saveEnv, withEnv } from "../../local/env";

const A = "ETL_TEST_ENV_A";
const B = "ETL_TEST_ENV_B";

describe("local/env", () => {
  afterEach(() => {
    delete process.env[A];
    delete process.env[B];
  });

  it("withEnv sets and deletes keys for a synchronous call, then restores them (absent keys deleted again)", () => {
    process.env[B] = "before";
    const seen = withEnv({ [A]: "a", [B]: undefined }, () => [process.env[A], B in process.env]);
    expect(seen).to.deep.equal(["a", false]);
    expect(A in process.env).to.equal(false);
    expect(process.env[B]).to.equal("before");
  });

  it("withEnv restores after an async call settles, and after a throw or a rejection", async () => {
    let during: string | undefined;
    await withEnv({ [A]: "a" }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      during = process.env[A];
    });
    expect(during).to.equal("a");
    expect(A in process.env).to.equal(false);
    expect(() => withEnv({ [A]: "a" }, () => { throw new Error("boom"); })).to.throw("boom");
    expect(A in process.env).to.equal(false);
    let rejected: unknown;
    await withEnv({ [A]: "a" }, () => Promise.reject(new Error("no"))).catch((e) => (rejected = e));
    expect((rejected as Error).message).to.equal("no");
    expect(A in process.env).to.equal(false);
  });

  it("saveEnv restores the saved keys later", () => {
    process.env[A] = "kept";
    const restore = saveEnv([A, B]);
    process.env[A] = "changed";
    process.env[B] = "added";
    restore();
    expect(process.env[A]).to.equal("kept");
    expect(B in process.env).to.equal(false);
  });
});
