// The cause of a JobFailedError, as the check cycle (a failed run) and the start (a refused input) report it.
import { LIMITS } from "../shared/sfn";
import type { EngineName } from "./engine";

/**
 * The cause of JobFailedError: JSON that fits the SFN limit as sent (escaping included), so the
 * generic truncation in sendTaskFailure never cuts it into invalid JSON.
 */
export function failureCause(fields: { jobName: string; engine: EngineName; runId: string; state: string }, errorMessage: string): string {
  // Glue's causes keep their jobRunId field, as before engines existed.
  const compat = fields.engine === "glue" ? { jobRunId: fields.runId } : {};
  const cause = (message: string) => JSON.stringify({ ...fields, ...compat, errorMessage: message });
  const whole = cause(errorMessage);
  if (whole.length <= LIMITS.cause) return whole;
  const shortened = (length: number) => {
    let head = errorMessage.slice(0, length);
    if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // never split a surrogate pair
    return cause(`${head}...`);
  };
  // Escaping makes a character cost 1 to 6 in the JSON: find the longest prefix that fits.
  let [fits, tooLong] = [0, errorMessage.length];
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (shortened(middle).length <= LIMITS.cause) fits = middle;
    else tooLong = middle;
  }
  const result = shortened(fits);
  // Only when the job name, run id and state alone exceed the limit (they cannot: engines cap them).
  return result.length <= LIMITS.cause ? result : cause("").slice(0, LIMITS.cause);
}
