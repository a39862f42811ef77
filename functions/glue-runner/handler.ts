// Placeholder so the stacks can bundle this entry point; the real handler replaces it.
export async function handler(_event: unknown): Promise<{ ok: true }> {
  return { ok: true };
}
