// The events that invoke the data-arrival function (docs/architecture.md, "Workflow events").
import * as z from "../shared/zod";

const scheduled = z.object({ "detail-type": z.literal("Scheduled Event") });
const kick = z.object({ "detail-type": z.literal("WaitTaskScheduled"), detail: z.object({ dataset: z.string().check(z.minLength(1)) }) });
const s3Notification = z.object({ Records: z.array(z.unknown()) });
const s3TestEvent = z.object({ Event: z.literal("s3:TestEvent") });

export type ArrivalRequest =
  | { kind: "scheduled" }
  | { kind: "kick"; dataset: string }
  | { kind: "s3"; records: unknown[] }
  | { kind: "s3Test" };

export function parseArrivalEvent(event: unknown): ArrivalRequest {
  const notification = s3Notification.safeParse(event);
  if (notification.success) return { kind: "s3", records: notification.data.Records };
  const wake = kick.safeParse(event);
  if (wake.success) return { kind: "kick", dataset: wake.data.detail.dataset };
  if (scheduled.safeParse(event).success) return { kind: "scheduled" };
  if (s3TestEvent.safeParse(event).success) return { kind: "s3Test" };
  const detailType = (event as { "detail-type"?: unknown } | null)?.["detail-type"];
  throw new Error(
    `unsupported data-arrival event (detail-type ${JSON.stringify(detailType)}): expected S3 Records, ` +
      `"WaitTaskScheduled" with detail.dataset, "Scheduled Event", or S3's s3:TestEvent`,
  );
}
