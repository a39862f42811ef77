// Publishing a run's result (engine-neutral): a run that is not on Glue writes under <stagingUri><taskId>/; once it
// succeeded, the runner copies every staged object to the job's output prefix, deletes the output's other objects
// (the previous result), records that it published (a marker next to the staging folder), deletes the staged
// objects, and only then answers SendTaskSuccess. A retry after a crash at any step repeats it safely: once the marker
// exists the output is never touched again. A failed run's staged objects are deleted; the output stays as it was.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { COUNTS_OBJECT, parseCountsObject, type RunCounts } from "../../core/quality";
import { isServiceError } from "../shared/aws-errors";
import { mapConcurrent } from "../shared/concurrency";
import type { EngineName } from "./engine";
import type { JobSpecs } from "./job-specs";
import { countsRunUri, parseS3Uri, stagingRunUri, type S3Location } from "./s3-uri";

/** Copies in flight while publishing. */
const COPY_CONCURRENCY = 8;
/** DeleteObjects takes at most 1,000 keys. */
const DELETE_BATCH = 1000;
/** CopyObject copies at most 5 GiB; a larger object is copied in parts (UploadPartCopy). */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;
/** Parts of a multipart copy: 512 MiB, or more when the object would need over 10,000 parts (S3's limits). */
const PART_BYTES = 512 * 1024 ** 2;
const MAX_PARTS = 10_000;

export interface PublishTarget {
  stagingUri: string;
  outputUri: string;
}

/** `counts`: the run's counts object (core/quality.ts COUNTS_OBJECT), read and never published; absent if it wrote none. */
export type PublishResult = { published: number; counts?: RunCounts } | "empty";

/** An S3 failure worth another try next cycle (network, 5xx, throttling), as opposed to access or a missing bucket. */
export function isTransientS3Error(error: unknown): boolean {
  if (error instanceof CountsObjectError) return false;
  if (!isServiceError(error)) return true;
  return error.$fault === "server" || error.$metadata.httpStatusCode === 429 || error.name === "SlowDown";
}

/** A counts object that is not the run's (another task's) or not a counts object: trying again cannot help. */
export class CountsObjectError extends Error {
  override name = "CountsObjectError";
}

export class Publisher {
  constructor(
    private readonly s3: () => S3Client,
    private readonly specs: JobSpecs,
  ) {}

  /** Where a job's runs stage their output; undefined for Glue, whose runs write their output themselves. */
  async target(jobName: string, engine: EngineName): Promise<PublishTarget | undefined> {
    if (engine === "glue") return undefined;
    const { stagingUri, outputUri } = await this.specs.get(jobName, engine);
    return { stagingUri, outputUri };
  }

  /** Publishes the run of `taskId`; "empty" when it staged nothing and had not been published before. */
  async publish(target: PublishTarget, taskId: string): Promise<PublishResult> {
    const staging = parseS3Uri(stagingRunUri(target.stagingUri, taskId));
    const output = parseS3Uri(target.outputUri);
    const marker = markerOf(target, taskId);
    const stagedObjects = await this.listObjects(staging);
    const staged = stagedObjects.map((o) => o.key);
    const sizes = new Map(stagedObjects.map((o) => [o.key, o.size]));
    let done = await this.readMarker(marker);
    if (done === undefined) {
      const countsKey = staging.key + COUNTS_OBJECT;
      const counts = staged.includes(countsKey) ? await this.readCounts(staging.bucket, countsKey, taskId) : undefined;
      const data = staged.filter((key) => key !== countsKey);
      if (data.length === 0) return "empty";
      const relative = data.map((key) => key.slice(staging.key.length));
      await mapConcurrent(relative, COPY_CONCURRENCY, (name) =>
        this.copy({ bucket: staging.bucket, key: staging.key + name }, { bucket: output.bucket, key: output.key + name }, sizes.get(staging.key + name) ?? 0),
      );
      const keep = new Set(relative.map((name) => output.key + name));
      const stagingRoot = parseS3Uri(target.stagingUri);
      const previous = (await this.list(output)).filter(
        (key) => !keep.has(key) && !(output.bucket === stagingRoot.bucket && key.startsWith(stagingRoot.key)), // never the staging area itself
      );
      await this.deleteKeys(output.bucket, previous);
      // The marker keeps the counts: a retry after the staged objects are gone still reports them.
      done = { objects: relative.length, counts };
      await this.s3().send(new PutObjectCommand({ Bucket: marker.bucket, Key: marker.key, Body: JSON.stringify({ taskId, outputUri: target.outputUri, ...done }), ContentType: "application/json" }));
    }
    await this.deleteKeys(staging.bucket, staged);
    return { published: done.objects, ...(done.counts && { counts: done.counts }) };
  }

  /** After the task was answered (success or failure): its publish marker and its counts are no longer needed. */
  async finish(target: PublishTarget, taskId: string): Promise<void> {
    const marker = markerOf(target, taskId);
    await this.s3().send(new DeleteObjectCommand({ Bucket: marker.bucket, Key: marker.key }));
    await this.deleteCounts(target, taskId);
  }

  /** Deletes what a failed run staged. */
  async discard(target: PublishTarget, taskId: string): Promise<void> {
    const staging = parseS3Uri(stagingRunUri(target.stagingUri, taskId));
    await this.deleteKeys(staging.bucket, await this.list(staging));
  }

  /** An Athena run's counts (read before it was reported, never published). */
  private async deleteCounts(target: PublishTarget, taskId: string): Promise<void> {
    const counts = parseS3Uri(countsRunUri(target.stagingUri, taskId));
    await this.deleteKeys(counts.bucket, await this.list(counts));
  }

  private async list(location: S3Location): Promise<string[]> {
    return (await this.listObjects(location)).map((o) => o.key);
  }

  private async listObjects({ bucket, key: prefix }: S3Location): Promise<Array<{ key: string; size: number }>> {
    const objects: Array<{ key: string; size: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) objects.push({ key: object.Key, size: object.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** One object: CopyObject up to 5 GiB, else a multipart copy (aborted on failure, so no parts are left billed). */
  private async copy(source: S3Location, target: S3Location, size: number): Promise<void> {
    const CopySource = copySource(source.bucket, source.key);
    if (size <= MAX_COPY_OBJECT_BYTES) {
      await this.s3().send(new CopyObjectCommand({ Bucket: target.bucket, Key: target.key, CopySource }));
      return;
    }
    const partBytes = Math.max(PART_BYTES, Math.ceil(size / MAX_PARTS));
    const { UploadId } = await this.s3().send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key }));
    try {
      const ranges = Array.from({ length: Math.ceil(size / partBytes) }, (_, i) => ({ PartNumber: i + 1, first: i * partBytes, last: Math.min((i + 1) * partBytes, size) - 1 }));
      const parts: Array<{ PartNumber: number; ETag?: string }> = new Array(ranges.length);
      await mapConcurrent(ranges, COPY_CONCURRENCY, async ({ PartNumber, first, last }) => {
        const answer = await this.s3().send(
          new UploadPartCopyCommand({ Bucket: target.bucket, Key: target.key, UploadId, PartNumber, CopySource, CopySourceRange: `bytes=${first}-${last}` }),
        );
        parts[PartNumber - 1] = { PartNumber, ETag: answer.CopyPartResult?.ETag };
      });
      await this.s3().send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.s3()
        .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId }))
        .catch(() => undefined); // the copy's own error is the one to report
      throw error;
    }
  }

  /**
   * The number of objects a previous attempt published, or undefined when it did not get that far. Listed first: a
   * GetObject of a missing key answers 403 to a role whose ListBucket is limited by prefix.
   */
  private async readMarker(marker: S3Location): Promise<{ objects: number; counts?: RunCounts } | undefined> {
    if (!(await this.list(marker)).includes(marker.key)) return undefined;
    const answer = await this.s3().send(new GetObjectCommand({ Bucket: marker.bucket, Key: marker.key }));
    const body = JSON.parse((await answer.Body?.transformToString("utf8")) ?? "{}") as { objects?: unknown; counts?: RunCounts };
    return { objects: typeof body.objects === "number" ? body.objects : 0, ...(body.counts && { counts: body.counts }) };
  }

  /** The counts object at `uri` (a Glue job's, beside its output), which must be the task's. */
  readCountsAt(uri: string, taskId: string): Promise<RunCounts> {
    const { bucket, key } = parseS3Uri(uri);
    return this.readCounts(bucket, key, taskId);
  }

  /** A run's counts object; one written for another task (a stale object) is refused. */
  private async readCounts(bucket: string, key: string, taskId: string): Promise<RunCounts> {
    const answer = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const where = `s3://${bucket}/${key}`;
    const text = (await answer.Body?.transformToString("utf8")) ?? "";
    let parsed;
    try {
      parsed = parseCountsObject(text, where);
    } catch (error) {
      throw new CountsObjectError((error as Error).message);
    }
    const { taskId: writtenFor, ...counts } = parsed;
    if (writtenFor !== null && writtenFor !== taskId) throw new CountsObjectError(`${where}: written for task ${writtenFor}, not ${taskId}`);
    return counts;
  }

  private async deleteKeys(bucket: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const answer = await this.s3().send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const errors = answer.Errors ?? [];
      if (errors.length) throw new Error(`DeleteObjects refused ${errors.length} of ${batch.length} keys in ${bucket}: ${errors[0].Key}: ${errors[0].Code} ${errors[0].Message ?? ""}`.trim());
    }
  }
}

/** The record that a task's run was published: next to its staging folder, so it is never part of the output. */
function markerOf(target: PublishTarget, taskId: string): S3Location {
  const root = parseS3Uri(target.stagingUri);
  return { bucket: root.bucket, key: `${root.key}${taskId}.published` };
}

/** CopySource is "<bucket>/<key>", URL-encoded (slashes kept). */
const copySource = (bucket: string, key: string) => `${bucket}/${encodeURIComponent(key).replace(/%2F/g, "/")}`;
