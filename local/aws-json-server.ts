// A tiny HTTP server for the AWS JSON 1.0/1.1 protocols (Step Functions, Glue), so the real SDK clients
// can talk to local services through AWS_ENDPOINT_URL_<SERVICE>. Listens on 127.0.0.1 only.
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

function send(res: ServerResponse, status: number, contentType: string, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
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

/** Starts the server on 127.0.0.1. */
export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const contentType = /^application\/x-amz-json-1\.[01]$/.test(req.headers["content-type"] ?? "")
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
    const [service, operation] = target.split(".", 2);
    void (async () => {
      try {
        if (req.method !== "POST") throw new AwsJsonError("UnknownOperationException", `expected POST, got ${req.method}`);
        if (service !== options.service || !operation || !Object.hasOwn(options.handlers, operation)) {
          throw new AwsJsonError("UnknownOperationException", `unknown operation X-Amz-Target: '${target}' (this server handles ${options.service}.<${Object.keys(options.handlers).join("|")}>)`);
        }
        const input = parseInput(await readBody(req));
        const output = await options.handlers[operation](input, signal);
        send(res, 200, contentType, output);
      } catch (e) {
        if (e instanceof AwsJsonError) {
          send(res, e.statusCode, contentType, { __type: e.type, message: e.message });
        } else {
          options.onInternalError?.(operation ?? target, e);
          send(res, 500, contentType, { __type: "InternalFailure", message: (e as Error)?.message ?? String(e) });
        }
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
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
