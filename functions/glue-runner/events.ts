// The events that invoke the runner (docs/architecture.md, "Workflow events").
import * as z from "../shared/zod";

const scheduled = z.object({ "detail-type": z.literal("Scheduled Event") });
const kick = z.object({ "detail-type": z.literal("RunnerTaskScheduled") });
const glueStateChange = z.object({
  "detail-type": z.literal("Glue Job State Change"),
  detail: z.object({ jobName: z.string().check(z.minLength(1)), jobRunId: z.string().check(z.minLength(1)) }),
});
const checkRun = z.object({
  action: z.literal("checkRun"),
  jobName: z.string().check(z.minLength(1)),
  jobRunId: z.string().check(z.minLength(1)),
});

export type RunnerRequest = { kind: "scheduled" } | { kind: "kick" } | { kind: "checkRun"; jobName: string; jobRunId: string };

export function parseRunnerEvent(event: unknown): RunnerRequest {
  if (scheduled.safeParse(event).success) return { kind: "scheduled" };
  if (kick.safeParse(event).success) return { kind: "kick" };
  const change = glueStateChange.safeParse(event);
  if (change.success) return { kind: "checkRun", ...change.data.detail };
  const request = checkRun.safeParse(event);
  if (request.success) return { kind: "checkRun", jobName: request.data.jobName, jobRunId: request.data.jobRunId };
  const detailType = (event as { "detail-type"?: unknown } | null)?.["detail-type"];
  throw new Error(
    `unsupported runner event (detail-type ${JSON.stringify(detailType)}): expected "Scheduled Event", "RunnerTaskScheduled", ` +
      `"Glue Job State Change" with detail.jobName and detail.jobRunId, or {"action":"checkRun","jobName","jobRunId"}`,
  );
}
