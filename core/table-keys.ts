// Key design of the two DynamoDB tables, shared by the stacks, the handlers and the local runtime.
// Must not import anything: the Lambda bundles include it.

/** active-job-runs: one item per runner task (see docs/architecture.md). */
export const RUNNER_TABLE = { partitionKey: "jobName", sortKey: "taskId", ttlAttribute: "expiresAt" } as const;

/** data-arrivals: uploads (ARRIVAL#<dataset>) and parked wait tokens (WAIT#<dataset>). */
export const ARRIVAL_TABLE = { partitionKey: "pk", sortKey: "sk", ttlAttribute: "expiresAt" } as const;

export type TableKeys = typeof RUNNER_TABLE | typeof ARRIVAL_TABLE;
