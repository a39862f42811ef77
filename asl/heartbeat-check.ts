// Synth-time check that runner tasks outlive the gap between two runner wake-ups.
// In asl/, free of cdktf: it reads only the loaded definition (stacks/constructs/etl-state-machine.ts runs it).
import { allStates } from "./loader";

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

/**
 * A runner task's TimeoutSeconds must cover its Glue job's timeout: otherwise the workflow gives up (States.Timeout)
 * while Glue still runs the job. `jobTimeoutMinutes` maps a Glue job name to its timeout and the field it comes from.
 * Throws naming the file, each offending state and its job.
 */
export function checkRunnerTimeouts(
  definition: Record<string, unknown>,
  runnerActivityArn: string,
  jobTimeoutMinutes: Readonly<Record<string, { minutes: number; field: string }>>,
  file: string,
): void {
  const problems = allStates(definition)
    .filter(([, state]) => state.Type === "Task" && state.Resource === runnerActivityArn)
    .flatMap(([name, state]) => {
      const jobName = state.Parameters?.JobName;
      const job = typeof jobName === "string" ? jobTimeoutMinutes[jobName] : undefined;
      const timeout = state.TimeoutSeconds;
      if (!job || typeof timeout !== "number" || timeout >= job.minutes * 60) return [];
      return [
        `  - state '${name}' (Glue job '${jobName}'): TimeoutSeconds ${timeout} is shorter than the job's timeout (${job.field} = ${job.minutes} min = ${job.minutes * 60} s); the workflow would give up while Glue still runs`,
      ];
    });
  if (problems.length) throw new Error(`${file}: runner task timeouts\n${problems.join("\n")}`);
}
