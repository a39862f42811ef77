// CSV helpers shared by the local engine and the sample-data generator.
import { open } from "node:fs/promises";

/** Column naming rule of the contract: trimmed, runs of white space -> one '_', lower case ('Mailing list adds ' -> mailing_list_adds). */
export function snakeCase(name: string): string {
  return name.trim().split(/\s+/).join("_").toLowerCase();
}

/** The source columns of `columns` that `header` lacks, matched by their snake_case names (order and extra columns are free). */
export function missingColumns(header: readonly string[], columns: ReadonlyArray<{ source?: string }>): string[] {
  const present = new Set(header.map(snakeCase));
  return columns.flatMap((c) => (c.source !== undefined && !present.has(snakeCase(c.source)) ? [c.source] : []));
}

/** Quotes a CSV field only when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const HEADER_LIMIT = 1 << 20;

/**
 * Reads and parses a CSV file's header: its first line, since records are lines (as in Spark's reader, multiLine
 * false), so a quote left open in it is malformed; errors name the file.
 */
export async function readCsvHeader(path: string): Promise<string[]> {
  let text: string;
  try {
    const file = await open(path, "r");
    try {
      const buffer = Buffer.alloc(64 * 1024);
      let length = 0;
      text = "";
      // Read until the first line break or the limit.
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        text += buffer.toString("utf8", 0, bytesRead);
        if (/[\r\n]/.test(text) || length >= HEADER_LIMIT) break;
      }
    } finally {
      await file.close();
    }
  } catch (e) {
    throw new Error(`${path}: cannot read the CSV file (${(e as Error).message})`);
  }
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
