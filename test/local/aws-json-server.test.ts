import { request } from "node:http";
import { expect } from "chai";
import { AwsJsonError, startAwsJsonServer, type AwsJsonHandler, type AwsJsonServer } from "../../local/aws-json-server";

interface Reply {
  status: number;
  contentType?: string;
  body: any;
}

/** One raw request, so the protocol itself (headers, status, body) is what is tested. */
function post(endpoint: string, target: string | undefined, body: string, contentType = "application/x-amz-json-1.1"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": contentType };
    if (target) headers["x-amz-target"] = target;
    const req = request(`${endpoint}/`, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, contentType: res.headers["content-type"], body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("local/aws-json-server", () => {
  let server: AwsJsonServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (handlers: Record<string, AwsJsonHandler>, onInternalError?: (operation: string, error: unknown) => void) => {
    server = await startAwsJsonServer({ service: "AWSTest", handlers, onInternalError });
    return server.endpoint;
  };

  it("routes X-Amz-Target <Service>.<Operation> to its handler and answers its JSON in the request's protocol", async () => {
    const endpoint = await start({ Echo: (input) => ({ got: input }) });
    expect(endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const reply = await post(endpoint, "AWSTest.Echo", JSON.stringify({ a: [1, "x"] }));
    expect(reply).to.deep.equal({ status: 200, contentType: "application/x-amz-json-1.1", body: { got: { a: [1, "x"] } } });
    const v10 = await post(endpoint, "AWSTest.Echo", "", "application/x-amz-json-1.0");
    expect(v10).to.deep.equal({ status: 200, contentType: "application/x-amz-json-1.0", body: { got: {} } });
  });

  it("answers AwsJsonError as {__type, message} with HTTP 400", async () => {
    const endpoint = await start({
      Fail: () => {
        throw new AwsJsonError("ThingNotFound", "no thing 'x'");
      },
    });
    expect(await post(endpoint, "AWSTest.Fail", "{}")).to.deep.include({ status: 400, body: { __type: "ThingNotFound", message: "no thing 'x'" } });
  });

  it("rejects unknown services and operations, and bodies that are not a JSON object", async () => {
    const endpoint = await start({ Echo: (input) => input });
    for (const target of ["AWSTest.Missing", "Other.Echo", undefined]) {
      const reply = await post(endpoint, target, "{}");
      expect(reply.status, String(target)).to.equal(400);
      expect(reply.body.__type).to.equal("UnknownOperationException");
      expect(reply.body.message).to.include("AWSTest.<Echo>");
    }
    for (const body of ["{not json", "[1]", "3"]) {
      const reply = await post(endpoint, "AWSTest.Echo", body);
      expect(reply.status, body).to.equal(400);
      expect(reply.body.__type).to.equal("SerializationException");
    }
  });

  it("answers unexpected errors as HTTP 500 InternalFailure and reports them", async () => {
    const reported: Array<[string, unknown]> = [];
    const endpoint = await start(
      {
        Crash: async () => {
          throw new TypeError("bug");
        },
      },
      (operation, error) => reported.push([operation, error]),
    );
    const reply = await post(endpoint, "AWSTest.Crash", "{}");
    expect(reply).to.deep.include({ status: 500, body: { __type: "InternalFailure", message: "bug" } });
    expect(reported).to.have.length(1);
    expect(reported[0][0]).to.equal("Crash");
  });

  it("aborts the handler's signal when the client goes away", async () => {
    let aborted!: () => void;
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const endpoint = await start({
      Hang: (_input, signal) =>
        new Promise((resolve) => {
          entered();
          signal.addEventListener("abort", () => {
            aborted();
            resolve({});
          });
        }),
    });
    const req = request(`${endpoint}/`, { method: "POST", headers: { "x-amz-target": "AWSTest.Hang", "content-type": "application/x-amz-json-1.0" } });
    req.on("error", () => undefined);
    req.end("{}");
    await inHandler; // not a fixed pause: a request destroyed before the server read it would reach no handler
    req.destroy();
    await sawAbort;
  });

  it("close() lets aborted handlers answer, then closes every socket", async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const endpoint = await start({
      Wait: (_input, signal) => new Promise((resolve) => (entered(), signal.addEventListener("abort", () => resolve({ ended: true })))),
    });
    const pending = post(endpoint, "AWSTest.Wait", "{}");
    await inHandler;
    await server!.close();
    expect((await pending).body).to.deep.equal({ ended: true });
    const refused = await post(endpoint, "AWSTest.Wait", "{}").then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).to.equal("ECONNREFUSED");
    await server!.close(); // idempotent
  });
});
