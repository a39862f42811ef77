// The runner task's input (docs/architecture.md): only JobName is required.
import * as z from "../shared/zod";

export const runnerTaskInput = z.strictObject({
  JobName: z.string().check(z.minLength(1), z.maxLength(255)),
  Arguments: z.optional(z.record(z.string(), z.string())),
  WorkerType: z.optional(z.string().check(z.minLength(1))),
  NumberOfWorkers: z.optional(z.int().check(z.minimum(1))),
  /** Optional, for logs only. */
  executionArn: z.optional(z.string()),
});

export type RunnerTaskInput = z.infer<typeof runnerTaskInput>;
