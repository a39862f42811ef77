// The strict line check with its record scan in WebAssembly (local/strict-lines.wat): the JavaScript scan cost about
// what a bare loop over every byte costs; the WebAssembly one about half of that. The rules exist twice, in the WAT
// and in strict-lines.ts's countRecords: test/local/strict-lines-wasm.test.ts is what keeps their verdicts equal.
// The WAT is assembled by wabt (a devDependency, as the local engine is dev tooling) once, then read from the build
// cache under a key of its text and wabt's version (assembling costs about 0.2 s per process, reading it 3 ms).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readCache, writeCache } from "../core/build-cache";
import { StrictLineCounter, type FieldKind, type RecordScanner } from "./strict-lines";

const WAT_FILE = join(__dirname, "strict-lines.wat");
const PAGE = 1 << 16;
/** Bytes past a scanned range that the scan may read (a boolean's 4-byte compare); never past its last LF in effect. */
const SLACK = 16;

interface ScanExports {
  memory: WebAssembly.Memory;
  free: WebAssembly.Global;
  count(kinds: number, start: number, end: number, last: number, crlf: number): number;
}

let scanner: Promise<RecordScanner> | undefined;

/** The compiled scan. */
async function scanModule(): Promise<WebAssembly.Module> {
  const wat = readFileSync(WAT_FILE, "utf8");
  const wabtVersion = (JSON.parse(readFileSync(require.resolve("wabt/package.json"), "utf8")) as { version: string }).version;
  const key = `strict-lines-${createHash("sha256").update(wabtVersion).update("\0").update(wat).digest("hex").slice(0, 24)}.wasm`;
  const cached = readCache(key);
  if (cached) return new WebAssembly.Module(cached as Uint8Array<ArrayBuffer>);
  const wabt = await (await import("wabt")).default();
  const parsed = wabt.parseWat(WAT_FILE, wat);
  try {
    parsed.validate();
    const { buffer } = parsed.toBinary({});
    const module = new WebAssembly.Module(buffer as Uint8Array<ArrayBuffer>);
    writeCache(key, Buffer.from(buffer));
    return module;
  } finally {
    parsed.destroy();
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

/** The WebAssembly record scanner (for a StrictLineCounter), compiled once per process. */
export function wasmRecordScanner(): Promise<RecordScanner> {
  scanner ??= scanModule().then(wasmScanner);
  return scanner;
}

/** A StrictLineCounter whose record scan runs in WebAssembly (same verdicts as the TypeScript one). */
export async function strictLineCounter(kinds: readonly FieldKind[]): Promise<StrictLineCounter> {
  return new StrictLineCounter(kinds, await wasmRecordScanner());
}
