// The npm scripts of package.json, and the project file each one runs through tools/launch.cjs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";

export const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")).scripts;

/** The project .ts file a script runs (`[exec ]node tools/launch.cjs <file>.ts`, nothing else), or undefined. */
export const launchedFile = (command: string): string | undefined => /^(?:exec )?node tools\/launch\.cjs (\S+\.ts)$/.exec(command)?.[1];
