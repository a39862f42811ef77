// A tiny HTTP server for the AWS JSON 1.0/1.1 protocols (Step Functions, Glue, Athena) and the REST JSON protocol
// (EMR Serverless), so the real SDK clients can talk to local services through AWS_ENDPOINT_URL_<SERVICE>.
// Listens on 127.0.0.1 only.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An error the client sees as `{"__type": type, "message": ...}` (HTTP 400 unless told otherwise). */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * Handles one operation. `signal` aborts when the client goes away or the server closes, so long-polls
 * can give up (and must not hand out anything after that).
 */
export type AwsJsonHandler = (input: Record<string, unknown>, signal: AbortSignal) => unknown;

export interface AwsJsonServerOptions {
  /** The target prefix, e.g. `AWSStepFunctions` or `AWSGlue` (`X-Amz-Target: <service>.<Operation>`). */
  service: string;
  /** One handler per operation name. */
  handlers: Readonly<Record<string, AwsJsonHandler>>;
  /** Port on 127.0.0.1. Default: 0 (ephemeral). */
  port?: number;
  /** Called with unexpected handler errors (answered as HTTP 500 InternalFailure). Default: none. */
  onInternalError?: (operation: string, error: unknown) => void;
}

export interface AwsJsonServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Aborts in-flight handlers (which must honour their signal), lets them answer, then closes the server and every socket. Idempotent. */
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, contentType: string, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, { ...headers, "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function parseInput(body: string): Record<string, unknown> {
  if (body.trim() === "") return {};
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (e) {
    throw new AwsJsonError("SerializationException", `request body is not JSON: ${(e as Error).message}`);
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new AwsJsonError("SerializationException", "request body must be a JSON object");
  }
  return input as Record<string, unknown>;
}

/** Calls a listener of a local service; its failure must not change the service's state (EventBridge delivery is fire-and-forget too). */
export function notifyListener(service: string, listener: () => void): void {
  try {
    listener();
  } catch (e) {
    process.emitWarning(`${service}: a listener failed: ${(e as Error)?.stack ?? e}`);
  }
}

/** Answers one request: the status and JSON body, or an AwsJsonError. */
type Dispatch = (req: IncomingMessage, body: string, signal: AbortSignal) => Promise<{ status: number; body: unknown }>;

/** Starts the server on 127.0.0.1. */
export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
  return startServer(options.port, options.onInternalError, "json", async (req, body, signal) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const [service, operation] = target.split(".", 2);
    if (req.method !== "POST") throw new AwsJsonError("UnknownOperationException", `expected POST, got ${req.method}`);
    if (service !== options.service || !operation || !Object.hasOwn(options.handlers, operation)) {
      throw new AwsJsonError("UnknownOperationException", `unknown operation X-Amz-Target: '${target}' (this server handles ${options.service}.<${Object.keys(options.handlers).join("|")}>)`);
    }
    return { status: 200, body: await options.handlers[operation](parseInput(body), signal) };
  });
}

/**
 * One REST JSON route: `path` with `{name}` segments (URL-decoded into `params`); `input` merges the JSON body,
 * the query string and the path parameters.
 */
export interface RestJsonRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  operation: string;
  handler: (input: Record<string, unknown>, signal: AbortSignal) => unknown;
}

export interface RestJsonServerOptions {
  routes: readonly RestJsonRoute[];
  port?: number;
  onInternalError?: (operation: string, error: unknown) => void;
}

/** Starts a REST JSON server on 127.0.0.1; errors carry `x-amzn-ErrorType` as AWS's REST JSON services do. */
export async function startRestJsonServer(options: RestJsonServerOptions): Promise<AwsJsonServer> {
  const routes = options.routes.map((route) => ({
    ...route,
    pattern: new RegExp(`^${route.path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`),
  }));
  return startServer(options.port, options.onInternalError, "rest", async (req, body, signal) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match || route.method !== req.method) continue;
      const params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
      // A repeated query parameter (a list, e.g. EMR Serverless's states) becomes an array.
      const query: Record<string, string | string[]> = {};
      for (const key of new Set(url.searchParams.keys())) {
        const values = url.searchParams.getAll(key);
        query[key] = values.length === 1 ? values[0] : values;
      }
      const input = { ...parseInput(body), ...query, ...params };
      return { status: 200, body: await route.handler(input, signal) };
    }
    throw new AwsJsonError("UnknownOperationException", `no operation for ${req.method} ${url.pathname}`, 404);
  });
}

async function startServer(port: number | undefined, onInternalError: AwsJsonServerOptions["onInternalError"], protocol: "json" | "rest", dispatch: Dispatch): Promise<AwsJsonServer> {
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const contentType =
      protocol === "rest"
        ? "application/json"
        : /^application\/x-amz-json-1\.[01]$/.test(req.headers["content-type"] ?? "")
          ? (req.headers["content-type"] as string)
          : "application/x-amz-json-1.0";
    const requestGone = new AbortController();
    // "close" on the response fires when it is sent or when the socket dies first.
    const done = new Promise<void>((resolve) => res.on("close", resolve));
    inFlight.add(done);
    void done.then(() => {
      inFlight.delete(done);
      requestGone.abort();
    });
    const signal = AbortSignal.any([requestGone.signal, closing.signal]);
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = protocol === "json" ? (target.split(".", 2)[1] ?? target) : `${req.method} ${req.url}`;
    void (async () => {
      try {
        const answer = await dispatch(req, await readBody(req), signal);
        send(res, answer.status, contentType, answer.body);
      } catch (e) {
        if (e instanceof AwsJsonError) {
          send(res, e.statusCode, contentType, protocol === "json" ? { __type: e.type, message: e.message } : { message: e.message }, protocol === "rest" ? { "x-amzn-errortype": e.type } : {});
        } else {
          onInternalError?.(operation, e);
          send(res, 500, contentType, protocol === "json" ? { __type: "InternalFailure", message: (e as Error)?.message ?? String(e) } : { message: (e as Error)?.message ?? String(e) }, protocol === "rest" ? { "x-amzn-errortype": "InternalServerException" } : {});
        }
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close() {
      closed ??= (async () => {
        closing.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Let the aborted handlers send their answers before the sockets go.
        await Promise.all(inFlight);
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
