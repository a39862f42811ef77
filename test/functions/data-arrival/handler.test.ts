import { PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { handler } from "../../../functions/data-arrival/handler";
import { ARRIVAL_ENV, s3Record } from "./harness";
import { handlerTestSetup } from "../fakes";

describe("data-arrival handler", () => {
  const setup = handlerTestSetup();

  it("names the missing variable, then records an upload once the environment is complete", async () => {
    for (const name of Object.keys(ARRIVAL_ENV)) delete process.env[name];
    let thrown: unknown;
    await handler({ Records: [] }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/TABLE_NAME: required/).and.match(/DATASETS: required/);

    Object.assign(process.env, ARRIVAL_ENV);
    setup.ddb().on(PutItemCommand).resolves({});
    setup.ddb().on(QueryCommand).resolves({ Items: [] });
    const summary = await handler({ Records: [s3Record({ key: "raw/orders/a+b.csv", eventTime: "2026-11-23T12:00:00.000Z" })] });
    expect(summary).to.include({ uploadsRecorded: 1, released: 0 });
    const put = setup.ddb().commandCalls(PutItemCommand)[0].args[0].input;
    expect(put.TableName).to.equal("etl-dev-data-arrivals");
    expect(put.Item!.key).to.deep.equal({ S: "raw/orders/a b.csv" });
  });
});
