// Before a job's statement starts on Athena: every file of each raw table it reads is listed once and its header read
// from S3 (the first line; a *.gz file decompressed), checked with the rules of the other engines
// (core/csv-header.ts), and mapped to the fields that hold the table's columns (core/athena-inputs.ts). Athena cannot
// do this itself: its raw table skips each file's first line and has no line numbers to find it by.
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { distinctTables, rawFilePositions, type AthenaRawInput, type RawFile } from "../../../core/athena-inputs";
import { headerOfHead } from "../../../core/csv-header";
import { mapConcurrent } from "../../shared/concurrency";
import { JobInputError } from "../engine";
import { parseS3Uri } from "../s3-uri";

/** Header reads in flight per run. */
const CONCURRENCY = 16;
/** A header is read in one ranged GET of this size, or of HEADER_LIMIT when it is longer (as local/csv.ts reads it). */
const FIRST_READ = 64 * 1024;
const HEADER_LIMIT = 1 << 20;

const isGzipName = (key: string) => key.toLowerCase().endsWith(".gz");
const hasLineBreak = (bytes: Uint8Array) => bytes.includes(0x0a) || bytes.includes(0x0d);

/** The files of every raw table the job reads, by table, each with its columns' fields; JobInputError names a refused file. */
export async function checkRawInputs(s3: S3Client, raws: readonly AthenaRawInput[]): Promise<Record<string, RawFile[]>> {
  const files: Record<string, RawFile[]> = {};
  for (const raw of distinctTables(raws)) {
    const listed = await listDataFiles(s3, raw.uri);
    // The local engine's messages (local/etl-engine.ts, local/csv.ts), with the file's s3:// URI.
    if (listed.length === 0) throw new JobInputError(`input '${raw.input}': ${raw.uri.replace(/\/$/, "")}: no data file (names starting with '_' or '.' are skipped) in the folder`);
    files[raw.table] = await mapConcurrent(listed, CONCURRENCY, async ({ key, size }) => {
      const uri = `s3://${parseS3Uri(raw.uri).bucket}/${key}`;
      const head = await readHead(s3, parseS3Uri(raw.uri).bucket, key, size, uri);
      try {
        return { uri, positions: rawFilePositions(raw, headerOfHead(head, uri, isGzipName(key)), uri) };
      } catch (e) {
        throw new JobInputError((e as Error).message);
      }
    });
  }
  return files;
}

/** The table's data files under its folder, as Athena reads them: sorted, none named '_*' or '.*' (nor in such a folder). */
async function listDataFiles(s3: S3Client, folderUri: string): Promise<Array<{ key: string; size: number }>> {
  const { bucket, key: prefix } = parseS3Uri(folderUri);
  const files: Array<{ key: string; size: number }> = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? "";
      const hidden = key.slice(prefix.length).split("/").some((part) => part.startsWith("_") || part.startsWith("."));
      if (key.endsWith("/") || hidden) continue;
      files.push({ key, size: object.Size ?? 0 });
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A file's first bytes, decompressed for a *.gz name, up to its first line break (or HEADER_LIMIT). */
async function readHead(s3: S3Client, bucket: string, key: string, size: number, uri: string): Promise<Uint8Array> {
  if (size === 0) return new Uint8Array();
  try {
    if (!isGzipName(key)) {
      const ranged = async (bytes: number) => {
        const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${Math.min(bytes, size) - 1}` }));
        return answer.Body!.transformToByteArray();
      };
      const head = await ranged(FIRST_READ);
      return hasLineBreak(head) || size <= FIRST_READ ? head : ranged(HEADER_LIMIT);
    }
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const gunzip = (answer.Body as Readable).pipe(createGunzip());
    const chunks: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        length += chunk.length;
        if (hasLineBreak(chunk) || length >= HEADER_LIMIT) break;
      }
    } catch (e) {
      throw new Error(`not valid gzip data (${(e as Error).message})`);
    } finally {
      gunzip.destroy();
      (answer.Body as Readable).destroy();
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof Error && "$metadata" in e) throw e; // S3 trouble: not the file's fault
    throw new JobInputError(`${uri}: cannot read the CSV file (${(e as Error).message})`);
  }
}
