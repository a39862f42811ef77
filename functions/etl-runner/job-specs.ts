// The specs of the jobs that are not on Glue (core/job-spec.ts): read from S3 at first use, validated, cached per
// container (a spec changes only with a deployment, which replaces the containers).
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { jobSpecKey, STAGING_URI_MARKER, type EngineName, type JobSpec } from "../../core/job-spec";
import { describeError, isServiceError } from "../shared/aws-errors";
import * as z from "../shared/zod";
import { parseS3Uri } from "./s3-uri";

/** A spec that cannot be used: fails the start with JobRetryableError when `retryable`, JobStartError otherwise. */
export class JobSpecError extends Error {
  override name = "JobSpecError";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const text = () => z.string().check(z.minLength(1));
const s3Folder = () => z.string().check(z.regex(/^s3:\/\/[^/]+\/(.+\/)?$/, "an S3 folder URI, s3://bucket/prefix/"));
const athenaSpec = z.object({
  engine: z.literal("athena"),
  jobName: text(),
  workGroup: text(),
  database: text(),
  query: text().check(z.refine((q) => q.includes(STAGING_URI_MARKER), `must contain the staging marker ${STAGING_URI_MARKER}`)),
  countsQuery: text().check(z.refine((q) => q.includes(STAGING_URI_MARKER), `must contain the staging marker ${STAGING_URI_MARKER}`)),
  quality: z.object({
    inputs: z.record(z.string(), z.object({ maxDroppedFraction: z.nullable(z.number().check(z.gte(0), z.lte(1))) })),
    minOutputRows: z.int().check(z.gte(0)),
    notNull: z.array(z.string()),
  }),
  outputUri: s3Folder(),
  stagingUri: s3Folder(),
  // Absent in a spec written before the runner checked headers: the statements then run as generated.
  rawInputs: z.optional(
    z.array(
      z.object({ input: text(), database: text(), table: text(), uri: s3Folder(), columns: z.array(z.object({ name: text(), source: text() })).check(z.minLength(1)) }),
    ),
  ),
});
const emrSpec = z.object({
  engine: z.literal("emr-serverless"),
  jobName: text(),
  applicationId: text(),
  executionRoleArn: z.string().check(z.regex(/^arn:[^:]+:iam::\d{12}:role\/.+$/, "an IAM role ARN")),
  entryPoint: z.string().check(z.regex(/^s3:\/\/[^/]+\/.+$/, "an S3 URI")),
  entryPointArguments: z.array(z.string()),
  sparkSubmitParameters: z.string(),
  outputUri: s3Folder(),
  stagingUri: s3Folder(),
});
const jobSpec = z.discriminatedUnion("engine", [athenaSpec, emrSpec]);

export class JobSpecs {
  private readonly cache = new Map<string, Promise<JobSpec>>();

  constructor(
    private readonly s3: () => S3Client,
    private readonly specsUri: string | undefined,
  ) {}

  /** The spec of `jobName`, which must be a job on `engine`. */
  async get<E extends JobSpec["engine"]>(jobName: string, engine: E): Promise<Extract<JobSpec, { engine: E }>> {
    let spec = this.cache.get(jobName);
    if (!spec) {
      spec = this.load(jobName);
      this.cache.set(jobName, spec);
      spec.catch(() => this.cache.delete(jobName)); // a failed read is tried again next time
    }
    const loaded = await spec;
    if (loaded.engine !== engine) throw new JobSpecError(`job spec of ${jobName} is for engine ${loaded.engine}, but JOB_ENGINES says ${engine as EngineName}`, false);
    return loaded as Extract<JobSpec, { engine: E }>;
  }

  private async load(jobName: string): Promise<JobSpec> {
    if (!this.specsUri) throw new JobSpecError(`no JOB_SPECS_URI: cannot read the spec of job ${jobName}`, false);
    const { bucket, key: prefix } = parseS3Uri(this.specsUri);
    const key = jobSpecKey(prefix, jobName);
    const where = `s3://${bucket}/${key}`;
    let body: string;
    try {
      const answer = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      body = (await answer.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      const retryable = !isServiceError(error) || error.$fault === "server" || error.$metadata.httpStatusCode === 429;
      const hint = error instanceof Error && error.name === "NoSuchKey" ? " (the stacks, or the local runtime, write a spec for every job not on Glue)" : "";
      throw new JobSpecError(`cannot read the job spec ${where}: ${describeError(error)}${hint}`, retryable);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      throw new JobSpecError(`job spec ${where} is not JSON (${(error as Error).message})`, false);
    }
    const result = jobSpec.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(spec)"}: ${issue.message}`);
      throw new JobSpecError(`invalid job spec ${where}: ${problems.join("; ")}`, false);
    }
    if (result.data.jobName !== jobName) throw new JobSpecError(`job spec ${where} is for job ${result.data.jobName}, not ${jobName}`, false);
    return result.data as JobSpec;
  }
}
