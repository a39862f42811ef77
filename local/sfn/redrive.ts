// RedriveExecution for the local Step Functions service. aws-local-stepfunctions has no redrive, so a redrive runs a
// derived definition that re-enters the original one where the execution failed, with the inputs recorded then:
// - in each state machine (the top level, and each branch of a failed Parallel state), the failure point is the
//   latest state entered that did not succeed (it failed, or was still running when the execution ended);
// - the derived machine starts with a Pass state whose Result is the failure point's recorded input, then goes on at
//   the failure point with the original states (those no longer reachable are left out);
// - a failed Parallel state is re-entered with its branches derived the same way: a branch that had succeeded
//   becomes a Pass state returning its recorded output (its states are not run again), a branch that failed or
//   was cancelled resumes at its own failure point;
// - everything else (Retry, Catch, timeouts, names, the task handlers keyed by state name) is the original's, and
//   Retry counters start again from zero, as on AWS.
// A Map state that failed runs again as a whole (AWS re-runs only its failed iterations); the workflow has none.
// The Pass states added here are named with REDRIVE_STATE_PREFIX; the service leaves them out of its events.

/** What one state did in the execution's latest attempt at it. */
export interface StateRecord {
  /** Order of entry across the execution (all runs). */
  seq: number;
  status: "OPEN" | "FAILED" | "SUCCEEDED" | "CAUGHT";
  input: unknown;
  output?: unknown;
}

export const REDRIVE_STATE_PREFIX = "__redrive";

type Machine = { StartAt: string; States: Record<string, Record<string, any>>; [field: string]: unknown };

export class NotRedrivableError extends Error {}

/** The states reachable from `start` (Next, Default, Choices, Catch), in a machine's own level. */
function reachable(states: Machine["States"], start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string | undefined) => {
    if (name === undefined || seen.has(name) || !states[name]) return;
    seen.add(name);
    const s = states[name];
    [s.Next, s.Default, ...(s.Choices ?? []).map((c: any) => c.Next), ...(s.Catch ?? []).map((c: any) => c.Next)].forEach(visit);
  };
  visit(start);
  return seen;
}

/** The latest state of this level that was entered and did not succeed (or was not caught), if any. */
function failurePoint(machine: Machine, records: ReadonlyMap<string, StateRecord>): string | undefined {
  let latest: [string, StateRecord] | undefined;
  for (const name of Object.keys(machine.States)) {
    const record = records.get(name);
    if (record && (record.status === "OPEN" || record.status === "FAILED") && (!latest || record.seq > latest[1].seq)) latest = [name, record];
  }
  return latest?.[0];
}

/**
 * The machine that resumes `machine` at its failure point, or undefined when none of its states failed.
 * `names` gives the added Pass states unique names.
 */
function resume(machine: Machine, records: ReadonlyMap<string, StateRecord>, names: () => string): Machine | undefined {
  const failed = failurePoint(machine, records);
  if (failed === undefined) return undefined;
  const state = structuredClone(machine.States[failed]);
  if (state.Type === "Parallel") {
    state.Branches = (state.Branches as Machine[]).map((branch) => resumeBranch(branch, records, names));
  }
  const kept = reachable(machine.States, failed);
  const entry = names();
  const States: Machine["States"] = { [entry]: { Type: "Pass", Comment: `redrive: the input '${failed}' had`, Result: records.get(failed)!.input ?? null, Next: failed } };
  for (const name of kept) States[name] = name === failed ? state : machine.States[name];
  return { ...machine, StartAt: entry, States };
}

function resumeBranch(branch: Machine, records: ReadonlyMap<string, StateRecord>, names: () => string): Machine {
  const resumed = resume(branch, records, names);
  if (resumed) return resumed;
  // Succeeded: its result, without running it again.
  const own = Object.keys(branch.States).flatMap((n) => (records.has(n) ? [records.get(n)!] : []));
  if (own.length === 0) return branch; // never started: runs as it is
  const last = own.reduce((a, b) => (b.seq > a.seq ? b : a));
  const done = names();
  return { StartAt: done, States: { [done]: { Type: "Pass", Comment: "redrive: this branch had succeeded", Result: last.output ?? null, End: true } } };
}

/** The definition a redrive runs (see the top of this file). Throws NotRedrivableError when no state failed. */
export function redriveDefinition(definition: Record<string, unknown>, records: ReadonlyMap<string, StateRecord>): Record<string, unknown> {
  let n = 0;
  const resumed = resume(definition as Machine, records, () => `${REDRIVE_STATE_PREFIX}${++n}`);
  if (!resumed) throw new NotRedrivableError("no failed state was recorded for this execution");
  return resumed;
}

export const isRedriveState = (name: string) => name.startsWith(REDRIVE_STATE_PREFIX);
