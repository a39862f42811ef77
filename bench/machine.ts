// The machine a figure was measured on.
import { readFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the section started: other work on the machine skews figures. */
  loadAverage1m: number;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"));
    if (pretty) return `${pretty[1]} (${platform()} ${release()}, ${arch()})`;
  } catch {
    // Not Linux, or no os-release: the kernel name is enough.
  }
  return `${platform()} ${release()} (${arch()})`;
}

export function describeMachine(): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: osName(),
    loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
  };
}

export const machineLine = (m: Machine) => `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}, load ${m.loadAverage1m}`;
