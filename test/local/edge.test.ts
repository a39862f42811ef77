import type { IncomingMessage } from "node:http";
import { expect } from "chai";
import { routeOf, type EdgeRoutes } from "../../local/edge";

const ROUTES: EdgeRoutes = { s3: "http://s3", dynamodb: "http://ddb", sfn: "http://sfn", glue: "http://glue", extra: { AmazonAthena: "http://athena", athena: "http://athena" } };
const req = (headers: Record<string, string>, url = "/") => ({ headers, url }) as unknown as IncomingMessage;
const signed = (service: string) => `AWS4-HMAC-SHA256 Credential=ANYKEY/20261201/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=abc`;

describe("local/edge: one port, routed like LocalStack's edge", () => {
  it("routes the AWS JSON services by X-Amz-Target", () => {
    expect(routeOf(req({ "x-amz-target": "AWSStepFunctions.StartExecution", authorization: signed("states") }), ROUTES)?.endpoint).to.equal("http://sfn");
    expect(routeOf(req({ "x-amz-target": "AWSGlue.GetJobRuns" }), ROUTES)?.endpoint).to.equal("http://glue");
    expect(routeOf(req({ "x-amz-target": "DynamoDB_20120810.Scan" }), ROUTES)?.endpoint).to.equal("http://ddb");
    expect(routeOf(req({ "x-amz-target": "AmazonAthena.GetQueryExecution" }), ROUTES)?.endpoint).to.equal("http://athena");
  });

  it("routes the others by the SigV4 credential scope, in the header or a presigned URL; unsigned requests go to S3", () => {
    expect(routeOf(req({ authorization: signed("s3") }), ROUTES)?.service).to.equal("s3");
    expect(routeOf(req({}, "/bucket/key?X-Amz-Credential=K%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x"), ROUTES)?.service).to.equal("s3");
    expect(routeOf(req({ authorization: signed("athena") }), ROUTES)?.endpoint).to.equal("http://athena");
    expect(routeOf(req({}), ROUTES)?.service).to.equal("s3");
  });

  it("serves no unknown service (the caller gets an error naming the scope)", () => {
    expect(routeOf(req({ authorization: signed("lambda") }), ROUTES)).to.equal(undefined);
    expect(routeOf(req({ "x-amz-target": "Unknown_1.Op", authorization: signed("kinesis") }), ROUTES)).to.equal(undefined);
  });
});
