// Measuring helpers: medians, repeated timings and fresh-process wall times.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { performance } from "node:perf_hooks";

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`median: not a finite number in ${JSON.stringify(values)}`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Milliseconds `fn` takes. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs `fn` `times` times, one after the other, and returns each result. */
export async function repeat<T>(times: number, fn: (index: number) => Promise<T> | T): Promise<T[]> {
  if (!Number.isInteger(times) || times < 1) throw new Error(`repeat: times must be a positive integer (got ${times})`);
  const out: T[] = [];
  for (let i = 0; i < times; i++) out.push(await fn(i));
  return out;
}

/** Wall time in ms of one fresh process; throws with its stderr when it fails. */
export function timeProcess(command: string, args: readonly string[], options: SpawnSyncOptions = {}): number {
  const start = performance.now();
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  const elapsed = performance.now() - start;
  if (result.error) throw new Error(`${shellCommand(command, args)}: ${result.error.message}`);
  if (result.status !== 0) {
    const stderr = String(result.stderr ?? "").trim().split("\n").slice(-15).join("\n");
    throw new Error(`${shellCommand(command, args)} exited with ${result.status ?? result.signal}:\n${stderr}`);
  }
  return elapsed;
}

/** A command as one would type it, for reports. */
export function shellCommand(command: string, args: readonly string[]): string {
  const quote = (s: string) => (/^[\w./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(" ");
}
