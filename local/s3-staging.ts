// Staging between the local S3 and local folders, for the local engine services: a job's inputs are downloaded
// into a work folder, and its output folder replaces what is under the output prefix (as Spark's overwrite mode).
import { constants, createReadStream, createWriteStream } from "node:fs";
import { copyFile, link, mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { EtlInput } from "../core/job-arguments";

const S3_URI = /^s3:\/\/([^/]+)\/(.*)$/;

/** `s3://bucket/prefix` → its parts; `field` names the value in the error. */
export function parseS3Uri(uri: string, field: string): { bucket: string; prefix: string } {
  const match = S3_URI.exec(uri);
  if (!match) throw new Error(`${field}: not an S3 URI: ${JSON.stringify(uri)}`);
  return { bucket: match[1], prefix: match[2] };
}

/** Where a local S3 stores an object's bytes (s3rver: LocalS3.storedObject). */
export type StoredObjectPath = (bucket: string, key: string) => string;

export class S3Staging {
  /**
   * Stored files linked into a work folder, with the state each had once linked. s3rver overwrites an object in
   * its file (same inode), so a linked input can change while a job reads it: changedObjects() tells.
   */
  private readonly linked = new Map<string, { uri: string; state: string }>();
  /** Copy the stored files instead of linking them (once a linked input changed under a job). */
  private copyOnly = false;

  /**
   * @param storedObject for a local S3 whose objects are files on this machine: downloads hard-link the stored file
   *   (no bytes copied; a copy where linking fails, e.g. across file systems). Objects are still listed through
   *   the S3 API. Default: every object is downloaded through GetObject, streamed to its file.
   */
  constructor(
    private readonly s3: S3Client,
    private readonly storedObject?: StoredObjectPath,
  ) {}

  /** Every object key under the prefix ("folder" markers ending in "/" left out). */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key && !object.Key.endsWith("/")) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Downloads everything under the prefix into `dir`, keeping the relative paths; returns the object count. */
  async download(bucket: string, prefix: string, dir: string): Promise<number> {
    const keys = await this.listKeys(bucket, prefix);
    for (const key of keys) {
      const target = join(dir, key.slice(prefix.length));
      await mkdir(dirname(target), { recursive: true });
      if (await this.copyStored(bucket, key, target)) continue;
      const object = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(object.Body as Readable, createWriteStream(target));
    }
    return keys.length;
  }

  /** Links (or copies) the stored file of a listed object; false when there is none (the object is then downloaded). */
  private async copyStored(bucket: string, key: string, target: string): Promise<boolean> {
    if (!this.storedObject) return false;
    const stored = this.storedObject(bucket, key);
    if (!(await stat(stored).then((s) => s.isFile(), () => false))) return false;
    const linked = !this.copyOnly && (await link(stored, target).then(() => true, () => false));
    if (!linked) await copyFile(stored, target, constants.COPYFILE_FICLONE);
    else this.linked.set(target, { uri: `s3://${bucket}/${key}`, state: await fileState(target) });
    return true;
  }

  /**
   * The objects whose linked file changed since it was downloaded (the local S3 overwrote them in place), as
   * s3:// URIs. From then on, downloads copy: call download again for inputs that cannot change under a reader.
   */
  async changedObjects(): Promise<string[]> {
    const changed: string[] = [];
    for (const [file, { uri, state }] of this.linked) if ((await fileState(file).catch(() => "gone")) !== state) changed.push(uri);
    if (changed.length) this.copyOnly = true;
    this.linked.clear();
    return changed;
  }

  /**
   * Downloads each input (an S3 prefix) into `<dir>/<input name>` and returns the inputs with local paths.
   * An input with no objects fails, naming it; `field` names the argument the inputs came from.
   */
  async downloadInputs(inputs: readonly EtlInput[], dir: string, field: string): Promise<EtlInput[]> {
    const local: EtlInput[] = [];
    for (const input of inputs) {
      const source = parseS3Uri(input.path, `${field}, input '${input.name}'`);
      const target = join(dir, input.name);
      const count = await this.download(source.bucket, source.prefix, target);
      if (count === 0) throw new Error(`input '${input.name}': no objects at ${input.path}`);
      local.push({ ...input, path: target });
    }
    return local;
  }

  /** Overwrite, as Spark's mode("overwrite"): delete what is under the prefix, then upload the folder's files. */
  async replacePrefix(bucket: string, prefix: string, dir: string): Promise<void> {
    const old = await this.listKeys(bucket, prefix);
    for (let i = 0; i < old.length; i += 1000)
      await this.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: old.slice(i, i + 1000).map((Key) => ({ Key })) } }));
    for (const file of await listFiles(dir)) {
      const key = prefix + relative(dir, file).split("\\").join("/");
      const { size } = await stat(file);
      await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file), ContentLength: size }));
    }
  }
}

/** What a write changes: size and modification time (not the change time, which other links and unlinks move). */
async function fileState(file: string): Promise<string> {
  const { size, mtimeNs } = await stat(file, { bigint: true });
  return `${size}/${mtimeNs}`;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}
