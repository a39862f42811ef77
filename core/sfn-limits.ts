// Step Functions' size limits on task results, in characters: what SendTaskSuccess/SendTaskFailure accept
// (the runner keeps within them, the local service enforces them).
export const SFN_LIMITS = { error: 256, cause: 32_768, output: 262_144 } as const;
