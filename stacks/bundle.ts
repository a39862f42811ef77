// esbuild bundles of the Lambda handlers (functions/<name>/handler.ts), made once per functions folder.
// Must not import cdktf: main.ts starts the bundling before it loads the stacks, so both run at once.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import type { BuildOptions, BuildResult } from "esbuild";
import { readCache, removeCache, writeCache } from "../core/build-cache";
import { inputsUnchanged, recordInputs, sha256, startBuild, typescriptSettingsOf, type BuildInputs, type BuildStart } from "../core/build-inputs";
import { PROJECT_ROOT } from "../core/config";
import { sha256Base64, zipSync, type ZipEntry } from "./zip";

/** The Lambda handlers' folder of the project folder `root`. */
export const functionsDirOf = (root: string) => join(root, "functions");
export const DEFAULT_FUNCTIONS_DIR = functionsDirOf(PROJECT_ROOT);

/** A handler's bundle: the folder with index.js and index.js.map, and the same two files as a deterministic zip. */
export interface Bundle {
  dir: string;
  zipFile: string;
  /** Base64 SHA-256 of the zip: Lambda's CodeSha256, so Terraform's source_code_hash matches what AWS reports. */
  zipSha256: string;
}

// Bundles by functions folder, then by function name.
const bundles = new Map<string, Map<string, Bundle>>();
process.once("exit", () => bundles.forEach((all) => all.forEach(({ dir }) => rmSync(dirname(dir), { recursive: true, force: true }))));

/** esbuild options that bundle every `<functionsDir>/<name>/handler.ts` as `<name>/index.js`. */
export function bundleOptions(functionsDir: string): BuildOptions {
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
    // Source maps name files by the path they were imported through: a symlinked node_modules (as in
    // synth:diff's worktree) must not change the bundle, or every diff would show both Lambdas changed.
    preserveSymlinks: true,
    // Lambda hands every function its credentials in environment variables: the SDK's default
    // credential chain (SSO, ini files, IMDS, ...) would only add weight and load time.
    // Nor do the handlers call an operation that streams events (functions/shared/no-event-streams.ts).
    alias: {
      "@aws-sdk/credential-provider-node": join(PROJECT_ROOT, "functions/shared/lambda-credentials.ts"),
      "@smithy/core/event-streams": join(PROJECT_ROOT, "functions/shared/no-event-streams.ts"),
    },
  };
}

interface BuiltFile {
  path: string;
  contents: Uint8Array;
}

/** A cached build: how it was made (esbuild's version and options), the files esbuild read (core/build-inputs.ts), and what it wrote. */
interface CachedBuild extends BuildInputs {
  build: string;
  outputs: Array<{ path: string; contents: string }>;
}

// esbuild's API is loaded only to build (about 20 ms of a synth that finds its bundles in the cache).
const esbuild = () => require("esbuild") as typeof import("esbuild");
// Read when needed: the commands that only remove an entry (synth:diff) load no package before they parse their arguments.
const esbuildVersion = (): string => require("esbuild/package.json").version;
/** How a build with `options` by esbuild `version` was made, as its cache entry records it (`build`). */
export const bundleBuildOf = (options: BuildOptions, version = esbuildVersion()) => sha256(version, JSON.stringify(options));

/**
 * The one entry of a functions folder (a build with other options replaces it), named by the folder alone: whoever
 * removes the folder (a test's copy of the project) can remove its entry, about 3 MB.
 */
export const bundleCacheKey = (functionsDir: string) => `bundles/${sha256(functionsDir)}.json`;

/** Removes the cached build of `functionsDir`, if any (its bundles in this process stay usable). */
export function removeBundleBuild(functionsDir: string): void {
  removeCache(bundleCacheKey(functionsDir));
}

/** The outputs of an earlier build with the same options whose every input is unchanged (the lockfile included), if any. */
export function cachedBuild(functionsDir: string, options = bundleOptions(functionsDir)): BuiltFile[] | undefined {
  const entry = readCache(bundleCacheKey(functionsDir));
  if (!entry) return undefined;
  const cached = JSON.parse(entry.toString("utf8")) as CachedBuild;
  if (cached.build !== bundleBuildOf(options) || !inputsUnchanged(cached, PROJECT_ROOT)) return undefined;
  return cached.outputs.map((o) => ({ path: o.path, contents: Buffer.from(o.contents, "base64") }));
}

/** Caches a build with `options` begun at `start`, unless an input changed during it (recordInputs); returns its outputs either way. */
function cacheBuild(functionsDir: string, options: BuildOptions, start: BuildStart, result: BuildResult): BuiltFile[] {
  const read = Object.keys(result.metafile!.inputs).map((input) => join(PROJECT_ROOT, input));
  // Besides what esbuild names: the TypeScript settings it applies (useDefineForClassFields, ...) to the handlers and to the project's modules they import.
  const inputs = [...new Set([...read, ...typescriptSettingsOf(functionsDir), ...typescriptSettingsOf(PROJECT_ROOT)])];
  const outputs = result.outputFiles!;
  const recorded = recordInputs(inputs, PROJECT_ROOT, start);
  if (recorded) writeCache(bundleCacheKey(functionsDir), JSON.stringify({ build: bundleBuildOf(options), ...recorded, outputs: outputs.map((o) => ({ path: o.path, contents: Buffer.from(o.contents).toString("base64") })) } satisfies CachedBuild));
  return outputs;
}

/** Deflating a bundle at level 9 takes ~100 ms: reuse the zip of the very same files. */
function zipOf(entries: ZipEntry[]): Buffer {
  const key = `zips/${sha256(...entries.flatMap((e) => [e.name, e.data]))}.zip`;
  const cached = readCache(key);
  if (cached) return cached;
  const zip = zipSync(entries);
  writeCache(key, zip);
  return zip;
}

function store(functionsDir: string, outputFiles: BuiltFile[]): Map<string, Bundle> {
  const byName = new Map<string, BuiltFile[]>();
  for (const file of outputFiles) {
    const name = basename(dirname(file.path));
    byName.set(name, [...(byName.get(name) ?? []), file]);
  }
  const stored = new Map<string, Bundle>();
  for (const [name, files] of byName) {
    const root = mkdtempSync(join(tmpdir(), `etl-bundle-${name}-`));
    const dir = join(root, name);
    mkdirSync(dir);
    for (const file of files) writeFileSync(join(dir, basename(file.path)), file.contents);
    const zip = zipOf(files.map((file) => ({ name: basename(file.path), data: Buffer.from(file.contents) })));
    const zipFile = join(root, `${name}.zip`);
    writeFileSync(zipFile, zip);
    stored.set(name, { dir, zipFile, zipSha256: sha256Base64(zip) });
  }
  bundles.set(functionsDir, stored);
  return stored;
}

function bundleError(functionsDir: string, e: unknown): Error {
  return new Error(`cannot bundle the handlers of ${relative(PROJECT_ROOT, functionsDir) || functionsDir}: ${(e as Error).message}`);
}

/** Bundles every handler of `functionsDir` in the background; `bundleOf` then finds them ready. */
export async function prepareBundles(functionsDir = DEFAULT_FUNCTIONS_DIR): Promise<void> {
  if (bundles.has(functionsDir)) return;
  try {
    const options = bundleOptions(functionsDir);
    let outputs = cachedBuild(functionsDir, options);
    if (!outputs) {
      const start = startBuild(PROJECT_ROOT); // before esbuild reads anything
      outputs = cacheBuild(functionsDir, options, start, await esbuild().build({ ...options, metafile: true }));
    }
    store(functionsDir, outputs);
  } catch (e) {
    throw bundleError(functionsDir, e);
  }
}

/**
 * The bundle of `entryFile` (`<functions>/<name>/handler.ts`).
 * One esbuild run bundles every handler of the folder: each run costs a process start.
 */
export function bundleOf(entryFile: string): Bundle {
  const functionsDir = dirname(dirname(entryFile));
  let all = bundles.get(functionsDir);
  if (!all) {
    try {
      const options = bundleOptions(functionsDir);
      let outputs = cachedBuild(functionsDir, options);
      if (!outputs) {
        const start = startBuild(PROJECT_ROOT); // before esbuild reads anything
        outputs = cacheBuild(functionsDir, options, start, esbuild().buildSync({ ...options, metafile: true }));
      }
      all = store(functionsDir, outputs);
    } catch (e) {
      throw bundleError(functionsDir, e);
    }
  }
  const bundle = all.get(basename(dirname(entryFile)));
  if (!bundle) throw new Error(`no bundle for ${entryFile}`);
  return bundle;
}
