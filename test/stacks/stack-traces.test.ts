// The stacks tests' cheap stack traces (test/stacks/stack-traces.ts) and their escape hatch, ETL_TEST_STACK_TRACES=1.
import { Lazy, TerraformOutput } from "cdktf";
import { expect } from "chai";
import { synthScope } from "./stack-traces";

describe("test/stacks/stack-traces", () => {
  /** The error synthesizing a stack whose output's token fails to resolve (cdktf's message names where it was made),
   * with ETL_TEST_STACK_TRACES as given. */
  const badToken = (hatch: string | undefined) => {
    const before = process.env.ETL_TEST_STACK_TRACES;
    if (hatch === undefined) delete process.env.ETL_TEST_STACK_TRACES;
    else process.env.ETL_TEST_STACK_TRACES = hatch;
    try {
      synthScope((scope) => new TerraformOutput(scope, "out", { value: Lazy.stringValue({ produce: () => { throw new Error("bad token"); } }) }));
    } catch (e) {
      return e as Error;
    } finally {
      if (before === undefined) delete process.env.ETL_TEST_STACK_TRACES;
      else process.env.ETL_TEST_STACK_TRACES = before;
    }
    throw new Error("the bad token resolved");
  };

  it("leaves out the token's creation stack, the error's own stack kept; with ETL_TEST_STACK_TRACES=1, runs the build as is", () => {
    const cheap = badToken(undefined);
    expect(cheap.message).to.equal("Resolution error: bad token.");
    expect(cheap.stack, "the error's stack, mapped").to.include("stack-traces.test.ts:14:");
    const full = badToken("1").message;
    expect(full).to.match(/^Resolution error: bad token\.\nObject creation stack:\n {2}at /);
    expect(full, "where the token was made, mapped").to.include("stack-traces.test.ts:14:");
  });
});
