// Moving a prefix between the local S3 and local files, for the local engines (Glue, Athena, EMR Serverless).
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

const s3Uri = /^s3:\/\/([^/]+)\/(.*)$/;

export function parseS3Uri(uri: string, field: string): { bucket: string; prefix: string } {
  const match = s3Uri.exec(uri);
  if (!match) throw new Error(`${field}: not an S3 URI: ${JSON.stringify(uri)}`);
  return { bucket: match[1], prefix: match[2] };
}

/** Every object under the prefix (folder markers left out), with its size. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const objects: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key && !object.Key.endsWith("/")) objects.push({ key: object.Key, size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Downloads every object under the prefix into `dir` (keys relative to the prefix); returns the bytes read per file. */
export async function downloadPrefix(s3: S3Client, bucket: string, prefix: string, dir: string): Promise<Array<{ file: string; size: number }>> {
  const files: Array<{ file: string; size: number }> = [];
  for (const { key } of await listObjects(s3, bucket, prefix)) {
    const target = join(dir, key.slice(prefix.length));
    await mkdir(dirname(target), { recursive: true });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await object.Body!.transformToByteArray();
    await writeFile(target, bytes);
    files.push({ file: target, size: bytes.length });
  }
  return files;
}

/** Uploads every file of `dir` under the prefix. */
export async function uploadDir(s3: S3Client, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const keys: string[] = [];
  for (const file of await listFiles(dir)) {
    const key = prefix + relative(dir, file).split("\\").join("/");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
    keys.push(key);
  }
  return keys;
}

/** Overwrite, as Spark's mode("overwrite"): delete what is under the prefix, then upload the new files. */
export async function replacePrefix(s3: S3Client, bucket: string, prefix: string, dir: string): Promise<void> {
  const old = (await listObjects(s3, bucket, prefix)).map((o) => o.key);
  for (let i = 0; i < old.length; i += 1000)
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: old.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  await uploadDir(s3, bucket, prefix, dir);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}
