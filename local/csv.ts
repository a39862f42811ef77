// CSV helpers shared by the local engine, the input checks and the sample-data generator.
import { open, readdir, stat } from "node:fs/promises";
import { relative, sep, join } from "node:path";
import { createGunzip } from "node:zlib";

/** Column naming rule of the contract: trimmed, runs of white space -> one '_', lower case ('Mailing list adds ' -> mailing_list_adds). */
export function snakeCase(name: string): string {
  return name.trim().split(/\s+/).join("_").toLowerCase();
}

/** The source columns of `columns` that `header` lacks, matched by their snake_case names (order and extra columns are free). */
export function missingColumns(header: readonly string[], columns: ReadonlyArray<{ source?: string }>): string[] {
  const present = new Set(header.map(snakeCase));
  return columns.flatMap((c) => (c.source !== undefined && !present.has(snakeCase(c.source)) ? [c.source] : []));
}

/**
 * A required column named twice (after snake_case) is ambiguous: the message names it and both positions
 * (1-based), or undefined. Identical to etl_common.py check_duplicate_columns (a test pins it).
 */
export function duplicateColumnError(header: readonly string[], columns: ReadonlyArray<{ source?: string }>, inputName: string, path: string): string | undefined {
  const required = new Set(columns.flatMap((c) => (c.source !== undefined ? [snakeCase(c.source)] : [])));
  const first = new Map<string, number>();
  for (const [position, title] of header.entries()) {
    const key = snakeCase(title);
    if (!required.has(key)) continue;
    const earlier = first.get(key);
    if (earlier !== undefined)
      return `${path}: input '${inputName}': the header names column '${key}' twice, at positions ${earlier + 1} and ${position + 1} (${pyRepr(header[earlier])} and ${pyRepr(title)})`;
    first.set(key, position);
  }
  return undefined;
}

/** A string as Python's repr() quotes it (for messages identical to etl_common.py's). */
function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(new RegExp(quote, "g"), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** True for a file name the engines decompress (Spark picks the codec by the name, DuckDB too). */
export const isGzipName = (path: string) => path.toLowerCase().endsWith(".gz");

/**
 * What the start of a file looks like when it is not CSV text ("gzip data", "a ZIP archive (an Excel .xlsx?)",
 * "not text (binary data)"), or undefined for text. Never echoes the bytes.
 */
export function describeNonText(head: Uint8Array): string | undefined {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(...GZIP_MAGIC)) return "gzip data";
  if (starts(0x50, 0x4b, 0x03, 0x04)) return "a ZIP archive (an Excel .xlsx workbook?)";
  if (starts(0x50, 0x41, 0x52, 0x31)) return "Parquet data";
  if (starts(0x42, 0x5a, 0x68)) return "bzip2 data";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd data";
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return "an old Excel .xls workbook";
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) return "UTF-16 text (save it as UTF-8)";
  // Text has no NUL and few control characters besides tab and line breaks; UTF-8 must decode.
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return "not text (binary data)";
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) control++;
  }
  if (control > 0) return "not text (binary data)";
  try {
    // A multi-byte character cut at the end of the sample is fine; a bad byte anywhere else is not.
    new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - 3)));
  } catch {
    return "not text (not UTF-8)";
  }
  return undefined;
}

/**
 * The data files of an input path: the file itself, or every file under the folder (recursively) except
 * hidden ones (a name, or a folder on its path, starting with '_' or '.', as Hadoop skips them), sorted.
 * `extension` keeps only files with that ending (Parquet folders). Errors name the path.
 */
export async function dataFiles(path: string, extension?: string): Promise<string[]> {
  const info = await stat(path).catch((e: Error) => {
    throw new Error(`${path}: cannot read the file or folder (${e.message})`);
  });
  if (info.isFile()) return [path];
  if (!info.isDirectory()) throw new Error(`${path}: not a file or a folder`);
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  const hidden = (file: string) => relative(path, file).split(sep).some((part) => part.startsWith("_") || part.startsWith("."));
  const files = entries
    .filter((e) => e.isFile() && (extension === undefined || e.name.toLowerCase().endsWith(extension)))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !hidden(file))
    .sort();
  if (files.length === 0)
    throw new Error(`${path}: no ${extension === undefined ? "data file (names starting with '_' or '.' are skipped)" : `*${extension} file`} in the folder`);
  return files;
}

/** Quotes a CSV field only when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const HEADER_LIMIT = 1 << 20;

/** The first bytes of a file (decompressed when its name ends in .gz), up to the header's end or the limit. */
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
        chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
        if (headerEnd(Buffer.concat(chunks).toString("utf8")) >= 0 || length >= HEADER_LIMIT) break;
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
        if (headerEnd(Buffer.concat(chunks).toString("utf8")) >= 0 || length >= HEADER_LIMIT) break;
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
 * Reads and parses a CSV file's header line (a *.gz file decompressed); errors name the file, and say what a
 * file that is not CSV text looks like, without printing its bytes.
 */
export async function readCsvHeader(path: string): Promise<string[]> {
  let head: Buffer;
  try {
    head = await readHead(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the CSV file (${(e as Error).message})`);
  }
  const looksLike = describeNonText(head);
  if (looksLike === "gzip data" && !isGzipName(path)) throw new Error(`${path}: not a CSV text file: it holds gzip data; name it *.gz to have it decompressed`);
  if (looksLike !== undefined) throw new Error(`${path}: not a CSV text file: it looks like ${looksLike}`);
  let text = head.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const end = headerEnd(text);
  const line = end >= 0 ? text.slice(0, end) : text;
  if (line.trim() === "") throw new Error(`${path}: malformed CSV header: the file has no header line`);
  return parseCsvLine(line, path);
}

/** Index of the first line break outside quotes, or -1. */
function headerEnd(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === "\n" || ch === "\r")) return i;
  }
  return -1;
}

/** Parses one CSV record (no line breaks outside quotes). */
function parseCsvLine(line: string, source = "CSV"): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) throw new Error(`${source}: malformed CSV header: unterminated quote in ${JSON.stringify(line.slice(0, 200))}`);
        value += line.slice(i, close);
        if (line[close + 1] === '"') {
          value += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ",") throw new Error(`${source}: malformed CSV header: text after a closing quote in ${JSON.stringify(line.slice(0, 200))}`);
      fields.push(value);
    } else {
      const comma = line.indexOf(",", i);
      const value = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) throw new Error(`${source}: malformed CSV header: stray quote in ${JSON.stringify(line.slice(0, 200))}`);
      fields.push(value);
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) return fields;
    i++; // the comma
    if (i === line.length) {
      fields.push("");
      return fields;
    }
  }
}
