// One port for every local service, like LocalStack's edge port: each request goes to the service its X-Amz-Target
// header names (the AWS JSON protocols: Step Functions, Glue, DynamoDB) or else its SigV4 credential scope names
// (`Credential=<key>/<date>/<region>/<service>/aws4_request`, in the Authorization header or a presigned URL);
// unsigned requests go to S3. Any access key is accepted: the local services check none, except s3rver, which only
// knows its own key, so S3 requests are forwarded with that key in the credential (s3rver does not verify SigV4
// signatures, it only looks the key up). Listens on 127.0.0.1 only.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The backends' endpoints (`http://127.0.0.1:<port>`), by service. */
export interface EdgeRoutes {
  s3: string;
  dynamodb: string;
  sfn: string;
  glue: string;
  /** More services: X-Amz-Target prefix or SigV4 service name -> endpoint (the engines' emulators). */
  extra?: Readonly<Record<string, string>>;
}

/** X-Amz-Target prefixes of the AWS JSON services, and SigV4 service names, to routes. */
const TARGETS: Record<string, keyof Omit<EdgeRoutes, "extra">> = { AWSStepFunctions: "sfn", AWSGlue: "glue", DynamoDB_20120810: "dynamodb" };
const SCOPES: Record<string, keyof Omit<EdgeRoutes, "extra">> = { s3: "s3", states: "sfn", glue: "glue", dynamodb: "dynamodb" };
/** The access key s3rver knows (see node_modules/s3rver/lib/models/account.js). */
const S3RVER_KEY = "S3RVER";

const CREDENTIAL = /Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/;

/** The credential scope's service name of a request, if it is signed with SigV4. */
function scopeService(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? "";
  const fromHeader = CREDENTIAL.exec(auth)?.[4];
  if (fromHeader) return fromHeader;
  const query = new URL(req.url ?? "/", "http://edge").searchParams.get("X-Amz-Credential");
  return query?.split("/")[3];
}

/** Where a request goes: the backend endpoint, or undefined when no route serves it. */
export function routeOf(req: IncomingMessage, routes: EdgeRoutes): { service: string; endpoint: string } | undefined {
  const target = String(req.headers["x-amz-target"] ?? "").split(".")[0];
  if (target) {
    const known = TARGETS[target];
    if (known) return { service: known, endpoint: routes[known] };
    if (routes.extra?.[target]) return { service: target, endpoint: routes.extra[target] };
  }
  const scope = scopeService(req);
  if (scope === undefined) return { service: "s3", endpoint: routes.s3 };
  const known = SCOPES[scope];
  if (known) return { service: known, endpoint: routes[known] };
  if (routes.extra?.[scope]) return { service: scope, endpoint: routes.extra[scope] };
  return undefined;
}

/** s3rver's key in place of the caller's, in the Authorization header or the presigned URL. */
function withS3rverKey(req: IncomingMessage): { path: string; headers: IncomingMessage["headers"] } {
  const headers = { ...req.headers };
  if (headers.authorization) headers.authorization = headers.authorization.replace(/Credential=[^/,\s]+\//, `Credential=${S3RVER_KEY}/`);
  const url = new URL(req.url ?? "/", "http://edge");
  const credential = url.searchParams.get("X-Amz-Credential");
  if (credential) url.searchParams.set("X-Amz-Credential", credential.replace(/^[^/]+\//, `${S3RVER_KEY}/`));
  return { path: credential ? `${url.pathname}${url.search}` : (req.url ?? "/"), headers };
}

function refuse(res: ServerResponse, message: string) {
  const body = JSON.stringify({ __type: "UnrecognizedClientException", message });
  res.writeHead(400, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export interface Edge {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts the edge on 127.0.0.1:`port` (0: an ephemeral port). */
export async function startEdge(routes: EdgeRoutes, port = 0): Promise<Edge> {
  const server = createServer((req, res) => {
    const route = routeOf(req, routes);
    if (!route) {
      const served = [...Object.keys(SCOPES), ...Object.keys(routes.extra ?? {})].join(", ");
      return refuse(res, `no local service for credential scope '${scopeService(req)}' (this endpoint serves ${served})`);
    }
    const backend = new URL(route.endpoint);
    const { path, headers } = route.service === "s3" ? withS3rverKey(req) : { path: req.url ?? "/", headers: req.headers };
    const forwarded = request({ host: backend.hostname, port: backend.port, method: req.method, path, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forwarded.on("error", (e) => {
      if (!res.headersSent) refuse(res, `the local ${route.service} service did not answer: ${e.message}`);
      else res.destroy();
    });
    // A client that goes away (a long-poll given up) ends the forwarded request too.
    res.on("close", () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${actual}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
