// The npm scripts of package.json, and the project file each one runs through tools/launch.cjs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";

export const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")).scripts;

/** The project .ts file a script runs (`[exec ]node tools/launch.cjs <file>.ts`, nothing else), or undefined. */
export const launchedFile = (command: string): string | undefined => /^(?:exec )?node tools\/launch\.cjs (\S+\.ts)$/.exec(command)?.[1];

/** What `npm run <name>` runs, as node's arguments (absolute paths, so from any folder): the launcher and the script's file. */
export function scriptArgs(name: string): string[] {
  const file = launchedFile(SCRIPTS[name] ?? "");
  if (!file) throw new Error(`package.json: script ${name} does not run a project file through tools/launch.cjs (${SCRIPTS[name]})`);
  return [join(PROJECT_ROOT, "tools", "launch.cjs"), join(PROJECT_ROOT, file)];
}
