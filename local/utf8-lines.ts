// Data lines that are not UTF-8: Spark's reader would decode them with U+FFFD in place of each bad sequence (and count
// their quotes on the raw bytes), which the local engine cannot reproduce, so both engines refuse such a file, naming
// its first bad byte: the same message as etl_common.py's not_utf8_error (a test pins both on the same files).
import { isUtf8 } from "node:buffer";

/** Checks a stream of chunks is UTF-8 (a character may be split between chunks); memory is a few bytes. */
export class Utf8Check {
  /** The bytes of a character the last chunk ended inside. */
  private carry: Uint8Array = new Uint8Array(0);
  private valid = true;

  /** False once a byte is not UTF-8 (the rest need not be pushed). */
  push(chunk: Uint8Array): boolean {
    if (!this.valid || chunk.length === 0) return this.valid;
    let start = 0;
    if (this.carry.length) {
      // Complete the split character with the bytes it still needs (at most 3), then go on from there.
      const need = Math.min(sequenceLength(this.carry[0]) - this.carry.length, chunk.length);
      const joined = Buffer.concat([this.carry, chunk.subarray(0, need)]);
      this.carry = new Uint8Array(0);
      start = need;
      if (joined.length < sequenceLength(joined[0])) {
        this.carry = joined;
        return true;
      }
      if (!isUtf8(joined)) return (this.valid = false);
    }
    const end = splitCharacterStart(chunk, start);
    if (!isUtf8(chunk.subarray(start, end))) return (this.valid = false);
    if (end < chunk.length) this.carry = Uint8Array.from(chunk.subarray(end));
    return true;
  }

  /** Whether every byte pushed was UTF-8 (a character left unfinished at the end is not). */
  end(): boolean {
    return this.valid && this.carry.length === 0;
  }
}

/** The bytes a UTF-8 sequence starting with `lead` has (1 for a byte that cannot start one: isUtf8 then refuses it). */
function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/** Where a character that the chunk's end cuts starts (its lead byte in the last 3 bytes), else the chunk's length. */
function splitCharacterStart(chunk: Uint8Array, from: number): number {
  for (let i = chunk.length - 1; i >= Math.max(from, chunk.length - 3); i--) {
    const b = chunk[i];
    if (b < 0x80) return chunk.length;
    if (b >= 0xc0) return i + sequenceLength(b) > chunk.length ? i : chunk.length;
  }
  return chunk.length;
}

/** Where the first bad byte is: the offset of the first byte that starts no valid UTF-8 sequence, and its line (from
 * 1, the header; lines end at LF, CR LF or a lone CR, as Spark's line reader splits them). */
export interface BadByte {
  line: number;
  offset: number;
  byte: number;
}

/** Finds the first bad byte of a stream of chunks (the error path: it runs only on a file Utf8Check refused). */
export class FirstBadByte {
  private offset = 0;
  private line = 1;
  private lastWasCr = false;
  /** The start of a sequence still open at the last chunk's end: its absolute offset, line, first byte, bytes still needed and their range. */
  private open?: { offset: number; line: number; byte: number; need: number; min: number; max: number };
  found?: BadByte;

  /** False once found. */
  push(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length && !this.found; i++, this.offset++) {
      const b = chunk[i];
      if (this.open) {
        if (b >= this.open.min && b <= this.open.max) {
          this.open.min = 0x80;
          this.open.max = 0xbf;
          if (--this.open.need === 0) this.open = undefined;
          continue;
        }
        this.found = { line: this.open.line, offset: this.open.offset, byte: this.open.byte };
        break;
      }
      if (b === 0x0a) {
        if (!this.lastWasCr) this.line++;
        this.lastWasCr = false;
        continue;
      }
      this.lastWasCr = b === 0x0d;
      if (this.lastWasCr) this.line++;
      if (b < 0x80) continue;
      // The second byte's range per lead byte (Unicode Table 3-7: no overlong forms, surrogates or code points past U+10FFFF).
      const [need, min, max] =
        b >= 0xc2 && b <= 0xdf ? [1, 0x80, 0xbf]
        : b === 0xe0 ? [2, 0xa0, 0xbf]
        : b === 0xed ? [2, 0x80, 0x9f]
        : b >= 0xe1 && b <= 0xef ? [2, 0x80, 0xbf]
        : b === 0xf0 ? [3, 0x90, 0xbf]
        : b === 0xf4 ? [3, 0x80, 0x8f]
        : b >= 0xf1 && b <= 0xf3 ? [3, 0x80, 0xbf]
        : [0, 0, 0];
      if (need === 0) this.found = { line: this.line, offset: this.offset, byte: b };
      else this.open = { offset: this.offset, line: this.line, byte: b, need, min, max };
    }
    return !this.found;
  }

  /** The first bad byte (a sequence left unfinished at the end is one), or undefined. */
  end(): BadByte | undefined {
    if (!this.found && this.open) this.found = { line: this.open.line, offset: this.open.offset, byte: this.open.byte };
    return this.found;
  }
}

/** The refusal of a file whose line is not UTF-8, as both engines word it. */
export function notUtf8Error(file: string, inputName: string, bad: BadByte): string {
  return (
    `${file}: input '${inputName}': line ${bad.line} is not UTF-8 text (byte 0x${bad.byte.toString(16).padStart(2, "0")} at offset ${bad.offset}); ` +
    "save the file as UTF-8"
  );
}
