// Environment parsing: validated once per container; the error names every bad variable.
import * as z from "./zod";

export function parseEnv<S extends z.ZodMiniType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`);
  throw new Error(`invalid environment: ${problems.join("; ")}`);
}

const requiredString = () => z.string({ error: "required" });

/** A Step Functions activity ARN (both functions' configurations name activities). */
export const ACTIVITY_ARN_PATTERN = /^arn:[^:]+:states:[^:]*:[^:]*:activity:.+$/;

/** A non-empty string. */
export const stringVar = requiredString().check(z.minLength(1, "required"));

/** A positive integer given as a string, such as "14". */
export const positiveIntVar = z.pipe(requiredString().check(z.regex(/^[1-9]\d*$/, "a positive integer")), z.transform(Number));

/** A JSON document given as a string, validated with `schema`. */
export function jsonVar<S extends z.ZodMiniType>(schema: S) {
  const json = z.pipe(
    requiredString(),
    z.transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        ctx.issues.push({ code: "custom", message: `not JSON (${(error as Error).message})`, input: text });
        return z.NEVER;
      }
    }),
  );
  return z.pipe(json, schema);
}
