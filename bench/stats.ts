// Measuring helpers: medians, repeated timings and fresh-process wall times.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { readFileSync } from "node:fs";
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

/**
 * CPU time (user + system, ms) of this process's children that have ended and been waited for, their own children
 * included: Linux's cutime + cstime of /proc/self/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
 * Undefined where there is no /proc.
 */
export function childrenCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync("/proc/self/stat", "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), from field 3 on: cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall time in ms of one fresh process; throws with the end of its output when it fails. */
export function timeProcess(command: string, args: readonly string[], options: SpawnSyncOptions = {}): number {
  return runProcess(command, args, options).wallMs;
}

/** Wall and CPU time (user + sys, ms; undefined without /proc) of one fresh process, and its stdout; throws with the end of its stdout and stderr when it fails. */
export function runProcess(command: string, args: readonly string[], options: SpawnSyncOptions = {}): { wallMs: number; cpuMs?: number; stdout: string } {
  const cpuBefore = childrenCpuMs();
  const start = performance.now();
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  const elapsed = performance.now() - start;
  const cpuAfter = childrenCpuMs();
  if (result.error) throw new Error(`${shellCommand(command, args)}: ${result.error.message}`);
  if (result.status !== 0) {
    // A test runner names the failing test on stdout: the end of each stream is shown, labelled.
    const tail = (name: string, text: unknown) => {
      const trimmed = String(text ?? "").trim();
      return trimmed ? `\n${name}:\n${trimmed.split("\n").slice(-60).join("\n")}` : "";
    };
    throw new Error(`${shellCommand(command, args)} exited with ${result.status ?? result.signal}:${tail("stdout", result.stdout)}${tail("stderr", result.stderr)}`);
  }
  return { wallMs: elapsed, cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore, stdout: String(result.stdout ?? "") };
}

/** A command as one would type it, for reports. */
export function shellCommand(command: string, args: readonly string[]): string {
  const quote = (s: string) => (/^[\w./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(" ");
}
