// The events that invoke the runner (docs/architecture.md, "Workflow events").
import * as z from "../shared/zod";
import type { EngineName } from "./engine";

const text = () => z.string().check(z.minLength(1));
const scheduled = z.object({ "detail-type": z.literal("Scheduled Event") });
const kick = z.object({ "detail-type": z.literal("RunnerTaskScheduled") });
const glueStateChange = z.object({
  source: z.optional(z.literal("aws.glue")),
  "detail-type": z.literal("Glue Job State Change"),
  detail: z.object({ jobName: text(), jobRunId: text() }),
});
const athenaStateChange = z.object({
  source: z.optional(z.literal("aws.athena")),
  "detail-type": z.literal("Athena Query State Change"),
  detail: z.object({ queryExecutionId: text() }),
});
const emrStateChange = z.object({
  source: z.optional(z.literal("aws.emr-serverless")),
  "detail-type": z.literal("EMR Serverless Job Run State Change"),
  detail: z.object({ jobRunId: text(), jobRunName: z.optional(z.string()) }),
});
// The workflow's own status change: an execution started or was redriven (a redrive reschedules the failed runner tasks).
const executionRunning = z.object({
  source: z.literal("aws.states"),
  "detail-type": z.literal("Step Functions Execution Status Change"),
  detail: z.object({ status: z.literal("RUNNING") }),
});
const checkRun = z.object({ action: z.literal("checkRun"), jobName: text(), jobRunId: text() });

/**
 * A run to check: by job name when the event names it, otherwise (Athena names only the query) by engine: the
 * items of every job on that engine are searched.
 */
export type RunTarget = { jobName: string; jobRunId: string; engine?: undefined } | { engine: EngineName; jobRunId: string; jobName?: undefined };

export type RunnerRequest = { kind: "scheduled" } | { kind: "kick" } | { kind: "executionRunning" } | ({ kind: "checkRun" } & RunTarget);

/** The job of an EMR Serverless run the runner started: its name is `<jobName>:<taskId>`. */
export function emrRunJobName(jobRunName: string | undefined): string | undefined {
  const cut = jobRunName?.lastIndexOf(":") ?? -1;
  return cut > 0 ? jobRunName!.slice(0, cut) : undefined;
}

export function parseRunnerEvent(event: unknown): RunnerRequest {
  if (scheduled.safeParse(event).success) return { kind: "scheduled" };
  if (kick.safeParse(event).success) return { kind: "kick" };
  if (executionRunning.safeParse(event).success) return { kind: "executionRunning" };
  const glue = glueStateChange.safeParse(event);
  if (glue.success) return { kind: "checkRun", jobName: glue.data.detail.jobName, jobRunId: glue.data.detail.jobRunId };
  const athena = athenaStateChange.safeParse(event);
  if (athena.success) return { kind: "checkRun", engine: "athena", jobRunId: athena.data.detail.queryExecutionId };
  const emr = emrStateChange.safeParse(event);
  if (emr.success) {
    const jobName = emrRunJobName(emr.data.detail.jobRunName);
    const jobRunId = emr.data.detail.jobRunId;
    return jobName ? { kind: "checkRun", jobName, jobRunId } : { kind: "checkRun", engine: "emr-serverless", jobRunId };
  }
  const request = checkRun.safeParse(event);
  if (request.success) return { kind: "checkRun", jobName: request.data.jobName, jobRunId: request.data.jobRunId };
  const detailType = (event as { "detail-type"?: unknown } | null)?.["detail-type"];
  throw new Error(
    `unsupported runner event (detail-type ${JSON.stringify(detailType)}): expected "Scheduled Event", "RunnerTaskScheduled", ` +
      `"Step Functions Execution Status Change" with status RUNNING, ` +
      `"Glue Job State Change" with detail.jobName and detail.jobRunId, "Athena Query State Change" with detail.queryExecutionId, ` +
      `"EMR Serverless Job Run State Change" with detail.jobRunId, or {"action":"checkRun","jobName","jobRunId"}`,
  );
}
