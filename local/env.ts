// Setting process.env for a while and putting it back as it was (keys that were absent are deleted again).

/** Saves `keys` of process.env now; the returned function restores them. */
export function saveEnv(keys: readonly string[]): () => void {
  const saved = keys.map((k) => [k, process.env[k]] as const);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Runs `call` with `vars` set in process.env (an undefined value deletes the key), then restores them: when `call`
 * returns, or, when it returns a promise, once that settles.
 */
export function withEnv<T>(vars: Record<string, string | undefined>, call: () => T): T {
  const restore = saveEnv(Object.keys(vars));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let result: T;
  try {
    result = call();
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
