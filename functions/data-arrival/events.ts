// The events that invoke the data-arrival function (docs/architecture.md, "Workflow events").
import * as z from "../shared/zod";

const scheduled = z.object({ "detail-type": z.literal("Scheduled Event") });
const kick = z.object({ "detail-type": z.literal("WaitTaskScheduled"), detail: z.object({ dataset: z.string().check(z.minLength(1)) }) });
// The workflow's own status change: an execution started or was redriven (the rule matches status RUNNING of this state machine).
const executionRunning = z.object({
  source: z.literal("aws.states"),
  "detail-type": z.literal("Step Functions Execution Status Change"),
  detail: z.object({ status: z.literal("RUNNING"), executionArn: z.string().check(z.minLength(1)) }),
});
const s3Notification = z.object({ Records: z.array(z.unknown()) });
const s3TestEvent = z.object({ Event: z.literal("s3:TestEvent") });

export type ArrivalRequest =
  | { kind: "scheduled" }
  | { kind: "kick"; dataset: string }
  | { kind: "executionRunning"; executionArn: string }
  | { kind: "s3"; records: unknown[] }
  | { kind: "s3Test" };

export function parseArrivalEvent(event: unknown): ArrivalRequest {
  const notification = s3Notification.safeParse(event);
  if (notification.success) return { kind: "s3", records: notification.data.Records };
  const wake = kick.safeParse(event);
  if (wake.success) return { kind: "kick", dataset: wake.data.detail.dataset };
  if (scheduled.safeParse(event).success) return { kind: "scheduled" };
  const running = executionRunning.safeParse(event);
  if (running.success) return { kind: "executionRunning", executionArn: running.data.detail.executionArn };
  if (s3TestEvent.safeParse(event).success) return { kind: "s3Test" };
  const detailType = (event as { "detail-type"?: unknown } | null)?.["detail-type"];
  throw new Error(
    `unsupported data-arrival event (detail-type ${JSON.stringify(detailType)}): expected S3 Records, ` +
      `"WaitTaskScheduled" with detail.dataset, "Scheduled Event", "Step Functions Execution Status Change" with status RUNNING, or S3's s3:TestEvent`,
  );
}
