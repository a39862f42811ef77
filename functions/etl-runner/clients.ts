// The runner's engine and S3 clients. Every call is bounded in time: a start that hung past STALE_CLAIM_MS would let
// the check cycle re-claim the task and start a second run.
import { AthenaClient } from "@aws-sdk/client-athena";
import { EMRServerlessClient } from "@aws-sdk/client-emr-serverless";
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Per attempt; the engines answer in well under a second when healthy. */
export const ENGINE_REQUEST_TIMEOUT_MS = 30_000;
/** SDK attempts per call (the default, pinned): worst case about 3 x 30 s, within STALE_CLAIM_MS. */
export const ENGINE_MAX_ATTEMPTS = 3;
/** Kept for the Glue tests' names. */
export const GLUE_REQUEST_TIMEOUT_MS = ENGINE_REQUEST_TIMEOUT_MS;
export const GLUE_MAX_ATTEMPTS = ENGINE_MAX_ATTEMPTS;

function clientOptions(maxAttempts = ENGINE_MAX_ATTEMPTS) {
  return {
    maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: ENGINE_REQUEST_TIMEOUT_MS,
      socketTimeout: ENGINE_REQUEST_TIMEOUT_MS,
    }),
  };
}

/**
 * The runner's Glue clients. `start` sends StartJobRun with one attempt: it is not idempotent, and an SDK
 * retry after a lost answer could start a second run (an unanswered start is adopted by its --etl_task_id;
 * a throttled one is reported as JobRetryableError and retried by the ASL).
 */
export function createGlueClients(): { glue: GlueClient; glueStart: GlueClient } {
  return { glue: createGlueClient(GLUE_MAX_ATTEMPTS), glueStart: createGlueClient(1) };
}

export function createGlueClient(maxAttempts = GLUE_MAX_ATTEMPTS): GlueClient {
  return new GlueClient(clientOptions(maxAttempts));
}

/** StartQueryExecution carries a ClientRequestToken, so the SDK's retries are safe for every call. */
export const createAthenaClient = () => new AthenaClient(clientOptions());

/** StartJobRun carries a clientToken, so the SDK's retries are safe for every call. */
export const createEmrServerlessClient = () => new EMRServerlessClient(clientOptions());

/** Job specs and publishing. Checksums only where S3 requires them (as the local S3 needs, see PLATFORM.md). */
export const createS3Client = () =>
  new S3Client({ ...clientOptions(), requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED", forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
