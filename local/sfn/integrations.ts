// The local handler of each Step Functions service integration of the topology (core/topology.ts
// SFN_INTEGRATIONS): keyed by the same resources, so an integration added there without a local handler here
// fails the type check.
import { randomUUID } from "node:crypto";
import type { SfnIntegrationResource } from "../../core/topology";
import { iso, TaskError, type PutEventsEntry, type SnsNotification } from "./model";

/** What the integrations reach locally. */
export interface IntegrationContext {
  /** Receives the entries of every `events:putEvents` task. */
  putEvents?: (entries: PutEventsEntry[]) => void | Promise<void>;
  /** `sns:publish` tasks append here. */
  notifications: SnsNotification[];
}

export type LocalIntegration = (input: unknown, context: IntegrationContext) => Promise<unknown>;

export const LOCAL_INTEGRATIONS: Record<SfnIntegrationResource, LocalIntegration> = {
  "arn:aws:states:::events:putEvents": async (input, context) => {
    const entries = (input as { Entries?: unknown })?.Entries;
    if (!Array.isArray(entries)) throw new TaskError("EventBridge.ValidationException", "events:putEvents needs Parameters.Entries, an array");
    await context.putEvents?.(entries as PutEventsEntry[]);
    return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
  },
  "arn:aws:states:::sns:publish": async (input, context) => {
    const { TopicArn, Subject, Message } = (input ?? {}) as Record<string, unknown>;
    if (typeof TopicArn !== "string") throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.TopicArn, a string");
    if (Message === undefined) throw new TaskError("SNS.InvalidParameterException", "sns:publish needs Parameters.Message");
    context.notifications.push({
      topicArn: TopicArn,
      subject: typeof Subject === "string" ? Subject : undefined,
      message: typeof Message === "string" ? Message : JSON.stringify(Message),
      at: iso(),
    });
    return { MessageId: randomUUID() };
  },
};
