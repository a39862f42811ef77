// S3 event notifications: each created object under a dataset prefix becomes an arrival.
import { describeError } from "../shared/aws-errors";
import * as z from "../shared/zod";
import type { Arrival } from "./arrivals-table";
import { datasetOfKey } from "./config";
import type { ArrivalDeps, ArrivalSummary } from "./deps";
import { releaseWaits } from "./release";

const s3Record = z.object({
  eventName: z.string(),
  eventTime: z.iso.datetime({ offset: true }),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.optional(z.number()),
      eTag: z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
  }),
});

/** S3 writes keys URL-encoded, with '+' for a space. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/** Records every upload, then releases the waits of the datasets that got one. */
export async function handleS3Records(deps: ArrivalDeps, records: unknown[], summary: ArrivalSummary): Promise<void> {
  const { logger, config } = deps;
  const touched = new Set<string>();
  const failures: string[] = [];
  for (const [index, raw] of records.entries()) {
    const parsed = s3Record.safeParse(raw);
    if (!parsed.success) {
      summary.ignored++;
      logger.warn("ignoring unreadable S3 record", { index, problem: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") });
      continue;
    }
    const record = parsed.data;
    const bucket = record.s3.bucket.name;
    let key: string;
    try {
      key = decodeS3Key(record.s3.object.key);
    } catch {
      summary.ignored++;
      logger.warn("ignoring S3 object with a malformed key", { bucket, key: record.s3.object.key });
      continue;
    }
    const dataset = datasetOfKey(config.datasets, key);
    const reason = !record.eventName.startsWith("ObjectCreated:")
      ? `event ${record.eventName}`
      : bucket !== config.dataBucket
        ? `bucket ${bucket} is not the data bucket`
        : key.endsWith("/")
          ? "folder marker"
          : dataset === undefined
            ? "key outside every dataset prefix"
            : undefined;
    if (reason !== undefined || dataset === undefined) {
      summary.ignored++;
      logger.info("ignoring S3 object", { bucket, key, reason });
      continue;
    }
    const arrival: Arrival = {
      dataset,
      bucket,
      key,
      size: record.s3.object.size ?? 0,
      eTag: record.s3.object.eTag ?? "",
      eventTime: new Date(record.eventTime).toISOString(),
      sequencer: record.s3.object.sequencer ?? record.s3.object.eTag ?? "",
    };
    try {
      const result = await deps.table.recordArrival(arrival, deps.now());
      if (result === "recorded") summary.uploadsRecorded++;
      else summary.duplicates++;
      logger.info(result === "recorded" ? "upload recorded" : "duplicate S3 event", { dataset, key, eventTime: arrival.eventTime });
      // A duplicate still looks for waits: the first delivery may have died before releasing one.
      touched.add(dataset);
    } catch (error) {
      summary.errors++;
      failures.push(`${bucket}/${key}: ${describeError(error)}`);
      logger.error("could not record upload", { dataset, key, error: describeError(error) });
    }
  }
  for (const dataset of touched) await releaseWaits(deps, dataset, summary);
  // Throwing makes Lambda retry the event, so an upload is never dropped silently.
  if (failures.length) throw new Error(`could not record ${failures.length} upload(s): ${failures.join("; ")}`);
}
