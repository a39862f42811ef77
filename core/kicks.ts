// The detail-types of the "a task of yours is scheduled" events on the default bus (core/topology.ts wires them).
// A module of its own because the functions' bundles import it: it must import nothing.

/**
 * RunnerTaskScheduled: put by both functions whenever they close a task with success (the next runner task is
 * scheduled right after a wait task or a runner task succeeds); an ASL may also put it from an events:putEvents state.
 * WaitTaskScheduled (detail.dataset): only from an ASL's events:putEvents state, before a wait task it schedules
 * later than the execution's start. These ASL states are "kicks" (docs/architecture.md, "Workflow events").
 */
export const KICKS = { runner: "RunnerTaskScheduled", dataArrival: "WaitTaskScheduled" } as const;
