import { expect } from "chai";
import { jsonVar, parseEnv, positiveIntVar, stringVar } from "../../../functions/shared/env";
import * as z from "../../../functions/shared/zod";

describe("parseEnv", () => {
  const schema = z.object({ NAME: stringVar, COUNT: positiveIntVar, MAP: jsonVar(z.record(z.string(), z.number())) });

  it("parses and converts the variables", () => {
    expect(parseEnv(schema, { NAME: "n", COUNT: "12", MAP: '{"a":1}' })).to.deep.equal({ NAME: "n", COUNT: 12, MAP: { a: 1 } });
  });

  it("names every missing or bad variable", () => {
    expect(() => parseEnv(schema, { COUNT: "1.5", MAP: '{"a":"x"}' })).to.throw(/NAME: required.*COUNT: a positive integer.*MAP\.a/);
    expect(() => parseEnv(schema, { NAME: "", COUNT: "0", MAP: "nope" })).to.throw(/NAME: required.*COUNT: a positive integer.*MAP: not JSON/);
  });
});
