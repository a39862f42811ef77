// Shared by the tests that check a folder is left exactly as it was.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** Every file of a folder with its bytes (as latin1 text, which keeps every byte). */
export async function folderSnapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = (await readFile(join(dir, name))).toString("latin1");
  return files;
}
