// The runner's Glue client. Every call is bounded in time: a StartJobRun that hung past
// STALE_CLAIM_MS would let the check cycle re-claim the task and start a second run.
import { GlueClient } from "@aws-sdk/client-glue";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Per attempt; Glue answers in well under a second when healthy. */
export const GLUE_REQUEST_TIMEOUT_MS = 30_000;
/** SDK attempts per call (the default, pinned): worst case about 3 x 30 s, within STALE_CLAIM_MS. */
export const GLUE_MAX_ATTEMPTS = 3;

export function createGlueClient(): GlueClient {
  return new GlueClient({
    maxAttempts: GLUE_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: GLUE_REQUEST_TIMEOUT_MS,
      socketTimeout: GLUE_REQUEST_TIMEOUT_MS,
    }),
  });
}
