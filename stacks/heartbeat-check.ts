// Synth-time check that runner tasks outlive the gap between two runner wake-ups.
// Must not import cdktf.
import { allStates } from "../asl/loader";

const UNIT_SECONDS: Record<string, number> = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86400, days: 86400 };

/** Seconds between two runs of a `rate(N unit)` expression; undefined for cron(). */
export function ratePeriodSeconds(expression: string): number | undefined {
  const m = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]] : undefined;
}

/**
 * Every Task whose Resource is the runner activity needs HeartbeatSeconds, and when the fallback schedule
 * is a rate(), more than twice its period: a running Glue job may send no event for a long time, and the
 * fallback wake-up is then the only heartbeat. Throws naming the file and each offending state.
 */
export function checkRunnerHeartbeats(definition: Record<string, unknown>, runnerActivityArn: string, fallback: string, file: string): void {
  const period = ratePeriodSeconds(fallback);
  const problems = allStates(definition)
    .filter(([, state]) => state.Type === "Task" && state.Resource === runnerActivityArn)
    .flatMap(([name, state]) => {
      const heartbeat = state.HeartbeatSeconds;
      if (typeof heartbeat !== "number") return [`  - state '${name}': a runner task needs HeartbeatSeconds`];
      if (period !== undefined && heartbeat <= 2 * period)
        return [`  - state '${name}': HeartbeatSeconds ${heartbeat} must be greater than twice the fallback period (schedules.fallback '${fallback}' = ${period} s, so more than ${2 * period})`];
      return [];
    });
  if (problems.length) throw new Error(`${file}: runner task heartbeats\n${problems.join("\n")}`);
}
