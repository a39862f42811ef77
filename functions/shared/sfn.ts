// Step Functions activity helpers shared by both workers: long-poll client, sends that tell
// "the task is gone" apart from real errors, and the service's size limits.
import {
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  type SFNClientConfig,
} from "@aws-sdk/client-sfn";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { describeError } from "./aws-errors";
import type { Logger } from "./logger";
import { SFN_LIMITS } from "../../core/sfn-limits";

/** GetActivityTask holds the request up to 60 s; the socket must outlive it. */
export const LONG_POLL_SOCKET_TIMEOUT_MS = 65_000;
/** Time an invocation must still have before it starts another long-poll. */
export const LONG_POLL_MARGIN_MS = 70_000;

/** Step Functions' limits on task results (the local service enforces the same). */
export const LIMITS = SFN_LIMITS;

/** SFN answers these when the task was closed, timed out or its execution stopped. */
const TASK_GONE_ERRORS = new Set(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]);

export type SendOutcome = "sent" | "gone";

/** What a handler tells its worker about the current Lambda invocation. */
export interface Invocation {
  workerName: string;
  remainingMs: () => number;
}

export interface ActivityTask {
  taskToken: string;
  input: string;
}

/**
 * The workers' SFN client. `cacheMiddleware`: the middleware stack is resolved once per command class, not on every
 * call (a check cycle sends a heartbeat per active run); nothing adds middleware per command. `overrides` (endpoint,
 * region, credentials) serve local runs and benchmarks.
 */
export function createSfnClient(overrides: Pick<SFNClientConfig, "endpoint" | "region" | "credentials"> = {}): SFNClient {
  const client = new SFNClient({
    ...overrides,
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: LONG_POLL_SOCKET_TIMEOUT_MS,
      socketTimeout: LONG_POLL_SOCKET_TIMEOUT_MS,
    }),
  });
  reuseSigner(client);
  return client;
}

/**
 * Keeps the first request signer the client builds. The SDK builds a new SignatureV4 for every request (a copy of the
 * client's whole config, and a signing-key cache that starts empty, so four HMACs per request) from values that no
 * longer change once the client has signed: the signing region and name are fixed at its first request. The signer
 * asks the client's credential provider at each signing, so refreshed credentials are used as before.
 */
function reuseSigner(client: SFNClient): void {
  const build = client.config.signer;
  let signer: ReturnType<typeof build> | undefined;
  client.config.signer = (authScheme) =>
    (signer ??= build(authScheme).catch((error: unknown) => {
      signer = undefined; // a failed build (region unresolved) is tried again by the next request
      throw error;
    }));
}

/** A task's id for logs and keys: the SHA-256 (hex) of its token (tokens are long and secret-ish). */
export function taskIdOf(taskToken: string): string {
  return createHash("sha256").update(taskToken).digest("hex");
}

function isTaskGone(error: unknown): boolean {
  return error instanceof Error && TASK_GONE_ERRORS.has(error.name);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

async function send(call: () => Promise<unknown>): Promise<SendOutcome> {
  try {
    await call();
    return "sent";
  } catch (error) {
    if (isTaskGone(error)) return "gone";
    throw error;
  }
}

export function sendTaskFailure(sfn: SFNClient, taskToken: string, error: string, cause: string): Promise<SendOutcome> {
  const command = new SendTaskFailureCommand({ taskToken, error: truncate(error, LIMITS.error), cause: truncate(cause, LIMITS.cause) });
  return send(() => sfn.send(command));
}

/** Pauses between the attempts of a final send (three attempts in all). */
const FINAL_SEND_RETRY_DELAYS_MS: readonly number[] = [200, 800];

/**
 * SendTaskFailure for a task nobody else will ever answer (no item tracks its token): retried a few
 * times with a short backoff; if every attempt fails the token is orphaned, so it is logged loudly
 * and the error is rethrown (the invocation fails).
 */
export async function sendFinalTaskFailure(
  sfn: SFNClient,
  logger: Logger,
  taskToken: string,
  error: string,
  cause: string,
  context: Record<string, unknown>,
  delaysMs: readonly number[] = FINAL_SEND_RETRY_DELAYS_MS,
): Promise<SendOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendTaskFailure(sfn, taskToken, error, cause);
    } catch (sendError) {
      if (attempt >= delaysMs.length) {
        logger.error("SendTaskFailure failed on every attempt: this task token is ORPHANED until its timeout", {
          ...context,
          errorName: error,
          attempts: attempt + 1,
          error: describeError(sendError),
        });
        throw sendError;
      }
      logger.warn("SendTaskFailure failed; retrying", { ...context, attempt: attempt + 1, error: describeError(sendError) });
      await sleep(delaysMs[attempt]);
    }
  }
}

/** Sends `output` as JSON; an output over the SFN limit fails the task instead of being lost. */
export function sendTaskSuccess(sfn: SFNClient, taskToken: string, output: unknown): Promise<SendOutcome> {
  const json = JSON.stringify(output);
  if (json.length > LIMITS.output)
    return sendTaskFailure(sfn, taskToken, "OutputTooLarge", `task output has ${json.length} characters; Step Functions accepts ${LIMITS.output}`);
  return send(() => sfn.send(new SendTaskSuccessCommand({ taskToken, output: json })));
}

export function sendTaskHeartbeat(sfn: SFNClient, taskToken: string): Promise<SendOutcome> {
  return send(() => sfn.send(new SendTaskHeartbeatCommand({ taskToken })));
}

/** One long-poll; undefined when no task was scheduled within 60 s. */
export async function getActivityTask(sfn: SFNClient, activityArn: string, workerName: string): Promise<ActivityTask | undefined> {
  const answer = await sfn.send(new GetActivityTaskCommand({ activityArn, workerName: truncate(workerName, 80) }));
  return answer.taskToken ? { taskToken: answer.taskToken, input: answer.input ?? "" } : undefined;
}

/**
 * Long-polls until an empty poll, `maxTasks` tasks, or too little time is left for another
 * 60 s poll. `onTask` must answer or record every task it receives.
 */
export async function pollActivity(
  sfn: SFNClient,
  options: { activityArn: string; workerName: string; maxTasks: number; remainingMs: () => number },
  onTask: (task: ActivityTask) => Promise<void>,
): Promise<number> {
  let received = 0;
  while (received < options.maxTasks && options.remainingMs() > LONG_POLL_MARGIN_MS) {
    const task = await getActivityTask(sfn, options.activityArn, options.workerName);
    if (!task) break;
    received++;
    await onTask(task);
  }
  return received;
}

/** Name of this worker for GetActivityTask (visible in the SFN console). */
export function workerName(context?: { functionName?: string; awsRequestId?: string }): string {
  return `${context?.functionName ?? "etl-worker"}/${context?.awsRequestId ?? process.pid}`;
}
