// esbuild bundles of the Lambda handlers (functions/<name>/handler.ts), made once per functions folder.
// Must not import cdktf: main.ts starts the bundling before it loads the stacks, so both run at once.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { build, buildSync, type BuildOptions, type OutputFile } from "esbuild";
import { PROJECT_ROOT } from "./config";

export const DEFAULT_FUNCTIONS_DIR = join(PROJECT_ROOT, "functions");

// Bundle folders by functions folder, then by function name.
const bundles = new Map<string, Map<string, string>>();
process.once("exit", () => bundles.forEach((dirs) => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))));

function options(functionsDir: string): BuildOptions {
  const names = readdirSync(functionsDir).filter((name) => existsSync(join(functionsDir, name, "handler.ts")));
  return {
    entryPoints: Object.fromEntries(names.map((name) => [`${name}/index`, join(functionsDir, name, "handler.ts")])),
    // Never written: it only anchors the source maps' paths to the project, so a bundle
    // (and its asset hash) is the same whichever temporary folder it is copied to.
    outdir: join(PROJECT_ROOT, ".bundle"),
    bundle: true,
    write: false,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    mainFields: ["module", "main"],
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "silent",
    absWorkingDir: PROJECT_ROOT,
    // Lambda hands every function its credentials in environment variables: the SDK's default
    // credential chain (SSO, ini files, IMDS, ...) would only add weight and load time.
    alias: { "@aws-sdk/credential-provider-node": join(PROJECT_ROOT, "functions/shared/lambda-credentials.ts") },
  };
}

function store(functionsDir: string, outputFiles: OutputFile[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const file of outputFiles) {
    const name = basename(dirname(file.path));
    if (!dirs.has(name)) dirs.set(name, mkdtempSync(join(tmpdir(), `etl-bundle-${name}-`)));
    writeFileSync(join(dirs.get(name)!, basename(file.path)), file.contents);
  }
  bundles.set(functionsDir, dirs);
  return dirs;
}

function bundleError(functionsDir: string, e: unknown): Error {
  return new Error(`cannot bundle the handlers of ${relative(PROJECT_ROOT, functionsDir) || functionsDir}: ${(e as Error).message}`);
}

/** Bundles every handler of `functionsDir` in the background; `bundledFolder` then finds them ready. */
export async function prepareBundles(functionsDir = DEFAULT_FUNCTIONS_DIR): Promise<void> {
  if (bundles.has(functionsDir)) return;
  try {
    store(functionsDir, (await build(options(functionsDir))).outputFiles!);
  } catch (e) {
    throw bundleError(functionsDir, e);
  }
}

/**
 * The folder holding `index.js` and `index.js.map` of `entryFile` (`<functions>/<name>/handler.ts`).
 * One esbuild run bundles every handler of the folder: each run costs a process start.
 */
export function bundledFolder(entryFile: string): string {
  const functionsDir = dirname(dirname(entryFile));
  let dirs = bundles.get(functionsDir);
  if (!dirs) {
    try {
      dirs = store(functionsDir, buildSync(options(functionsDir)).outputFiles!);
    } catch (e) {
      throw bundleError(functionsDir, e);
    }
  }
  const dir = dirs.get(basename(dirname(entryFile)));
  if (!dir) throw new Error(`no bundle for ${entryFile}`);
  return dir;
}
