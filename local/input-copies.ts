// Copies of a run's large input files, made and MD5-hashed on a worker thread while the runtime loads and the local
// services start, so that storing such a file once the execution runs is a rename into s3rver's store
// (LocalS3.putFile) instead of ~1 s of hashing and copying on the run's path. The user's file is only read. A copy
// is used only if the file is unchanged (device, inode, size, modification and change times) from before it was
// read to the moment it is stored; otherwise, or if anything failed, the file is stored as without a copy.
import { Worker } from "node:worker_threads";
import { mkdtempSync, statSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataFiles } from "./csv";

/** A finished copy of an input file: the file to rename into the store, with the bytes' MD5 (the ETag) and size. */
export interface PreparedObject {
  path: string;
  md5: string;
  size: number;
}

export interface InputCopies {
  /**
   * The copy of `file` (waiting for it if it is being made), handed over to the caller, if one was made and the file
   * has not changed since it was read; else undefined (too small, not listed, failed, changed, already taken, closed).
   */
  take(file: string): Promise<PreparedObject | undefined>;
  /** Stops the workers and removes the copies not taken. Idempotent. */
  close(): Promise<void>;
}

/** Below this, storing a file costs less than starting the worker thread (~20-40 ms of CPU). */
export const MIN_COPY_BYTES = 16 * 2 ** 20;

/** What identifies a file's content without reading it: same file (device, inode), same size and times. */
export function fileIdentity(s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join("/");
}

// Plain JavaScript (the worker runs without tsx's hooks: execArgv []), synchronous I/O through one 1 MiB buffer. The
// identity is taken from the open descriptor before the first read and after the last, and from the path after the
// last: a file written, replaced or renamed over meanwhile gets no identity, so its copy is never used.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const identity = ${fileIdentity.toString()};
const buffer = Buffer.allocUnsafe(1 << 20);
for (const { file, copy } of workerData.files) {
  let input, output;
  try {
    input = fs.openSync(file, "r");
    const before = identity(fs.fstatSync(input, { bigint: true }));
    output = fs.openSync(copy, "wx");
    const hash = createHash("md5");
    let size = 0;
    for (;;) {
      const n = fs.readSync(input, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      for (let at = 0; at < n; ) at += fs.writeSync(output, buffer, at, n - at);
      size += n;
    }
    const unchanged = identity(fs.fstatSync(input, { bigint: true })) === before && identity(fs.statSync(file, { bigint: true })) === before;
    fs.closeSync(output);
    output = undefined;
    parentPort.postMessage({ file, copy, md5: hash.digest("hex"), size, identity: unchanged ? before : undefined });
  } catch (e) {
    if (output !== undefined) {
      fs.closeSync(output);
      fs.rmSync(copy, { force: true });
    }
    parentPort.postMessage({ file, error: String((e && e.message) || e) });
  } finally {
    if (input !== undefined) fs.closeSync(input);
  }
}
`;

interface WorkerAnswer {
  file: string;
  copy?: string;
  md5?: string;
  size?: number;
  identity?: string;
  error?: string;
}

/**
 * Starts copying the data files of `paths` (files or folders of parts, as csv.ts dataFiles lists them) of at least
 * `minBytes`, in order, into a private folder beside s3rver's store (the system's temporary folder: the same file
 * system, so a copy is renamed, not copied again). Never throws: a path that cannot be listed gets no copies.
 */
export function startInputCopies(paths: readonly string[], options: { minBytes?: number } = {}): InputCopies {
  const minBytes = options.minBytes ?? MIN_COPY_BYTES;
  let closed = false;
  let dir: string | undefined;
  const workers: Worker[] = [];
  const answers = new Map<string, { promise: Promise<WorkerAnswer | undefined>; resolve: (a: WorkerAnswer | undefined) => void; taken?: boolean }>();
  const sizeOf = (path: string) => {
    try {
      const info = statSync(path);
      return info.isFile() ? info.size : info.isDirectory() ? "folder" : undefined;
    } catch {
      return undefined;
    }
  };
  /** One worker for these files, in order. */
  const copy = (files: string[]) => {
    files = files.filter((file) => !answers.has(file) && (sizeOf(file) as number) >= minBytes);
    if (files.length === 0 || closed) return;
    dir ??= mkdtempSync(join(tmpdir(), "etl-input-copies-"));
    const work = files.map((file, i) => ({ file, copy: join(dir!, `${answers.size + i}`) }));
    for (const file of files) {
      let resolve!: (a: WorkerAnswer | undefined) => void;
      const promise = new Promise<WorkerAnswer | undefined>((r) => (resolve = r));
      answers.set(file, { promise, resolve });
    }
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { files: work } });
    const end = () => {
      for (const file of files) answers.get(file)?.resolve(undefined);
    };
    worker.on("message", (answer: WorkerAnswer) => answers.get(answer.file)?.resolve(answer));
    worker.on("error", end);
    worker.on("exit", end);
    workers.push(worker);
  };
  // The files at once (a stat each): the copying starts before the caller's next synchronous work (the CLI then
  // loads the runtime, about a second); a folder's parts once listed.
  try {
    copy(paths.filter((path) => sizeOf(path) !== "folder"));
  } catch {
    // No copies (e.g. no temporary folder): the files are stored as without.
  }
  const listed = (async () => {
    for (const folder of paths.filter((path) => sizeOf(path) === "folder")) copy(await dataFiles(folder).catch(() => []));
  })().catch(() => undefined);

  return {
    async take(file) {
      await listed;
      const entry = answers.get(file);
      if (!entry || entry.taken) return undefined;
      entry.taken = true;
      const answer = await entry.promise;
      if (!answer?.identity || answer.error || closed) return undefined;
      const now = await stat(file, { bigint: true }).then(fileIdentity, () => undefined);
      if (now !== answer.identity) {
        await rm(answer.copy!, { force: true });
        return undefined;
      }
      return { path: answer.copy!, md5: answer.md5!, size: answer.size! };
    },
    async close() {
      if (closed) return;
      closed = true;
      await listed;
      await Promise.all(workers.map((worker) => worker.terminate()));
      for (const { resolve } of answers.values()) resolve(undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The input paths worth copying ahead: those of the datasets uploaded without a delay (a delayed upload reads its file once the delay ends). */
export function undelayedInputs(inputs: Readonly<Record<string, string>>, uploadDelaysMs: Readonly<Record<string, number>> = {}): string[] {
  return Object.entries(inputs)
    .filter(([dataset]) => !((uploadDelaysMs[dataset] ?? 0) > 0))
    .map(([, path]) => path);
}

/** The copies a run makes ahead: of its inputs uploaded without a delay (started by the CLI before it loads the runtime, else by the run). */
export function startRunInputCopies(options: { inputs?: Readonly<Record<string, string>>; uploadDelaysMs?: Readonly<Record<string, number>> }): InputCopies {
  return startInputCopies(undelayedInputs(options.inputs ?? {}, options.uploadDelaysMs));
}
