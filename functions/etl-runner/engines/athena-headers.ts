// Before a job's statement starts on Athena: every file of each raw table it reads is listed once and its header read
// from S3 (the first line; a *.gz file decompressed), checked with the rules of the other engines
// (core/csv-header.ts), and mapped to the fields that hold the table's columns (core/athena-inputs.ts). Athena cannot
// do this itself: its raw table skips each file's first line and has no line numbers to find it by.
import { pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { distinctTables, rawFilePositions, type AthenaRawInput, type RawFile } from "../../../core/athena-inputs";
import { HEADER_LIMIT, headerLengthError, headerOfHead, isGzipName, isSkippedInputFile } from "../../../core/csv-header";
import { describeError, isServiceError } from "../../shared/aws-errors";
import { mapConcurrent } from "../../shared/concurrency";
import { classifyServiceError, JobInputError, JobInputReadError, STALE_CLAIM_MS, StartDeferredError } from "../engine";
import { parseS3Uri } from "../s3-uri";

/** Header reads in flight per run. */
const CONCURRENCY = 16;
/** A header is read in one ranged GET of this size, or of HEADER_LIMIT + 1 bytes when it is longer (as local/csv.ts reads it). */
const FIRST_READ = 64 * 1024;
/** The most time for all the checks: half the stale-claim window, leaving the rest for the start itself. */
export const HEADER_CHECK_MS = STALE_CLAIM_MS / 2;
/** Less time than this before the start's deadline: the check is not begun (StartDeferredError), it could only fail. */
export const HEADER_CHECK_FLOOR_MS = 5_000;
/** S3 errors worth another try: the file was replaced or shrank between the listing and the read, or throttling. */
const RETRYABLE_S3_ERRORS = new Set(["NoSuchKey", "InvalidRange", "SlowDown"]);

const hasLineBreak = (bytes: Uint8Array) => bytes.includes(0x0a) || bytes.includes(0x0d);

export interface CheckOptions {
  /** The start's deadline (epoch ms, the Lambda invocation's): no header is read after it, nor after now + HEADER_CHECK_MS. */
  deadline?: number;
  now?: () => number;
}

/**
 * The files of every raw table the job reads, by table, each with its columns' fields. JobInputError names a refused
 * file; JobInputReadError names a file that could not be read, or says how many were checked by the deadline. Files
 * are checked in order (tables, then sorted keys): the error reported is that of the first file that failed, whether
 * refused or unreadable (every file before it passed), so a run reports the same file whatever the timing.
 */
export async function checkRawInputs(s3: S3Client, raws: readonly AthenaRawInput[], options: CheckOptions = {}): Promise<Record<string, RawFile[]>> {
  const now = options.now ?? Date.now;
  const ownDeadline = now() + HEADER_CHECK_MS;
  const deadline = Math.min(ownDeadline, options.deadline ?? Number.POSITIVE_INFINITY);
  if (deadline - now() < HEADER_CHECK_FLOOR_MS)
    throw new StartDeferredError(`${Math.max(0, Math.round((deadline - now()) / 1000))} s left before the start's deadline in the Lambda invocation, under the header check's floor of ${HEADER_CHECK_FLOOR_MS / 1000} s`);
  const byInvocation = deadline < ownDeadline;
  // Only the check's own limit says something about the input; the invocation's end only says it was taken late.
  const limit = byInvocation ? "the start's deadline in the Lambda invocation" : `its limit of ${HEADER_CHECK_MS / 1000} s`;
  const advice = byInvocation ? "the invocation's time ran out, a retry checks them again" : "merge the files into fewer parts if this repeats";
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - now()));
  const pastDeadline = new Error("past the deadline");
  let checked = 0;
  let total = 0;
  let listing = true;
  const overdue = () =>
    new JobInputReadError(`the header check of the job's raw input files reached ${limit}: ${checked} of ${total} files checked${listing ? " (the listing unfinished)" : ""}; ${advice}`, true);
  try {
    const tables: Array<{ raw: AthenaRawInput; bucket: string; listed: Array<{ key: string; size: number }> }> = [];
    for (const raw of distinctTables(raws)) {
      if (now() >= deadline) throw overdue();
      const listed = await listDataFiles(s3, raw.uri, abort.signal).catch((e: unknown) => {
        throw now() >= deadline ? overdue() : e;
      });
      // The local engine's messages (local/etl-engine.ts, local/csv.ts), with the file's s3:// URI.
      if (listed.length === 0) throw new JobInputError(`input '${raw.input}': ${raw.uri.replace(/\/$/, "")}: no data file (names starting with '_' or '.' are skipped) in the folder`);
      tables.push({ raw, bucket: parseS3Uri(raw.uri).bucket, listed });
      total += listed.length;
    }
    listing = false;
    const work = tables.flatMap(({ raw, bucket, listed }) => listed.map((file) => ({ raw, bucket, ...file })));
    const checkedFiles = await mapConcurrent(work, CONCURRENCY, async ({ raw, bucket, key, size }) => {
      if (now() >= deadline) throw pastDeadline;
      const uri = `s3://${bucket}/${key}`;
      let head: Uint8Array;
      try {
        head = await readHead(s3, bucket, key, size, uri, abort.signal);
      } catch (e) {
        throw e instanceof JobInputReadError && now() >= deadline ? pastDeadline : e;
      }
      try {
        const file = { uri, positions: rawFilePositions(raw, headerOfHead(head, uri, isGzipName(key)), uri) };
        checked++;
        return file;
      } catch (e) {
        throw new JobInputError((e as Error).message);
      }
    }).catch((e: unknown) => {
      throw e === pastDeadline ? overdue() : e;
    });
    const files: Record<string, RawFile[]> = {};
    let at = 0;
    for (const { raw, listed } of tables) files[raw.table] = checkedFiles.slice(at, (at += listed.length));
    return files;
  } finally {
    clearTimeout(timer);
  }
}

/** The table's data files under its folder, as Athena reads them: sorted, none named '_*' or '.*' (nor in such a folder). */
async function listDataFiles(s3: S3Client, folderUri: string, abortSignal: AbortSignal): Promise<Array<{ key: string; size: number }>> {
  const { bucket, key: prefix } = parseS3Uri(folderUri);
  const files: Array<{ key: string; size: number }> = [];
  let ContinuationToken: string | undefined;
  do {
    // EncodingType "url": a key may hold characters XML cannot carry.
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken, EncodingType: "url" }), { abortSignal }).catch((error: unknown) => {
      throw s3ReadError(error, `cannot list ${folderUri}`);
    });
    for (const object of page.Contents ?? []) {
      // S3 encodes as a form does (a space as '+'); a store that ignores EncodingType answers plain keys.
      const key = page.EncodingType === "url" ? decodeURIComponent((object.Key ?? "").replace(/\+/g, " ")) : (object.Key ?? "");
      if (key.endsWith("/") || isSkippedInputFile(key.slice(prefix.length))) continue;
      files.push({ key, size: object.Size ?? 0 });
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * An S3 or network error while reading an input, naming it. Retryable unless S3 refused for good (access, no bucket):
 * a network error, throttling, or a file replaced (NoSuchKey) or shrunk (InvalidRange, 416) since it was listed.
 */
function s3ReadError(error: unknown, what: string): JobInputReadError {
  const retryable = !isServiceError(error) || error.$metadata.httpStatusCode === 416 || classifyServiceError(error, RETRYABLE_S3_ERRORS) === "retryable";
  return new JobInputReadError(`${what}: ${describeError(error)}`, retryable);
}

/**
 * A file's first bytes, decompressed for a *.gz name, up to its first line break (or the whole file when shorter).
 * JobInputError when the file itself is at fault (a header over HEADER_LIMIT, gzip data that does not decompress);
 * JobInputReadError when S3 or the network failed (the body too).
 */
async function readHead(s3: S3Client, bucket: string, key: string, size: number, uri: string, abortSignal: AbortSignal): Promise<Uint8Array> {
  if (size === 0) return new Uint8Array();
  const cannotRead = (error: unknown) => s3ReadError(error, `${uri}: cannot read the file's header`);
  const get = (range?: string) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }), { abortSignal }).catch((error: unknown) => Promise.reject(cannotRead(error)));
  // The rule and message of every engine (core/csv-header.ts): `head` goes past HEADER_LIMIT when the file does.
  const checkedLength = (head: Uint8Array) => {
    const tooLong = headerLengthError(head, uri);
    if (tooLong) throw new JobInputError(tooLong);
    return head;
  };
  if (!isGzipName(key)) {
    const ranged = async (bytes: number) => {
      const answer = await get(`bytes=0-${Math.min(bytes, size) - 1}`);
      return answer.Body!.transformToByteArray().catch((error: unknown) => Promise.reject(cannotRead(error)));
    };
    const head = await ranged(FIRST_READ);
    if (hasLineBreak(head) || size <= FIRST_READ) return head;
    return checkedLength(await ranged(HEADER_LIMIT + 1));
  }
  const answer = await get();
  // pipeline: an error of the body reaches the loop below, and the body is destroyed when the loop ends early.
  const gunzip = createGunzip();
  pipeline(answer.Body as Readable, gunzip, () => {});
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (hasLineBreak(chunk) || length > HEADER_LIMIT) break;
    }
  } catch (error) {
    // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR for a truncated file) are the file's; any other came from the body.
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("Z_")) throw new JobInputError(`${uri}: cannot read the CSV file (not valid gzip data (${(error as Error).message}))`);
    throw cannotRead(error);
  } finally {
    gunzip.destroy();
  }
  return checkedLength(Buffer.concat(chunks));
}
