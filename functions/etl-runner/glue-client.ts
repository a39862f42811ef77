// The runner's Glue client. Every call is bounded in time: a StartJobRun that hung past
// STALE_CLAIM_MS would let the check cycle re-claim the task and start a second run.
import { GlueClient } from "@aws-sdk/client-glue";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Per attempt; Glue answers in well under a second when healthy. */
export const GLUE_REQUEST_TIMEOUT_MS = 30_000;
/** SDK attempts per call (the default, pinned): worst case about 3 x 30 s, within STALE_CLAIM_MS. */
export const GLUE_MAX_ATTEMPTS = 3;

/**
 * The runner's Glue clients. `start` sends StartJobRun with one attempt: it is not idempotent, and an SDK
 * retry after a lost answer could start a second run (an unanswered start is adopted by its --etl_task_id;
 * a throttled one is reported as JobRetryableError and retried by the ASL).
 */
export function createGlueClients(): { glue: GlueClient; glueStart: GlueClient } {
  return { glue: createGlueClient(GLUE_MAX_ATTEMPTS), glueStart: createGlueClient(1) };
}

export function createGlueClient(maxAttempts = GLUE_MAX_ATTEMPTS): GlueClient {
  return new GlueClient({
    maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: GLUE_REQUEST_TIMEOUT_MS,
      socketTimeout: GLUE_REQUEST_TIMEOUT_MS,
    }),
  });
}
