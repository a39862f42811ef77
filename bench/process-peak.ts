// Wall time and peak resident memory of a child process and its descendants (Linux: /proc), for figures that
// must include everything a command holds (DuckDB's native memory too).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { shellCommand } from "./stats";

export interface ProcessMeasure {
  ms: number;
  /** The largest sum of the processes' peak resident sets (VmHWM) seen while it ran, in MiB. */
  peakMiB: number;
  stdout: string;
}

const POLL_MS = 25;

/** The process and its descendants, by pid. */
function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim().split(/\s+/))
        if (task) pids.push(Number(task));
    } catch {
      // Gone already.
    }
  }
  return pids;
}

/** VmHWM (peak resident set) of one process in KiB, 0 when it is gone. */
function peakKiB(pid: number): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs the command to its end; throws with its stderr when it fails. The peak is sampled every 25 ms. */
export function measureProcess(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessMeasure> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    // VmHWM only grows, so each process's last sample before it ends is its peak up to then.
    const peaks = new Map<number, number>();
    const sample = () => {
      for (const pid of processTree(child.pid!)) {
        const kib = peakKiB(pid);
        if (kib > (peaks.get(pid) ?? 0)) peaks.set(pid, kib);
      }
    };
    const timer = setInterval(sample, POLL_MS);
    child.on("error", (e) => {
      clearInterval(timer);
      reject(new Error(`${shellCommand(command, args)}: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      const ms = performance.now() - start;
      if (code !== 0) return reject(new Error(`${shellCommand(command, args)} exited with ${code ?? signal}:\n${stderr.trim().split("\n").slice(-15).join("\n")}`));
      const peakMiB = [...peaks.values()].reduce((a, b) => a + b, 0) / 1024;
      resolve({ ms, peakMiB, stdout });
    });
  });
}
