// The header rules every engine applies to a CSV input, as pure functions of a file's first bytes: the same
// messages in local/csv.ts (the local engine and the CLI's input checks), glue-scripts/etl_common.py (Spark) and the
// runner's Athena adapter (functions/etl-runner/engines/athena-headers.ts). Must not import cdktf or node:fs.

/** Bytes read for a file's header: a header without a line break within them is refused as too long. */
export const HEADER_LIMIT = 1 << 20;

/**
 * The refusal of a header longer than HEADER_LIMIT, as every engine words it, or undefined. `head`: the file's first
 * bytes (decompressed), up to a line break or past HEADER_LIMIT when the file goes on that far. A file that ends
 * within the limit without a line break is a complete header.
 */
export function headerLengthError(head: Uint8Array, path: string): string | undefined {
  if (head.length <= HEADER_LIMIT) return undefined;
  const first = head.subarray(0, HEADER_LIMIT);
  if (first.includes(0x0a) || first.includes(0x0d)) return undefined;
  return `${path}: malformed CSV header: the header is longer than ${HEADER_LIMIT} bytes`;
}

/** A file named *.gz (any case) is gzip-compressed CSV, as every engine reads it. */
export const isGzipName = (path: string) => path.toLowerCase().endsWith(".gz");

/**
 * Whether a file of an input folder is skipped, as Spark and Athena (Hive) skip it: a name, or a folder on its path
 * below the input's, starting with '_' or '.' (`_SUCCESS`, `.part.crc`, `_temporary/`). `relativePath` is '/'- or
 * '\\'-separated, from the input's folder.
 */
export function isSkippedInputFile(relativePath: string): boolean {
  return relativePath.split(/[\\/]/).some((part) => part.startsWith("_") || part.startsWith("."));
}

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

/**
 * What is wrong with a header for a schema, as every engine says it: a required column named twice
 * (duplicateColumnError), or the required columns it lacks; undefined when each is there once (order and extra
 * columns are free).
 */
export function headerColumnsError(header: readonly string[], columns: ReadonlyArray<{ source?: string }>, inputName: string, path: string): string | undefined {
  const duplicate = duplicateColumnError(header, columns, inputName, path);
  if (duplicate) return duplicate;
  const missing = missingColumns(header, columns);
  if (missing.length) return `${path}: input '${inputName}' lacks required column(s) ${missing.map((c) => JSON.stringify(c)).join(", ")} (header: ${JSON.stringify(header)})`;
  return undefined;
}

/** A string as Python's repr() quotes it (for messages identical to etl_common.py's). */
function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(new RegExp(quote, "g"), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

const GZIP_MAGIC = [0x1f, 0x8b];

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
  // The header line (up to its first line break) has no NUL and no control character besides tab, and decodes as
  // UTF-8: Spark checks the header alone (etl_common.py check_header_text), and its reader keeps such characters in
  // data lines as values (a data line that is not UTF-8 is refused by each engine's reading, naming the line).
  const lf = head.indexOf(0x0a);
  const cr = head.indexOf(0x0d);
  const lineEnd = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
  const line = head.subarray(0, lineEnd === -1 ? head.length : lineEnd);
  for (const byte of line) if (byte < 0x20 && byte !== 0x09) return "not text (binary data)";
  try {
    // A head without a line break may end inside a character (a header cut at the read's end); a bad byte elsewhere is not text.
    new TextDecoder("utf-8", { fatal: true }).decode(lineEnd === -1 ? line.subarray(0, Math.max(0, line.length - 3)) : line);
  } catch {
    return "not text (not UTF-8)";
  }
  return undefined;
}

/**
 * A CSV file's header from its first bytes (decompressed, up to at least its first line break): errors name the file,
 * and say what a file that is not CSV text looks like, without printing its bytes. `gzipName`: the file's name ends in
 * .gz (the engines decompress it by its name).
 */
export function headerOfHead(head: Uint8Array, path: string, gzipName: boolean): string[] {
  const looksLike = describeNonText(head);
  if (looksLike === "gzip data" && !gzipName) throw new Error(`${path}: not a CSV text file: it holds gzip data; name it *.gz to have it decompressed`);
  if (looksLike !== undefined) throw new Error(`${path}: not a CSV text file: it looks like ${looksLike}`);
  let text = Buffer.from(head).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const line = text.split(/[\r\n]/, 1)[0];
  if (line.trim() === "") throw new Error(`${path}: malformed CSV header: the file has no header line`);
  return parseCsvLine(line, path);
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
