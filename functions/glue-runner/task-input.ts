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

export type ParsedInput<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Parses a task's JSON input; the problem names the offending field. */
export function parseTaskInput<S extends z.ZodMiniType>(schema: S, text: string): ParsedInput<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `task input is not JSON (${(error as Error).message})` };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`);
  return { ok: false, problem: `invalid task input: ${problems.join("; ")}` };
}
