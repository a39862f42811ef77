import { DynamoDBClient, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { handler } from "../../../functions/data-arrival/handler";
import { ARRIVAL_ENV, s3Record } from "./harness";

describe("data-arrival handler", () => {
  const saved = { ...process.env };
  // Class-level mock (the handler creates its own clients), active only while these tests run.
  const mockDynamo = () => mockClient(DynamoDBClient);
  let ddb: ReturnType<typeof mockDynamo>;
  before(() => (ddb = mockDynamo()));
  afterEach(() => {
    process.env = { ...saved };
    ddb.reset();
  });
  after(() => ddb.restore());

  it("names the missing variable, then records an upload once the environment is complete", async () => {
    for (const name of Object.keys(ARRIVAL_ENV)) delete process.env[name];
    let thrown: unknown;
    await handler({ Records: [] }).catch((e) => (thrown = e));
    expect((thrown as Error).message).to.match(/TABLE_NAME: required/).and.match(/DATASETS: required/);

    Object.assign(process.env, ARRIVAL_ENV);
    ddb.on(PutItemCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    const summary = await handler({ Records: [s3Record({ key: "raw/sales/a+b.csv", eventTime: "2026-11-23T12:00:00.000Z" })] });
    expect(summary).to.include({ uploadsRecorded: 1, released: 0 });
    const put = ddb.commandCalls(PutItemCommand)[0].args[0].input;
    expect(put.TableName).to.equal("etl-dev-data-arrivals");
    expect(put.Item!.key).to.deep.equal({ S: "raw/sales/a b.csv" });
  });
});
