// Parsing an activity task's JSON input with a schema; the problem names the offending field.
import type * as z from "./zod";

export type ParsedInput<T> = { ok: true; value: T } | { ok: false; problem: string };

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
