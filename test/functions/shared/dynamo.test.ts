import { expect } from "chai";
import { allPages, conditionalWrite, expiresAt } from "../../../functions/shared/dynamo";
import { awsError } from "../fakes";

describe("shared dynamo helpers", () => {
  it("expiresAt: ttlDays after now, in epoch seconds", () => {
    expect(expiresAt(new Date("2026-11-23T12:00:00.999Z"), 2)).to.equal(Date.parse("2026-11-25T12:00:00Z") / 1000);
  });

  it("conditionalWrite: true when written, false on a failed condition, other errors thrown", async () => {
    expect(await conditionalWrite(async () => ({}))).to.equal(true);
    expect(await conditionalWrite(() => Promise.reject(awsError("ConditionalCheckFailedException")))).to.equal(false);
    let thrown: unknown;
    await conditionalWrite(() => Promise.reject(awsError("InternalServerError", "down", 500))).catch((e) => (thrown = e));
    expect((thrown as Error).name).to.equal("InternalServerError");
  });

  it("allPages: follows LastEvaluatedKey until the last page", async () => {
    const keys: unknown[] = [];
    const pages = [
      { Items: [{ n: { N: "1" } }], LastEvaluatedKey: { k: { S: "a" } } },
      { Items: [], LastEvaluatedKey: { k: { S: "b" } } },
      { Items: [{ n: { N: "2" } }] },
    ];
    const items = await allPages(async (startKey) => (keys.push(startKey), pages[keys.length - 1]));
    expect(items).to.deep.equal([{ n: { N: "1" } }, { n: { N: "2" } }]);
    expect(keys).to.deep.equal([undefined, { k: { S: "a" } }, { k: { S: "b" } }]);
  });
});
