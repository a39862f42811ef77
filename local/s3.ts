// Local S3: s3rver on 127.0.0.1 with one bucket, and its object-created events forwarded in the shape
// of an S3 bucket notification, so the data-arrival handler sees what it would see on AWS.
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Client } from "@aws-sdk/client-s3";
import type { S3Event, S3EventRecord } from "aws-lambda";
import S3rver from "s3rver";
import S3rverEvent from "s3rver/lib/models/event";
import S3Object from "s3rver/lib/models/object";
import type { PreparedObject } from "./input-copies";

export interface LocalS3Options {
  /** Bucket created at start. */
  bucket: string;
  /** Other buckets created at start (their events are forwarded too). Default: none. */
  otherBuckets?: readonly string[];
  /** Region written into event records. Default: us-east-1. */
  region?: string;
  /** Called with each object-created notification, like the bucket notification target. Default: none. */
  onObjectCreated?: (event: S3Event) => void;
}

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** A client configured for s3rver (see s3ClientConfig). */
  client: S3Client;
  /** The file s3rver stores an object's bytes in (it may not exist): local readers copy it instead of downloading. */
  storedObject(bucket: string, key: string): string;
  /**
   * Stores a local file as the object `key`, as s3rver's PutObject handler does (its checks: the bucket exists; its
   * store: bytes, MD5 ETag, metadata; then the same ObjectCreated:Put event), without the HTTP round trip: the
   * runtime's uploads of the inputs. A file that cannot be read stores nothing (the previous object stays) and emits
   * nothing. Returns the object's size. With `prepared` (a finished copy of the file and its MD5: input-copies.ts),
   * the copy is renamed into the store instead of reading the file (if that rename fails, the file is read as without).
   */
  putFile(bucket: string, key: string, file: string, prepared?: PreparedObject): Promise<{ size: number }>;
  close(): Promise<void>;
}

/**
 * Client settings s3rver needs: path-style URLs, and no flexible checksums
 * (with them, streamed uploads are stored with the checksum trailer in the body).
 */
function s3ClientConfig(endpoint: string, region = "us-east-1") {
  return {
    endpoint,
    region,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  } as const;
}

/** S3 writes object keys URL-encoded into events, with '+' for a space; s3rver writes them raw. */
function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+");
}

/** The only credentials s3rver accepts; the local runtime gives them to the handlers too (their S3 calls are checked). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  // s3rver's store, and beside it (same file system: renamed into the store) the files putFile is writing.
  const root = await mkdtemp(join(tmpdir(), "etl-s3-"));
  const directory = join(root, "store");
  const partials = join(root, "partial");
  await Promise.all([mkdir(directory), mkdir(partials)]);
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [options.bucket, ...(options.otherBuckets ?? [])].map((name) => ({ name })) });
  server.on("event", (event: S3Event) => {
    const records: S3EventRecord[] = event.Records.filter((r) => r.eventName.startsWith("ObjectCreated:")).map((r) => ({
      ...r,
      awsRegion: options.region ?? "us-east-1",
      s3: { ...r.s3, object: { ...r.s3.object, key: encodeEventKey(r.s3.object.key) } },
    }));
    if (records.length && options.onObjectCreated) options.onObjectCreated({ Records: records });
  });
  let address;
  try {
    address = await server.run();
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({ ...s3ClientConfig(endpoint, options.region), credentials: LOCAL_S3_CREDENTIALS });
  let closed = false;
  // putFile's write: to a file renamed into the store once complete, so a file failing mid-read keeps the previous
  // object (the in-place write below cannot: it has overwritten it) and the error names the file.
  const storeCopy = async (file: string, objectPath: string) => {
    const partial = join(partials, randomUUID());
    const counted = countingMd5();
    try {
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counted.stream, createWriteStream(partial)).catch((e: Error) => fail(file, e));
      await mkdir(dirname(objectPath), { recursive: true });
      await rename(partial, objectPath);
    } finally {
      await rm(partial, { force: true });
    }
    return counted.result();
  };
  // s3rver's PutObject (and multipart completion) is answered once the body is handed to the object file's stream, before
  // the file is written (a buffered body: before it is even opened): a read right after the answer could miss the
  // object, and a close could remove the store under the write (an uncaught ENOENT). The same write, in the same file
  // (local/s3-staging.ts relies on s3rver overwriting it in place), answered once the file is complete and closed.
  server.store.putObject = async (object) => {
    const objectPath = server.store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    const counted = countingMd5();
    try {
      await pipeline(Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content, counted.stream, createWriteStream(objectPath));
    } catch (e) {
      // A body failing partway (the client gone) has already overwritten the previous bytes in place: no object is the
      // honest state (S3 keeps the previous one or none), rather than cut-off bytes under the previous ETag.
      await server.store.deleteObject(object.bucket, object.key).catch(() => undefined);
      throw e;
    }
    const { md5, size } = counted.result();
    await server.store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size, md5 };
  };
  return {
    endpoint,
    bucket: options.bucket,
    client,
    storedObject: (bucket, key) => server.store.getResourcePath(bucket, key, "object"),
    async putFile(bucket, key, file, prepared) {
      // What a PutObject through the SDK costs besides this: signing, the loopback socket and s3rver's HTTP parsing,
      // about 0.5 s of CPU for 449 MiB (s3rver's MD5 stays: the ETag the functions see).
      // As s3rver's HTTP handler: an unknown bucket is refused (its store would create the folder).
      if (!(await server.store.getBucket(bucket))) throw new Error(`${file}: cannot store it as s3://${bucket}/${key}: local S3 has no bucket '${bucket}'`);
      const objectPath = server.store.getResourcePath(bucket, key, "object");
      const stored = prepared && (await moveInto(prepared.path, objectPath)) ? prepared : await storeCopy(file, objectPath);
      const { md5, size } = stored;
      // The content type the SDK sends for a stream body.
      const headers = { "content-length": size, "content-type": "application/octet-stream" };
      await server.store.putMetadata(bucket, key, new S3Object(bucket, key, null, headers).metadata, md5);
      const item = new S3Object(bucket, key, null, { "content-length": size, etag: JSON.stringify(md5) });
      server.emit("event", new S3rverEvent({ bucket, eventType: "Put", S3Item: item }, { reqHeaders: { host: new URL(endpoint).host }, sourceIp: "127.0.0.1" }));
      return { size };
    },
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      const http = server.httpServer as Server;
      http.closeAllConnections();
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A finished file renamed over the object's (a reader of the old one keeps it whole); false if that failed. */
async function moveInto(finished: string, objectPath: string): Promise<boolean> {
  try {
    await mkdir(dirname(objectPath), { recursive: true });
    await rename(finished, objectPath);
    return true;
  } catch {
    await rm(finished, { force: true });
    return false;
  }
}

/** A pass-through stream counting the bytes and their MD5 (the ETag s3rver stores). */
function countingMd5() {
  const hash = createHash("md5");
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ md5: hash.digest("hex"), size }) };
}

function fail(file: string, error: Error): never {
  throw new Error(`${file}: cannot read the file (${error.message})`);
}
