// `npm run serve -- [--port N] [--fail-job-once JOB]`: the deployed system, locally, on one endpoint for the AWS CLI
// and SDKs (see USAGE). Runs until Ctrl-C or SIGTERM, then closes every service.
import { defineCommand, integerOption, runAsScript, UsageError } from "../core/cli-args";
import { loadConfig, resourceNames, type EtlConfig } from "../core/config";
import { startEdge, type Edge } from "./edge";
import { formatProgress } from "./progress";
import { jobIdsNamed } from "./failure-injection";
import { InputError } from "./inputs";
import type { ProgressEvent } from "./runtime";

// Loaded once the arguments parse (core/cli-args.ts: entry points).
const runtime = () => require("./runtime") as typeof import("./runtime");

export const SERVE_COMMAND = defineCommand({
  command: "npm run serve --",
  summary: `Serves S3, DynamoDB, Step Functions, Glue and the engines the jobs use (Athena, EMR Serverless) on one
local port, like LocalStack's edge port, with every resource the stacks create (the active configuration's names)
and the real handlers wired as on AWS: uploads release the waits, the runner starts the jobs, failures notify. Use
it with the AWS CLI or an SDK (--endpoint-url, any credentials) and run the walkthrough of the README's "Operate"
section.`,
  options: {
    port: { type: "string", value: "N", description: "port on 127.0.0.1 (0: any free port). Default: 4566" },
    "fail-job-once": { type: "string", value: "JOB", multiple: true, description: "the first run of that job fails on its engine (Glue, Athena or EMR\nServerless; job id such as PSD, or job name such as etl-dev-PSD), to rehearse\nredrive-execution" },
  },
  epilogue: `Prints the endpoint, the bucket, the state machine ARN, the engines' workgroup and application, and a line
starting with "ready", then one line per state transition and job-run change. Stops on Ctrl-C or SIGTERM (exit 0).
Environment: ETL_CONFIG (configuration file), ETL_ENV (environment), POWERTOOLS_LOG_LEVEL (handler logs, default WARN).`,
});

export const DEFAULT_PORT = 4566;

export interface ServeOptions {
  config: EtlConfig;
  port: number;
  failJobsOnce?: readonly string[];
  out?: (line: string) => void;
}

export interface Serving {
  endpoint: string;
  bucket: string;
  stateMachineArn: string;
  close(): Promise<void>;
}

/** Starts the services and the edge; `close` stops everything (idempotent). */
export async function serve(options: ServeOptions): Promise<Serving> {
  const { config } = options;
  const out = options.out ?? (() => undefined);
  const names = resourceNames(config);
  const bucket = `${config.dataLake.bucketPrefix}local`;
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((e) => process.emitWarning(`serve: cleanup failed: ${(e as Error).message}`));
  };
  const startMs = Date.now();
  const progress = (event: Record<string, unknown> & { type: ProgressEvent["type"] }) => {
    if (event.type === "services") return; // the edge is what users talk to
    const line = formatProgress({ at: new Date().toISOString(), ...event } as ProgressEvent, startMs);
    if (line) out(line);
  };
  let edge: Edge;
  let stateMachineArn: string;
  let engineResources: string[] = [];
  const { checkedWorkflow, startLocalServices } = runtime();
  // The workflow and the catalog schemas against the configuration, before any server starts.
  const stateMachine = await checkedWorkflow(config, config.region);
  try {
    const services = await startLocalServices({
      config,
      stateMachine,
      bucket,
      failJobsOnce: options.failJobsOnce,
      eventDriven: true,
      fallbackPeriodMs: 10_000,
      progress,
      onNotification: (n) => progress({ type: "notification", message: `${n.message} (topic ${n.topicArn})` }),
      cleanups,
    });
    // The executions end (ABORTED) before the other services go.
    cleanups.push(() => services.stop());
    stateMachineArn = services.sfn.stateMachineArn;
    // What an operator names in the engines' describe calls (on AWS: list-work-groups, list-applications).
    engineResources = [
      ...(services.athena ? [`athena workgroup ${names.athenaWorkGroup}`] : []),
      ...(services.emrApplicationId ? [`emr-serverless application ${names.emrApplication} (id ${services.emrApplicationId})`] : []),
    ];
    // The engines' services, when a job uses them: Athena by its X-Amz-Target prefix or SigV4 scope, EMR Serverless
    // (REST JSON) by its SigV4 scope.
    const extra: Record<string, string> = {
      ...(services.athena ? { AmazonAthena: services.athena.endpoint, athena: services.athena.endpoint } : {}),
      ...(services.emr ? { "emr-serverless": services.emr.endpoint } : {}),
    };
    edge = await startEdge({ s3: services.s3.endpoint, dynamodb: services.dynamodb.endpoint, sfn: services.sfn.endpoint, glue: services.glue.endpoint, extra }, options.port);
    cleanups.push(() => edge.close());
  } catch (e) {
    await closeAll();
    if ((e as NodeJS.ErrnoException)?.code === "EADDRINUSE") throw new UsageError(`--port ${options.port}: the port is in use (is another 'npm run serve' or LocalStack running?)`);
    throw e;
  }
  out(`endpoint: ${edge.endpoint}`);
  out(`bucket: ${bucket} (upload under ${Object.values(config.datasets).map((d) => d.prefix).join(", ")})`);
  out(`state machine: ${stateMachineArn}`);
  // Each job by the engine it runs on: only jobs on Glue are Glue jobs (GetJobs knows no other).
  out(`tables: ${names.runnerTable}, ${names.arrivalTable}; jobs: ${Object.entries(config.jobs).map(([id, job]) => `${names.glueJob(id)} (${job.engine})`).join(", ")}`);
  if (engineResources.length) out(`engines: ${engineResources.join("; ")}`);
  out(`ready: aws --endpoint-url ${edge.endpoint} stepfunctions start-execution --state-machine-arn ${stateMachineArn}`);
  return { endpoint: edge.endpoint, bucket, stateMachineArn, close: closeAll };
}

async function main(values: { port?: string; "fail-job-once"?: string[] }): Promise<number> {
  const config = loadConfig();
  const port = integerOption("port", values.port, { max: 65535 }) ?? DEFAULT_PORT;
  const failJobsOnce = values["fail-job-once"] ?? [];
  try {
    jobIdsNamed(config, failJobsOnce, "--fail-job-once");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  let serving: Serving;
  try {
    serving = await serve({ config, port, failJobsOnce, out: (line) => console.log(line) });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    console.error(`error: ${e.message}`);
    return 2;
  }
  await new Promise<void>((resolve) => {
    // The handlers stay while closing: npm forwards the signal it got to this process too, and a second Ctrl-C of
    // the same press (the process group's and npm's) must not kill the shutdown halfway.
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.error(`${signal}: closing the local services...`);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await serving.close();
  console.error("closed");
  return 0;
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  runAsScript(SERVE_COMMAND, main);
}
