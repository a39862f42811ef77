import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
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
});
