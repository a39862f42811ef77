// The --out folder of a local run. The rule: the project only ever touches the files its manifest lists.
// - `.etl-output.json` (the manifest) lists the *.parquet files a run wrote there, with their row count.
// - A folder holding *.parquet files the manifest does not list is refused (OutputFolderError, exit 2):
//   they are someone else's. Other files (README, notes) are never touched and do not matter.
// - `.etl-output.lock` holds the pid of the run using the folder; a second run is refused while that process
//   lives. A lock whose process is gone (a crash, kill -9) is stale and taken over.
// - A run stages its result in `.etl-staging-<pid>/` (same file system) and replaces the previous result only
//   once it succeeded: a failed or interrupted run leaves the previous result as it was.
// - A result of several parts (one per final job) has each in a subfolder named after it; the manifest lists their
//   files as `<subfolder>/<file>`, and the rules above hold for those subfolders as for the folder itself.
import { hostname } from "node:os";
import { join } from "node:path";
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { InputError } from "./inputs";
import { readParquet } from "./parquet";

export const MANIFEST_FILE = ".etl-output.json";
export const LOCK_FILE = ".etl-output.lock";
const STAGING_PREFIX = ".etl-staging-";
const OUTPUT_KIND = ".parquet";

/** The folder cannot be used (someone else's files, another run, no access): bad input, exit 2. */
export class OutputFolderError extends InputError {
  override name = "OutputFolderError";
}

interface Manifest {
  writtenBy: string;
  /** The files of the result, paths in the folder (`<subfolder>/<file>` for a part). During a replacement: both the old and the new ones. */
  files: string[];
  rows: number;
  executionArn?: string;
  writtenAt: string;
}

interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/** What the folder holds: the result's files and rows, as the manifest and the files on disk say. */
export interface OutputContents {
  dir: string;
  /** Paths in `dir`: `<file>`, or `<subfolder>/<file>` for a result in parts. */
  files: string[];
  /** All files together. */
  rows: number;
  /** A result in parts (one per final job): each subfolder's files (names in it) and rows. Absent otherwise. */
  byJob?: Record<string, { dir: string; files: string[]; rows: number }>;
}

const isOutputFile = (name: string) => name.toLowerCase().endsWith(OUTPUT_KIND);

/** The files and rows of `paths` (as the manifest lists them) in `dir`, per subfolder when they are in parts. */
async function describe(dir: string, paths: string[]): Promise<OutputContents> {
  const files = [...paths].sort();
  const bySubfolder = new Map<string, string[]>();
  for (const path of files) {
    const slash = path.indexOf("/");
    const subfolder = slash < 0 ? "" : path.slice(0, slash);
    bySubfolder.set(subfolder, [...(bySubfolder.get(subfolder) ?? []), path.slice(slash + 1)]);
  }
  let rows = 0;
  const parts: NonNullable<OutputContents["byJob"]> = {};
  for (const [subfolder, names] of bySubfolder) {
    const folder = subfolder ? join(dir, subfolder) : dir;
    const part = { dir: folder, files: names, rows: (await readParquet(folder, 0)).rows };
    rows += part.rows;
    if (subfolder) parts[subfolder] = part;
  }
  return { dir, files, rows, ...(Object.keys(parts).length ? { byJob: parts } : {}) };
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  const text = await readFile(join(dir, MANIFEST_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const manifest = JSON.parse(text) as Manifest;
    if (!Array.isArray(manifest.files) || !manifest.files.every((f) => typeof f === "string")) throw new Error("no file list");
    return manifest;
  } catch (e) {
    throw new OutputFolderError(`${join(dir, MANIFEST_FILE)}: unreadable manifest (${(e as Error).message}); remove it once you know which files of ${dir} are whose`);
  }
}

/** Writes a file whole or not at all (a temporary file, then a rename). */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

/** True while the process holding a lock lives (on this host; another host's lock counts as alive). */
function alive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A folder claimed by this run: locked, checked, with a staging folder for the new result. */
export class OutputFolder {
  private released = false;

  private constructor(
    readonly dir: string,
    private readonly lockPath: string,
  ) {}

  /**
   * Takes the folder: creates it, takes the lock (refusing while another live run holds it), and refuses a folder
   * with *.parquet files the manifest does not list, in it or in the `subfolders` the run will write (the parts of
   * its result). Errors are OutputFolderError, naming the folder and why.
   */
  static async claim(dir: string, subfolders: readonly string[] = []): Promise<OutputFolder> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new OutputFolderError(`${dir}: cannot use it as the output folder (${(e as Error).message})`);
    }
    const lockPath = join(dir, LOCK_FILE);
    await takeLock(dir, lockPath);
    const folder = new OutputFolder(dir, lockPath);
    try {
      const manifest = await readManifest(dir);
      const listed = new Set(manifest?.files ?? []);
      const foreign: string[] = [];
      for (const subfolder of ["", ...subfolders]) {
        const names = await readdir(join(dir, subfolder)).catch((e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return [];
          throw new OutputFolderError(`${join(dir, subfolder)}: cannot use it for the output (${e.message})`);
        });
        const paths = names.filter(isOutputFile).map((name) => (subfolder ? `${subfolder}/${name}` : name));
        foreign.push(...paths.filter((path) => !listed.has(path)).sort());
      }
      if (foreign.length)
        throw new OutputFolderError(
          `${dir}: holds ${foreign.length} *.parquet file(s) this project did not write, as far as its manifest ${MANIFEST_FILE} says ` +
            `(${foreign.slice(0, 5).join(", ")}${foreign.length > 5 ? ", ..." : ""}); it never replaces them. Choose an empty or new folder ` +
            `for --out, or move them away (also the output of a version of this project older than the manifest)`,
        );
      // Leftovers of a crashed run (its lock was stale) are ours: clear them.
      for (const name of await readdir(dir)) if (name.startsWith(STAGING_PREFIX)) await rm(join(dir, name), { recursive: true, force: true });
    } catch (e) {
      await folder.release();
      throw e;
    }
    return folder;
  }

  /** The staging folder of this run (created empty). */
  async staging(): Promise<string> {
    const path = join(this.dir, `${STAGING_PREFIX}${process.pid}`);
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    return path;
  }

  /**
   * Replaces the previous result with the staged files (those in the staging folder and in its subfolders, the
   * parts): the manifest first lists old and new files (so a crash midway leaves only listed files), then the files
   * move in, the old ones go (and the subfolders they leave empty), and the manifest lists the new.
   */
  async commit(staging: string, executionArn: string): Promise<OutputContents> {
    const entries = await readdir(staging, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && isOutputFile(e.name)).map((e) => e.name);
    for (const sub of entries.filter((e) => e.isDirectory()))
      names.push(...(await readdir(join(staging, sub.name))).filter(isOutputFile).map((name) => `${sub.name}/${name}`));
    names.sort();
    const staged = await describe(staging, names);
    const previous = (await readManifest(this.dir))?.files ?? [];
    const manifest = (files: string[]): string =>
      `${JSON.stringify({ writtenBy: "etl-orchestrator npm start", files, rows: staged.rows, executionArn, writtenAt: new Date().toISOString() } satisfies Manifest, null, 2)}\n`;
    await writeAtomically(join(this.dir, MANIFEST_FILE), manifest([...new Set([...previous, ...names])].sort()));
    for (const subfolder of Object.keys(staged.byJob ?? {})) await mkdir(join(this.dir, subfolder), { recursive: true });
    for (const name of names) await rename(join(staging, name), join(this.dir, name));
    for (const name of previous) if (!names.includes(name)) await rm(join(this.dir, name), { force: true });
    // A subfolder of the previous result left empty goes too (one holding anyone else's file stays).
    const emptied = new Set(previous.filter((p) => p.includes("/") && !names.includes(p)).map((p) => p.slice(0, p.indexOf("/"))));
    for (const subfolder of emptied) await rmdir(join(this.dir, subfolder)).catch(() => undefined);
    await writeAtomically(join(this.dir, MANIFEST_FILE), manifest(names));
    await rm(staging, { recursive: true, force: true });
    const parts = Object.entries(staged.byJob ?? {}).map(([subfolder, part]) => [subfolder, { ...part, dir: join(this.dir, subfolder) }]);
    return { ...staged, dir: this.dir, ...(parts.length ? { byJob: Object.fromEntries(parts) } : {}) };
  }

  /** What the folder holds now (the previous result when this run wrote nothing). */
  async contents(): Promise<OutputContents> {
    return describe(this.dir, (await readManifest(this.dir))?.files ?? []);
  }

  /** Removes the staging folder and the lock. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await rm(join(this.dir, `${STAGING_PREFIX}${process.pid}`), { recursive: true, force: true });
    await unlink(this.lockPath).catch(() => undefined);
  }
}

/** Creates the lock file exclusively; a stale lock (its process gone) is taken over, a live one refused. */
async function takeLock(dir: string, lockPath: string): Promise<void> {
  const mine: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(lockPath, "wx");
      await handle.writeFile(`${JSON.stringify(mine)}\n`);
      await handle.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new OutputFolderError(`${dir}: cannot lock the output folder (${(e as Error).message})`);
    }
    const text = await readFile(lockPath, "utf8").catch(() => undefined);
    if (text === undefined) continue; // released meanwhile
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(text) as LockHolder;
    } catch {
      holder = undefined; // being written right now, or garbage: look again
    }
    if (holder && alive(holder))
      throw new OutputFolderError(
        `${dir}: another run is writing to this output folder (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); wait for it to end, or choose another --out`,
      );
    if (!holder) {
      await new Promise((r) => setTimeout(r, 50));
      const again = await readFile(lockPath, "utf8").catch(() => undefined);
      if (again !== text) continue;
    }
    // Stale: move it aside, and make sure what was moved is the stale lock (another run may have taken it over).
    const aside = `${lockPath}.${process.pid}.stale`;
    if (!(await rename(lockPath, aside).then(() => true, () => false))) continue;
    const moved = await readFile(aside, "utf8").catch(() => undefined);
    if (moved !== text) await link(aside, lockPath).catch(() => undefined); // a live lock: put it back
    await unlink(aside).catch(() => undefined);
  }
  throw new OutputFolderError(`${dir}: cannot lock the output folder: its lock ${LOCK_FILE} keeps changing`);
}
