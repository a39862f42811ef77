// The local stand-in for EventBridge and the bucket notification: the topology's rules (core/topology.ts), with the
// names, patterns and schedules the stacks give them, deliver events to the functions they target. So a local run
// wakes exactly the functions a deployed one would, on exactly the events it would (test/local/wiring.test.ts).
import { resourceNames, type EtlConfig } from "../core/config";
import { FAILURE_NOTIFICATION, FUNCTIONS, resolveTriggers, STATE_MACHINE_ARN_REF, UPLOADS, type EventPattern, type FunctionId, type TriggerRefs } from "../core/topology";

export interface LocalRule {
  ruleName: string;
  target: FunctionId;
  functionName: string;
  eventPattern?: EventPattern;
  scheduleExpression?: string;
}

/** A rule whose target is an SNS topic, with an input transformer (the failure notification). */
export interface LocalTopicRule {
  ruleName: string;
  eventPattern: EventPattern;
  topicArn: string;
  inputPaths: Readonly<Record<string, string>>;
  inputTemplate: string;
}

export interface LocalWiring {
  rules: LocalRule[];
  /** Rules that publish to a topic; present when the workflow's ARNs were given. */
  topicRules: LocalTopicRule[];
  /** The bucket notification: objects created under these prefixes invoke the function. */
  uploads: { target: FunctionId; functionName: string; events: string[]; prefixes: string[] };
}

/** The rules and the notification of a configuration, as the stacks create them; `refs` as the local emulators name them. */
export function localWiring(config: EtlConfig, refs: TriggerRefs = {}, workflow?: { stateMachineArn: string; failureTopicArn: string }): LocalWiring {
  const names = resourceNames(config);
  return {
    topicRules: workflow
      ? [
          {
            ruleName: FAILURE_NOTIFICATION.ruleName(names),
            eventPattern: FAILURE_NOTIFICATION.eventPattern({ stateMachineArn: workflow.stateMachineArn }),
            topicArn: workflow.failureTopicArn,
            inputPaths: FAILURE_NOTIFICATION.inputPaths,
            inputTemplate: FAILURE_NOTIFICATION.inputTemplate,
          },
        ]
      : [],
    // The workflow's RUNNING events are matched by its state machine's ARN.
    rules: resolveTriggers(config, { ...(workflow && { [STATE_MACHINE_ARN_REF]: workflow.stateMachineArn }), ...refs }).map((t) => ({
      ruleName: t.ruleName,
      target: t.target,
      functionName: FUNCTIONS[t.target].functionName(names),
      ...(t.eventPattern && { eventPattern: t.eventPattern }),
      ...(t.scheduleExpression && { scheduleExpression: t.scheduleExpression }),
    })),
    uploads: {
      target: UPLOADS.target,
      functionName: FUNCTIONS[UPLOADS.target].functionName(names),
      events: [...UPLOADS.events],
      prefixes: UPLOADS.filters(config).map((f) => f.prefix),
    },
  };
}

/**
 * EventBridge matching for the pattern subset of the topology: a field matches when its value is one of the listed
 * values; an object pattern matches the event's object field by field. Other pattern forms are refused, so a
 * topology entry this emulation cannot honour fails loudly instead of never matching.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (pattern === null || typeof pattern !== "object" || Array.isArray(pattern)) throw new Error(`event pattern ${JSON.stringify(pattern)}: expected an object`);
  if (event === null || typeof event !== "object") return false;
  return Object.entries(pattern).every(([field, expected]) => {
    const value = (event as Record<string, unknown>)[field];
    if (Array.isArray(expected)) {
      if (expected.some((v) => v === null || typeof v === "object")) throw new Error(`event pattern field '${field}': only lists of exact values are supported locally (got ${JSON.stringify(expected)})`);
      return Array.isArray(value) ? value.some((v) => expected.includes(v)) : expected.includes(value);
    }
    return matchesPattern(expected, value);
  });
}

/**
 * EventBridge's InputTransformer: each `<variable>` of the template becomes the value at its path (`$.a.b`). In a
 * template that is a JSON string, string values go in without their quotes; a missing value becomes empty.
 */
export function transformInput(inputPaths: Readonly<Record<string, string>>, inputTemplate: string, event: unknown): unknown {
  const lookup = (path: string): unknown => {
    if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new Error(`input path '${path}': only $.field.field paths are supported locally`);
    return path.split(".").slice(1).reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), event);
  };
  const text = inputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    if (!Object.hasOwn(inputPaths, name)) return whole;
    const value = lookup(inputPaths[name]);
    if (value === undefined || value === null) return "";
    // Inside a JSON string, the value's JSON text without the quotes (escaped as the string needs).
    return JSON.stringify(typeof value === "string" ? value : JSON.stringify(value)).slice(1, -1);
  });
  return JSON.parse(text);
}

/** S3's event name filters: `s3:ObjectCreated:*` matches every `ObjectCreated:<how>` record. */
function matchesS3Event(filters: readonly string[], eventName: string): boolean {
  return filters.some((f) => (f.endsWith(":*") ? `s3:${eventName}`.startsWith(f.slice(0, -1)) : `s3:${eventName}` === f));
}

export interface S3NotificationEvent {
  Records: Array<{ eventName: string; s3: { object: { key: string } } }>;
}

/** Invokes a function asynchronously (errors are the invoker's to report); `trigger` names the cause in progress lines. */
export type Invoke = (target: FunctionId, trigger: string, event: unknown) => void;

/** Publishes a message to an SNS topic. */
export type Publish = (topicArn: string, message: string) => void;

export class LocalEventBus {
  private readonly rules: LocalRule[];

  constructor(
    private readonly wiring: LocalWiring,
    private readonly invoke: Invoke,
    private readonly publish: Publish = () => undefined,
  ) {
    this.rules = wiring.rules;
  }

  /**
   * Delivers an EventBridge event to the target of every rule whose pattern matches; returns those rules' names.
   * `toFunctions: false` delivers to the topic rules only (a schedule-only run: no event wakes a function).
   */
  put(event: { "detail-type": string }, toFunctions = true): string[] {
    const matched = toFunctions ? this.rules.filter((r) => r.eventPattern && matchesPattern(r.eventPattern, event)) : [];
    for (const rule of matched) this.invoke(rule.target, event["detail-type"], event);
    const published = this.wiring.topicRules.filter((r) => matchesPattern(r.eventPattern, event));
    for (const rule of published) {
      const message = transformInput(rule.inputPaths, rule.inputTemplate, event);
      this.publish(rule.topicArn, typeof message === "string" ? message : JSON.stringify(message));
    }
    return [...matched, ...published].map((r) => r.ruleName);
  }

  /** The bucket notification: the records under a watched prefix go to its function, in one invocation. */
  objectCreated(event: S3NotificationEvent): boolean {
    const { prefixes, events, target } = this.wiring.uploads;
    // S3 filters on the object's key; the event carries it URL-encoded ('+' for a space).
    const key = (r: S3NotificationEvent["Records"][number]) => decodeURIComponent(r.s3.object.key.replace(/\+/g, " "));
    const records = event.Records.filter((r) => matchesS3Event(events, r.eventName) && prefixes.some((p) => key(r).startsWith(p)));
    if (records.length) this.invoke(target, "S3 notification", { ...event, Records: records });
    return records.length > 0;
  }

  /** Fires every schedule rule every `periodMs` (a local stand-in for their rates); returns the stop function. */
  startSchedules(periodMs: number, scheduledEvent: () => unknown): () => void {
    const scheduled = this.rules.filter((r) => r.scheduleExpression !== undefined);
    const timer = setInterval(() => {
      const event = scheduledEvent();
      for (const rule of scheduled) this.invoke(rule.target, "Scheduled Event", event);
    }, periodMs);
    return () => clearInterval(timer);
  }
}
