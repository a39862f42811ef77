// Timers that fire only when the test advances them (the local Step Functions service's `heartbeatTimers`): a test
// shows HeartbeatSeconds' timing exactly, with no real wait and no race between a timeout and the machine's load.
// Not sinon's fake clock: it replaces the process's global timers, which the servers and the library also use.
import type { HeartbeatTimers } from "../../local/sfn-service";

interface Timer {
  due: number;
  callback: () => void;
}

export class ManualClock implements HeartbeatTimers {
  /** Milliseconds advanced so far. */
  now = 0;
  /** How many timers were set so far (a task's heartbeat timer is set when it is scheduled and at each heartbeat). */
  sets = 0;
  private readonly timers = new Set<Timer>();
  private readonly waiters = new Set<() => void>();

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { due: this.now + ms, callback };
    this.timers.add(timer);
    this.sets += 1;
    for (const wake of [...this.waiters]) wake();
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, firing the timers due by then in order of their due time. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = [...this.timers].filter((t) => t.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.timers.delete(next);
      this.now = next.due;
      next.callback();
    }
    this.now = until;
  }

  /** Resolves once `sets` is at least `count` (woken by each set, no polling). */
  async setsReach(count: number): Promise<void> {
    while (this.sets < count) {
      await new Promise<void>((resolve) => {
        const wake = () => (this.waiters.delete(wake), resolve());
        this.waiters.add(wake);
      });
    }
  }
}
