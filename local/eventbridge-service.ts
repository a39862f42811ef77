// The local EventBridge's PutEvents on the default bus, so the functions' real EventBridge client (AWS_ENDPOINT_URL_EVENTBRIDGE)
// puts its RunnerTaskScheduled events on the local event bus (local/event-bus.ts). Listens on 127.0.0.1 only.
import { randomUUID } from "node:crypto";
import { AwsJsonError, startAwsJsonServer, type AwsJsonServer } from "./aws-json-server";

/** An event as a rule sees it (EventBridge adds the envelope to what PutEvents names). */
export interface PutEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface LocalEventBridgeOptions {
  account: string;
  region: string;
  /** Receives each accepted entry as the event EventBridge would route. */
  onEvent: (event: PutEvent) => void;
  /** Port on 127.0.0.1. Default: 0 (ephemeral). */
  port?: number;
}

/** AWS: at most 10 entries per PutEvents. */
const MAX_ENTRIES = 10;

/**
 * PutEvents as AWS answers it: the request is refused as a whole only when malformed; an entry without Source,
 * DetailType or a JSON object Detail fails alone (FailedEntryCount, ErrorCode), and only the default bus exists.
 */
export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<AwsJsonServer> {
  return startAwsJsonServer({
    service: "AWSEvents",
    port: options.port,
    handlers: {
      PutEvents: (input) => {
        const entries = input.Entries;
        if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES)
          throw new AwsJsonError("ValidationException", `Entries: expected 1 to ${MAX_ENTRIES} entries, got ${Array.isArray(entries) ? entries.length : JSON.stringify(entries)}`);
        const results = entries.map((entry: Record<string, unknown>) => {
          const problem = entryProblem(entry);
          if (problem) return { ErrorCode: "InvalidArgument", ErrorMessage: problem };
          const event: PutEvent = {
            version: "0",
            id: randomUUID(),
            "detail-type": String(entry.DetailType),
            source: String(entry.Source),
            account: options.account,
            time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
            region: options.region,
            resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
            detail: JSON.parse(String(entry.Detail)),
          };
          options.onEvent(event);
          return { EventId: event.id };
        });
        return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
      },
    },
  });
}

function entryProblem(entry: Record<string, unknown>): string | undefined {
  if (entry === null || typeof entry !== "object") return "an entry must be an object";
  if (entry.EventBusName !== undefined && entry.EventBusName !== "default" && !String(entry.EventBusName).endsWith(":event-bus/default"))
    return `EventBusName ${JSON.stringify(entry.EventBusName)}: only the default bus exists locally`;
  for (const field of ["Source", "DetailType", "Detail"] as const)
    if (typeof entry[field] !== "string" || entry[field] === "") return `${field} is required`;
  try {
    const detail = JSON.parse(String(entry.Detail));
    if (detail === null || typeof detail !== "object" || Array.isArray(detail)) return "Detail must be a JSON object";
  } catch {
    return "Detail is not valid JSON";
  }
  return undefined;
}
