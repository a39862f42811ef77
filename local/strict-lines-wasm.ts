// The strict line check with its record scan in WebAssembly (local/strict-lines.wat): the JavaScript scan cost about
// what a bare loop over every byte costs; the WebAssembly one about half of that. The rules exist twice, in the WAT
// and in strict-lines.ts's countRecords: test/local/strict-lines-wasm.test.ts is what keeps their verdicts equal.
// The WAT is assembled by wabt (a devDependency, as the local engine is dev tooling) once, then read from the build
// cache under a key of its text (assembling costs about 0.2 s per process, reading it 3 ms). The entry holds the
// binary's SHA-256 and wabt's version: a damaged entry, or one of another wabt, is assembled again. A scan that
// cannot be loaded at all costs speed, not runs: it is said on stderr and the TypeScript scan serves.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR, readCache, writeCache } from "../core/build-cache";
import { jsRecordScan, StrictLineCounter, type FieldKind, type RecordScanner } from "./strict-lines";

const WAT_FILE = join(__dirname, "strict-lines.wat");
const PAGE = 1 << 16;
/** Bytes past a scanned range that the scan may read (a boolean's 4-byte compare); never past its last LF in effect. */
const SLACK = 16;

interface ScanExports {
  memory: WebAssembly.Memory;
  free: WebAssembly.Global;
  count(kinds: number, start: number, end: number, last: number, crlf: number): number;
}

/** What assembles the WAT: wabt, unless it is not installed (then an error saying so). */
export interface Assembler {
  version: string;
  assemble(wat: string): Promise<Uint8Array>;
}

/** The build cache's key for the scan: its WAT's text (wabt's version is checked inside the entry, see `entryBinary`). */
const cacheKey = (wat: string): string => `strict-lines-${createHash("sha256").update(wat).digest("hex").slice(0, 24)}.wasm`;

/** wabt: its version read from its package.json (cheap), wabt itself loaded only to assemble. Throws when not installed. */
function wabtAssembler(): Assembler {
  const version = (JSON.parse(readFileSync(require.resolve("wabt/package.json"), "utf8")) as { version: string }).version;
  return {
    version,
    async assemble(text) {
      const wabt = await (await import("wabt")).default();
      const parsed = wabt.parseWat(WAT_FILE, text);
      try {
        parsed.validate();
        return parsed.toBinary({}).buffer;
      } finally {
        parsed.destroy();
      }
    },
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** An entry: one JSON line (wabt's version, the binary's SHA-256), then the binary. */
function entry(version: string, binary: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify({ wabt: version, sha256: sha256(binary) })}\n`), binary]);
}

/** The binary of an entry, or why it cannot serve (`version`: wabt's, when installed). */
function entryBinary(cached: Buffer, version: string | undefined): Uint8Array | string {
  const lf = cached.indexOf(0x0a);
  let header: { wabt?: unknown; sha256?: unknown };
  try {
    header = JSON.parse(cached.subarray(0, lf === -1 ? 0 : lf).toString()) as typeof header;
  } catch {
    return "no header line";
  }
  const binary = cached.subarray(lf + 1);
  if (header.sha256 !== sha256(binary)) return "checksum differs";
  if (version !== undefined && header.wabt !== version) return `assembled by wabt ${String(header.wabt)}, not ${version}`;
  return binary;
}

/**
 * The scan from the build cache entry `key`, assembled again (and the entry overwritten) when the entry is missing,
 * damaged or does not compile; when that fails too, one stderr line naming the entry and the cause, and the
 * TypeScript scan. `key` is the WAT's, `assembler` wabt's (a test gives its own).
 */
export async function loadRecordScanner(key?: string, assembler: () => Assembler = wabtAssembler): Promise<RecordScanner> {
  const wat = readFileSync(WAT_FILE, "utf8");
  key ??= cacheKey(wat);
  const file = join(CACHE_DIR, key);
  let cached: Buffer | undefined;
  let cause = "no entry";
  try {
    cached = readCache(key);
  } catch (e) {
    cause = (e as Error).message;
  }
  let found: Assembler | Error;
  try {
    found = assembler();
  } catch (e) {
    found = e as Error;
  }
  if (cached) {
    const binary = entryBinary(cached, found instanceof Error ? undefined : found.version);
    if (typeof binary === "string") cause = binary;
    else
      try {
        return wasmScanner(new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>));
      } catch (e) {
        cause = (e as Error).message;
      }
  }
  try {
    if (found instanceof Error) throw found;
    const binary = await found.assemble(wat);
    const scanner = wasmScanner(new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>));
    writeCache(key, entry(found.version, binary));
    return scanner;
  } catch (e) {
    process.stderr.write(`strict line check: cannot load its WebAssembly scan (${file}: ${cause}; assembling ${WAT_FILE}: ${(e as Error).message}): the TypeScript scan serves, slower\n`);
    return jsRecordScan;
  }
}

/**
 * A scanner whose scans share one instance: each scan is synchronous and writes its kinds and bytes into the instance's
 * memory before it runs, so counters of files read at the same time never see each other's bytes.
 */
function wasmScanner(module: WebAssembly.Module): RecordScanner {
  const exports = new WebAssembly.Instance(module).exports as unknown as ScanExports;
  const kindsAt = exports.free.value as number;
  let memory = new Uint8Array(exports.memory.buffer);
  return (kinds) => {
    const dataAt = kindsAt + kinds.length;
    const last = kinds.length - 1;
    return (data, start, end, crlf) => {
      const needed = dataAt + (end - start) + SLACK;
      if (memory.length < needed) {
        exports.memory.grow(Math.ceil((needed - memory.length) / PAGE));
        memory = new Uint8Array(exports.memory.buffer);
      }
      memory.set(kinds, kindsAt);
      memory.set(data.subarray(start, end), dataAt);
      return exports.count(kindsAt, dataAt, dataAt + (end - start), last, crlf ? 1 : 0);
    };
  };
}

let scanner: Promise<RecordScanner> | undefined;

/** The WebAssembly record scanner (for a StrictLineCounter), loaded once per process; the TypeScript one when it cannot be (not remembered: the next call tries again). */
export function wasmRecordScanner(): Promise<RecordScanner> {
  scanner ??= loadRecordScanner().then(
    (loaded) => {
      if (loaded === jsRecordScan) scanner = undefined;
      return loaded;
    },
    (e: Error) => {
      scanner = undefined;
      throw e;
    },
  );
  return scanner;
}

/** A StrictLineCounter whose record scan runs in WebAssembly (same verdicts as the TypeScript one). */
export async function wasmLineCounter(kinds: readonly FieldKind[]): Promise<StrictLineCounter> {
  return new StrictLineCounter(kinds, await wasmRecordScanner());
}
