// One run of a job's transformation against the local S3, from the job's arguments (--etl_inputs, --etl_output,
// --etl_sql), as the Glue job or the EMR Serverless job run executes etl_common.py: the inputs are staged, the
// SQL runs with DuckDB (local/etl-engine.ts), and the output prefix is overwritten. Shared by the local Glue and the
// local EMR Serverless.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { EtlInput } from "../core/job-arguments";
import { COUNTS_OBJECT, parseQualityLimits } from "../core/quality";
import { runTransformation, type TransformationRequest, type TransformationResult } from "./etl-engine";
import { parseS3Uri, S3Staging, type StoredObjectPath } from "./s3-staging";

/** The engine contract (local/etl-engine.ts); input paths are local folders. */
export type Transformation = (request: TransformationRequest) => Promise<TransformationResult>;

export interface EtlJobRunOptions {
  s3: S3Client;
  /** Where the local S3 stores an object's bytes: inputs are linked (or copied) from there instead of downloaded. Default: downloaded. */
  storedObject?: StoredObjectPath;
  /** The job's arguments, as `--name` -> value. */
  args: Readonly<Record<string, string>>;
  /** glue-scripts/: the SQL file and schemas/. */
  scriptsDir: string;
  /** Default: local/etl-engine.ts runTransformation. */
  transformation?: Transformation;
  /** Prefix of the scratch folder's name. */
  label: string;
  /** The output is written only if this still holds when the transformation ends (a stopped run writes nothing). */
  stillRunning: () => boolean;
}

/** Fails with core/quality.ts DataQualityError (carrying the counts) when a data-quality gate does not pass. */
export async function runEtlJob(options: EtlJobRunOptions): Promise<Pick<TransformationResult, "rowsWritten" | "rowsRead" | "droppedRows">> {
  const { args, s3 } = options;
  let inputs: EtlInput[];
  try {
    inputs = JSON.parse(args["--etl_inputs"] ?? "") as EtlInput[];
    if (!Array.isArray(inputs)) throw new Error("not a list");
  } catch (e) {
    throw new Error(`argument --etl_inputs: invalid JSON list of inputs (${(e as Error).message})`);
  }
  const output = parseS3Uri(args["--etl_output"] ?? "", "argument --etl_output");
  const countsUri = args["--etl_counts"] ? parseS3Uri(args["--etl_counts"], "argument --etl_counts") : undefined;
  const sqlName = args["--etl_sql"];
  if (!sqlName) throw new Error("argument --etl_sql is missing");
  const quality = parseQualityLimits(args["--etl_quality"]);

  const transformation = options.transformation ?? runTransformation;
  const workDir = await mkdtemp(join(tmpdir(), `${options.label}-`));
  try {
    const staging = new S3Staging(s3, options.storedObject);
    const outputDir = join(workDir, "output");
    const transform = async () => {
      await rm(join(workDir, "inputs"), { recursive: true, force: true });
      const localInputs = await staging.downloadInputs(inputs, join(workDir, "inputs"), "argument --etl_inputs");
      await mkdir(outputDir, { recursive: true });
      return transformation({ inputs: localInputs, sqlFile: join(options.scriptsDir, sqlName), outputDir, scriptsDir: options.scriptsDir, quality });
    };
    // The inputs are the local S3's stored files, linked: one overwritten while the job read it makes the job run
    // again on copies (as if it had started after that upload).
    let result = await transform().catch(async (e: unknown) => {
      if ((await staging.changedObjects()).length) return transform();
      throw e;
    });
    if ((await staging.changedObjects()).length) result = await transform();
    const counts = { rowsWritten: result.rowsWritten, rowsRead: { ...result.rowsRead }, droppedRows: { ...result.droppedRows } };
    if (!options.stillRunning()) return counts;
    // The counts object, as etl_common.py writes it: at --etl_counts (a Glue job's, in its staging folder) once the
    // output is in place, else in the output folder (a staged run's, which the runner reads and never publishes).
    const rowsDropped = Object.fromEntries(Object.keys(result.rowsRead).map((name) => [name, result.droppedRows[name] ?? 0]));
    const countsObject = JSON.stringify({ taskId: args["--etl_task_id"] ?? null, rowsRead: counts.rowsRead, rowsDropped, rowsWritten: counts.rowsWritten });
    if (!countsUri) await writeFile(join(outputDir, COUNTS_OBJECT), countsObject);
    await staging.replacePrefix(output.bucket, output.prefix, outputDir);
    if (countsUri) await s3.send(new PutObjectCommand({ Bucket: countsUri.bucket, Key: countsUri.prefix, Body: countsObject, ContentType: "application/json" }));
    return counts;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
