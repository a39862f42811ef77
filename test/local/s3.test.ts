import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync, watch } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { S3Event } from "aws-lambda";
import { startInputCopies } from "../../local/input-copies";
import { startLocalS3, type LocalS3 } from "../../local/s3";
import { listening } from "../listening";

describe("local/s3", () => {
  let dir: string;
  let s3: LocalS3;
  const events: S3Event[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "local-s3-test-"));
    s3 = await startLocalS3({ bucket: "data", onObjectCreated: (e) => events.push(e) });
  });
  after(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("putFile stores a file as a PutObject of it does: the same bytes, ETag, metadata and notification", async () => {
    const file = join(dir, "sales 1.csv");
    // Over one read chunk (1 MiB), with multi-byte characters.
    await writeFile(file, "Date,Name\n" + "1/2/2020,Zoë\n".repeat(120_000));
    const size = (await s3.putFile("data", "raw/sales/by-file 1.csv", file)).size;
    await s3.client.send(new PutObjectCommand({ Bucket: "data", Key: "raw/sales/by-put 1.csv", Body: createReadStream(file), ContentLength: size }));
    const [byFile, byPut] = await Promise.all(
      ["raw/sales/by-file 1.csv", "raw/sales/by-put 1.csv"].map(async (Key) => {
        const head = await s3.client.send(new HeadObjectCommand({ Bucket: "data", Key }));
        const body = await (await s3.client.send(new GetObjectCommand({ Bucket: "data", Key }))).Body!.transformToString();
        return { eTag: head.ETag, length: head.ContentLength, type: head.ContentType, metadata: head.Metadata, body };
      }),
    );
    expect({ ...byFile, body: byFile.body.length }).to.deep.equal({ ...byPut, body: byPut.body.length });
    expect(byFile.body === byPut.body).to.equal(true);
    expect(byFile.length).to.equal(size).and.be.greaterThan(1 << 20);
    // Each notification once, alike but for the key and what s3rver draws per request (ids, time, sequencer).
    expect(events.map((e) => e.Records.map((r) => r.s3.object.key))).to.deep.equal([["raw/sales/by-file+1.csv"], ["raw/sales/by-put+1.csv"]]);
    const shape = (e: S3Event) =>
      e.Records.map((r) => ({
        ...r,
        eventTime: typeof r.eventTime,
        userIdentity: typeof r.userIdentity.principalId,
        responseElements: Object.keys(r.responseElements),
        s3: { ...r.s3, bucket: { ...r.s3.bucket, ownerIdentity: typeof r.s3.bucket.ownerIdentity.principalId }, object: { ...r.s3.object, key: typeof r.s3.object.key, sequencer: typeof r.s3.object.sequencer } },
      }));
    expect(shape(events[0])).to.deep.equal(shape(events[1]));
    expect(events[0].Records[0].s3.object).to.include({ size, eTag: byFile.eTag!.replace(/"/g, "") });
  });

  it("putFile with a copy made ahead (input-copies.ts) renames the copy into the store: the object, ETag, metadata and notification of a putFile that reads the file", async () => {
    const file = join(dir, "ahead.csv");
    await writeFile(file, "Date,Name\n" + "1/2/2020,Zoë\n".repeat(120_000));
    const copies = startInputCopies([file], { minBytes: 0 });
    try {
      const copy = (await copies.take(file))!;
      const count = events.length;
      expect((await s3.putFile("data", "raw/ahead/copied.csv", file, copy)).size).to.equal(copy.size);
      expect(existsSync(copy.path)).to.equal(false);
      await s3.putFile("data", "raw/ahead/read.csv", file);
      const [copied, read] = await Promise.all(
        ["raw/ahead/copied.csv", "raw/ahead/read.csv"].map(async (Key) => {
          const head = await s3.client.send(new HeadObjectCommand({ Bucket: "data", Key }));
          const body = await (await s3.client.send(new GetObjectCommand({ Bucket: "data", Key }))).Body!.transformToString();
          return { eTag: head.ETag, length: head.ContentLength, type: head.ContentType, metadata: head.Metadata, body };
        }),
      );
      expect(copied).to.deep.equal(read);
      expect(copied.eTag).to.equal(JSON.stringify(createHash("md5").update(await readFile(file)).digest("hex")));
      const added = events.slice(count).map((e) => e.Records.map((r) => ({ key: r.s3.object.key, size: r.s3.object.size, eTag: r.s3.object.eTag, name: r.eventName })));
      expect(added).to.deep.equal(["copied", "read"].map((name) => [{ key: `raw/ahead/${name}.csv`, size: copy.size, eTag: copy.md5, name: "ObjectCreated:Put" }]));
    } finally {
      await copies.close();
    }
  });

  it("putFile with a copy that cannot be renamed (gone) reads the file instead; with an unknown bucket it stores nothing", async () => {
    const file = join(dir, "gone.csv");
    await writeFile(file, "a,b\n1,2\n");
    const stale = { path: join(dir, "no-such-copy"), md5: "0".repeat(32), size: 999 };
    const count = events.length;
    expect((await s3.putFile("data", "raw/gone.csv", file, stale)).size).to.equal(8);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "data", Key: "raw/gone.csv" }));
    expect(head.ETag).to.equal(JSON.stringify(createHash("md5").update("a,b\n1,2\n").digest("hex")));
    expect(events.slice(count).map((e) => e.Records[0].s3.object.eTag)).to.deep.equal([head.ETag!.replace(/"/g, "")]);
    const copy = join(dir, "copy-for-stray");
    await writeFile(copy, "a,b\n1,2\n");
    const error = await s3.putFile("no-such-bucket", "raw/stray.csv", file, { path: copy, md5: "x", size: 8 }).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain("no bucket 'no-such-bucket'");
    expect(events.length).to.equal(count + 1);
  });

  it("putFile of a file that fails mid-read stores nothing: the previous object stays, no event, no partial file, the call settles", async () => {
    const good = join(dir, "good.csv");
    await writeFile(good, "a,b\n1,2\n");
    await s3.putFile("data", "raw/reread.csv", good);
    const count = events.length;
    // A directory opens and stats as a file does, then fails its first read (EISDIR).
    const unreadable = join(dir, "unreadable.csv");
    await mkdir(unreadable);
    const error = await s3.putFile("data", "raw/reread.csv", unreadable).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain(unreadable).and.contain("cannot read the file");
    expect(events.length).to.equal(count);
    const body = await (await s3.client.send(new GetObjectCommand({ Bucket: "data", Key: "raw/reread.csv" }))).Body!.transformToString();
    expect(body).to.equal("a,b\n1,2\n");
    const partials = join(dirname(s3.storedObject("data", "top")), "..", "..", "partial");
    expect(await readdir(partials)).to.deep.equal([]);
  });

  it("putFile refuses a bucket local S3 was not configured with, as its HTTP PutObject does: nothing created, no event", async () => {
    const file = join(dir, "stray.csv");
    await writeFile(file, "a\n1\n");
    const count = events.length;
    const error = await s3.putFile("no-such-bucket", "raw/stray.csv", file).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain("no bucket 'no-such-bucket'").and.contain(file);
    expect(events.length).to.equal(count);
    const buckets = (await s3.client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    expect(buckets).to.deep.equal(["data"]);
  });

  it("putFile fails naming nothing stored for a missing file, and close leaves nothing listening", async () => {
    const count = events.length;
    const error = await s3.putFile("data", "raw/missing.csv", join(dir, "missing.csv")).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain(join(dir, "missing.csv"));
    expect(events.length).to.equal(count);
    const other = await startLocalS3({ bucket: "other" });
    await other.close();
    expect(await listening(other.endpoint)).to.equal(false);
  });
  it("PutObject is answered once the object is stored: a HeadObject and GetObject right after see all of a large streamed body", async () => {
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(1 << 20, i));
    const whole = Buffer.concat(chunks);
    await s3.client.send(new PutObjectCommand({ Bucket: "data", Key: "large.bin", Body: Readable.from(chunks), ContentLength: whole.length }));
    const [head, body] = await Promise.all([
      s3.client.send(new HeadObjectCommand({ Bucket: "data", Key: "large.bin" })),
      s3.client.send(new GetObjectCommand({ Bucket: "data", Key: "large.bin" })).then((r) => r.Body!.transformToByteArray()),
    ]);
    expect(head).to.include({ ContentLength: whole.length, ETag: JSON.stringify(createHash("md5").update(whole).digest("hex")) });
    expect(Buffer.compare(Buffer.from(body), whole)).to.equal(0);
  });

  it("a PutObject whose body fails partway stores nothing: the previous object (overwritten in place) is gone, no event, the server still answers", async () => {
    const Key = "cut-off.bin";
    await s3.client.send(new PutObjectCommand({ Bucket: "data", Key, Body: "previous" }));
    const count = events.length;
    const objectFile = s3.storedObject("data", Key);
    const chunk = Buffer.alloc(64 * 1024, 1);
    const firstChunkStored = storedFileReaches(objectFile, () => sizeOf(objectFile) === chunk.length);
    let gone: Promise<void> | undefined;
    // The SDK pipes the body without passing its error on: the caller aborts the request, as a caller would.
    const request = new AbortController();
    let reads = 0;
    const body = new Readable({
      read() {
        if (reads++ === 0) return void this.push(chunk);
        void firstChunkStored.then(() => {
          gone = storedFileReaches(objectFile, () => !existsSync(objectFile));
          this.destroy(new Error("the source failed"));
        });
      },
    });
    body.once("error", () => request.abort());
    const error = await s3.client.send(new PutObjectCommand({ Bucket: "data", Key, Body: body, ContentLength: 4 * chunk.length }), { abortSignal: request.signal }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).to.equal("AbortError");
    await gone;
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "data", Key })).then(() => "found", (e: Error) => e.name);
    expect(head).to.equal("NotFound");
    expect(events.length).to.equal(count);
    await s3.client.send(new PutObjectCommand({ Bucket: "data", Key, Body: "next" }));
    expect(await (await s3.client.send(new GetObjectCommand({ Bucket: "data", Key }))).Body!.transformToString()).to.equal("next");
  });

  it("close during a streaming PutObject settles: the call fails, nothing listens, the store is removed", async () => {
    const other = await startLocalS3({ bucket: "other" });
    const objectFile = other.storedObject("other", "streaming.bin");
    const chunk = Buffer.alloc(64 * 1024, 2);
    const firstChunkStored = storedFileReaches(objectFile, () => sizeOf(objectFile) === chunk.length);
    let reads = 0;
    // One chunk, then the body waits (it never ends).
    const body = new Readable({
      read() {
        if (reads++ === 0) this.push(chunk);
      },
    });
    const put = other.client.send(new PutObjectCommand({ Bucket: "other", Key: "streaming.bin", Body: body, ContentLength: 4 * chunk.length })).then(() => "stored", () => "failed");
    try {
      await firstChunkStored;
    } finally {
      await other.close();
    }
    expect(await put).to.equal("failed");
    expect(await listening(other.endpoint)).to.equal(false);
    expect(existsSync(dirname(dirname(dirname(objectFile))))).to.equal(false);
  });

  it("a multipart upload (5 MiB part, then a short one) completes as one object: its bytes, the completion's ETag, content type, metadata and notification", async () => {
    const Key = "multi/part.csv";
    const parts = [Buffer.alloc(5 << 20, "a"), Buffer.from("tail\n")];
    const count = events.length;
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: "data", Key, ContentType: "text/csv", Metadata: { source: "test" } }));
    const uploaded = [];
    for (const [index, Body] of parts.entries()) {
      const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: "data", Key, UploadId, PartNumber: index + 1, Body }));
      uploaded.push({ ETag, PartNumber: index + 1 });
    }
    const completed = await s3.client.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key, UploadId, MultipartUpload: { Parts: uploaded } }));
    const [head, body] = await Promise.all([
      s3.client.send(new HeadObjectCommand({ Bucket: "data", Key })),
      s3.client.send(new GetObjectCommand({ Bucket: "data", Key })).then((r) => r.Body!.transformToByteArray()),
    ]);
    expect(Buffer.compare(Buffer.from(body), Buffer.concat(parts))).to.equal(0);
    expect(head).to.include({ ETag: completed.ETag, ContentLength: parts[0].length + parts[1].length, ContentType: "text/csv" });
    expect(head.Metadata).to.deep.equal({ source: "test" });
    const added = events.slice(count).map((e) => e.Records.map((r) => ({ key: r.s3.object.key, size: r.s3.object.size, eTag: r.s3.object.eTag })));
    expect(added).to.deep.equal([[{ key: Key, size: head.ContentLength, eTag: completed.ETag!.replace(/"/g, "") }]]);
  });
});

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

/** Resolves once `reached()` holds, checked now and at each change in the stored file's folder (which must exist). */
function storedFileReaches(file: string, reached: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dirname(file), () => {
      if (!reached()) return;
      watcher.close();
      resolve();
    });
    if (reached()) {
      watcher.close();
      resolve();
    }
  });
}
