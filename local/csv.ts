// CSV helpers shared by the local engine, the input checks and the sample-data generator.
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { basename, relative, join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { HEADER_LIMIT, headerLengthError, headerOfHead, isGzipName, isSkippedInputFile } from "../core/csv-header";

// The header rules live in core/csv-header.ts (the runner's Athena adapter applies them too).
export { describeNonText, duplicateColumnError, isGzipName, missingColumns, snakeCase } from "../core/csv-header";

/**
 * The data files of an input path: the file itself (refused when its name starts with '_' or '.'), or every file under
 * the folder (recursively) except hidden ones (a name, or a folder on its path, starting with '_' or '.', as Hadoop
 * skips them), sorted.
 * `extension` keeps only files with that ending (Parquet folders). Errors name the path.
 */
export async function dataFiles(path: string, extension?: string): Promise<string[]> {
  const info = await stat(path).catch((e: Error) => {
    throw new Error(`${path}: cannot read the file or folder (${e.message})`);
  });
  if (info.isFile()) {
    // Spark reads a file named so as no rows, even named alone (etl_common.py input_files refuses it alike).
    if (isSkippedInputFile(basename(path))) throw new Error(`${path}: the file's name starts with '_' or '.', which Spark and Hadoop skip as hidden (read as no rows); rename it`);
    return [path];
  }
  if (!info.isDirectory()) throw new Error(`${path}: not a file or a folder`);
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile() && (extension === undefined || e.name.toLowerCase().endsWith(extension)))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !isSkippedInputFile(relative(path, file)))
    .sort();
  if (files.length === 0)
    throw new Error(`${path}: no ${extension === undefined ? "data file (names starting with '_' or '.' are skipped)" : `*${extension} file`} in the folder`);
  return files;
}

/** Quotes a CSV field only when it needs it (RFC 4180). */
/** A CSV file's bytes, decompressed when its name ends in .gz (as Spark and Hadoop pick the codec by the name), as a stream. */
export function csvBytes(file: string): Readable {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!isGzipName(file)) return raw;
  const gunzip = createGunzip();
  raw.on("error", (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Bytes the CSV scans look for ('"', LF and CR are one byte each in UTF-8). */
export const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;

/** The first bytes of a file (decompressed when its name ends in .gz), up to its first line break or past HEADER_LIMIT. */
async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    if (!isGzipName(path)) {
      const buffer = Buffer.alloc(64 * 1024);
      const chunks: Buffer[] = [];
      let length = 0;
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        const chunk = Buffer.from(buffer.subarray(0, bytesRead));
        chunks.push(chunk);
        if (chunk.includes(LF) || chunk.includes(CR) || length > HEADER_LIMIT) break;
      }
      return Buffer.concat(chunks);
    }
    const chunks: Buffer[] = [];
    let length = 0;
    const gunzip = file.createReadStream({ autoClose: false }).pipe(createGunzip());
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        length += chunk.length;
        if (chunk.includes(LF) || chunk.includes(CR) || length > HEADER_LIMIT) break;
      }
    } catch (e) {
      throw new Error(`not valid gzip data (${(e as Error).message})`);
    } finally {
      gunzip.destroy();
    }
    return Buffer.concat(chunks);
  } finally {
    await file.close();
  }
}

/**
 * Reads and parses a CSV file's header: its first line (a *.gz file decompressed), since records are lines (as in
 * Spark's reader, multiLine false), so a quote left open in it is malformed. Errors name the file, and say what a
 * file that is not CSV text looks like, without printing its bytes.
 */
export async function readCsvHeader(path: string): Promise<string[]> {
  let head: Buffer;
  try {
    head = await readHead(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the CSV file (${(e as Error).message})`);
  }
  // The runner's Athena check refuses it too (functions/etl-runner/engines/athena-headers.ts).
  const tooLong = headerLengthError(head, path);
  if (tooLong) throw new Error(tooLong);
  return headerOfHead(head, path, isGzipName(path));
}

