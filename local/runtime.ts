// The local runtime behind `npm start`: local S3, DynamoDB, Step Functions and each engine a job uses (Glue, Athena,
// EMR Serverless) on 127.0.0.1, and the real handler modules invoked in-process the way Lambda would (async, with a
// context), from the same events: S3 notifications, the workflow's RUNNING status change, the functions' own
// RunnerTaskScheduled events (and any putEvents kick in the ASL), the engines' state changes and a fallback schedule.
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { Context } from "aws-lambda";
import { checkCatalogSchemas, loadWorkflow } from "../asl/consistency";
import type { LoadedStateMachine } from "../asl/loader";
import { catalogTables } from "../core/catalog";
import { loadConfig, localHandlerPath, resourceNames, scriptsDir, type EtlConfig } from "../core/config";
import type { EngineName } from "../core/job-spec";
import { jobSpecs } from "../core/job-specs";
import { launched } from "../core/launched";
import { ARRIVAL_TABLE, RUNNER_TABLE } from "../core/table-keys";
import { EMR_APPLICATION_ID_REF, FUNCTIONS, jobsOn, type FunctionId } from "../core/topology";
import { startLocalAthena, type LocalAthenaServer, type QueryExecution } from "./athena-service";
import { startLocalEmrServerless, type EmrJobRun, type LocalEmrServerlessServer } from "./emr-serverless-service";
import { LOCAL_ACCOUNT, localStateMachineArn, localWorkflowArns } from "./arns";
import type { LocalDynamoDB } from "./dynamodb";
import { saveEnv, withEnv } from "./env";
import { LocalEventBus, localWiring, type S3NotificationEvent } from "./event-bus";
import { startLocalEventBridge } from "./eventbridge-service";
import { InjectedFailures } from "./failure-injection";
import { startLocalGlue, type JobRun, type LocalGlueServer } from "./glue-service";
import { startRunInputCopies, type InputCopies } from "./input-copies";
import { checkCsvHeaders, InputError } from "./inputs";
import { OutputFolder, type OutputContents } from "./output-folder";
import { writeDatasetSamples } from "./dataset-samples";
import type { LocalS3 } from "./s3";
import type { LocalStepFunctions, PutEventsEntry, SfnEvent } from "./sfn-service";
import type { RunCounts } from "../core/quality";

// The servers' libraries (s3rver, dynalite, aws-local-stepfunctions: about 0.6 s of CPU, most of this module's
// import) load once the services start: a run refused for its configuration or inputs loads none of them.
const s3Service = () => require("./s3") as typeof import("./s3");
const dynamodbService = () => require("./dynamodb") as typeof import("./dynamodb");
const sfnService = () => require("./sfn-service") as typeof import("./sfn-service");

export interface RuntimeOptions {
  /** Default: etl.config.json (ETL_CONFIG / ETL_ENV honoured). */
  config?: EtlConfig;
  /** CSV file per dataset id. Datasets not given use the generated sample data. */
  inputs?: Record<string, string>;
  /**
   * Folder that receives the final job's Parquet files (and nothing else); with several final jobs, each one's in a
   * subfolder named after the job (outputSubfolders).
   */
  outDir: string;
  /** Job ids or job names whose runs end FAILED, whatever their engine (local/failure-injection.ts). Default: none. */
  failJobs?: readonly string[];
  /** Upload before StartExecution (the input then carries dataSince). Default: false (upload after the start). */
  uploadBeforeStart?: boolean;
  /** Milliseconds to wait before uploading each dataset. Default: 0. */
  uploadDelaysMs?: Record<string, number>;
  /**
   * Deliver the workflow's RUNNING events, the functions' RunnerTaskScheduled events (and any kick in the ASL) and
   * the engines' state-change events to the functions. Off = schedule-only: the functions wake on the fallback
   * schedule only (S3 notifications still record uploads). Default: true.
   */
  eventDriven?: boolean;
  /** Period of the fallback "Scheduled Event" to both functions. Default: 10,000 ms. */
  fallbackPeriodMs?: number;
  /**
   * How long GetActivityTask holds an empty poll. The functions poll until an empty poll before their
   * scheduled checks, so schedule-only runs want this short. Default: 60,000 ms, as AWS.
   */
  longPollMs?: number;
  /**
   * Copies of the large inputs, started early by the caller (startRunInputCopies of these options); the run takes
   * them when it stores the inputs and closes them. Default: started by the run.
   */
  inputCopies?: InputCopies;
  /** Time a Glue run spends in STARTING (and STOPPING). Default: 200 ms. */
  glueTransitionMs?: number;
  /** The run gives up (FAILED) after this long. Default: 10 minutes. */
  timeoutMs?: number;
  /** Aborting it stops the run and closes everything (Ctrl-C). */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent = { at: string } & (
  | { type: "services"; endpoints: Record<string, string> }
  | { type: "upload"; dataset: string; file: string; key: string; bytes: number }
  | { type: "execution"; status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED"; executionArn: string; error?: string; cause?: string }
  | { type: "state"; name: string; phase: "entered" | "exited"; status?: string; error?: string }
  | { type: "job"; jobName: string; engine: EngineName; runId: string; state: string; errorMessage?: string; rowsRead?: Record<string, number>; droppedRows?: Record<string, number>; rowsWritten?: number }
  | { type: "notification"; subject?: string; message: string }
  | { type: "invocation"; functionName: string; trigger: string }
  | { type: "invocation-error"; functionName: string; trigger: string; error: string }
  | { type: "output"; dir: string; files: string[]; rows: number }
);

export interface RunReport {
  status: "SUCCEEDED" | "FAILED";
  executionArn: string;
  startedAt: string;
  stoppedAt: string;
  states: Array<{ name: string; enteredAt: string; exitedAt: string | null; status: string }>;
  /**
   * The job's counts, once it has them (it succeeded, or failed its data-quality gate): rowsRead per input,
   * droppedRows per CSV input (malformed or unparseable rows), rowsWritten.
   */
  jobs: Array<{
    jobName: string;
    /** The job's engine; runId is that engine's run id (Glue job run, Athena query execution, EMR Serverless job run). */
    engine: EngineName;
    runId: string;
    state: string;
    startedOn: string;
    completedOn: string | null;
    errorMessage?: string;
    rowsRead?: Record<string, number>;
    droppedRows?: Record<string, number>;
    rowsWritten?: number;
  }>;
  notifications: Array<{ topicArn: string; subject?: string; message: string; at: string }>;
  /**
   * What the output folder holds when the run ends: its result files and rows (with several final jobs, `files`
   * are `<job>/<file>` and `byJob` gives each job's subfolder, files and rows). `written`: this run wrote them;
   * false when it failed, which leaves the previous result (if any) in place.
   */
  output: OutputContents & { written: boolean };
  /** Why the run failed (the execution's error and cause, or the runtime's own). */
  error?: string;
}

export { InputError };

type Handler = (event: unknown, context: Context) => Promise<unknown>;

interface LocalFunction {
  name: string;
  timeoutSeconds: number;
  memoryMb: number;
  env: Record<string, string>;
  handler: Handler;
}

const iso = (d: Date = new Date()) => d.toISOString();

function lambdaContext(fn: LocalFunction, region: string): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const unsupported = () => {
    throw new Error("callback-style completion is not supported; return a promise");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${fn.name}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** The process-wide variables the runtime sets for the handlers' SDK clients. */
const SHARED_ENV = [
  "AWS_ENDPOINT_URL_SFN",
  "AWS_ENDPOINT_URL_GLUE",
  "AWS_ENDPOINT_URL_ATHENA",
  "AWS_ENDPOINT_URL_EMR_SERVERLESS",
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL_EVENTBRIDGE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
] as const;

const FUNCTIONS_DIR = resolve(__dirname, "..", "functions");

/**
 * Loads functions/<name>/handler.ts as a new Lambda container would: fresh module state (the handlers cache
 * their clients and environment per container), so a second run in the same process gets its own endpoints.
 */
function coldStart<T>(name: string): T {
  // Launched from a prebuilt app (tools/launch.cjs): the handler's own bundle, run again.
  const app = launched();
  if (app) {
    const file = join(FUNCTIONS_DIR, name, "handler.ts");
    const bundled = app.loadFresh(file);
    if (!bundled) throw new Error(`${file}: not an entry point of the launched app's build (tools/app-build.ts HANDLER_ENTRIES)`);
    return bundled as T;
  }
  const forget = () => {
    for (const key of Object.keys(require.cache)) if (key.startsWith(FUNCTIONS_DIR + sep)) delete require.cache[key];
  };
  forget();
  const module = require(join(FUNCTIONS_DIR, name, "handler")) as T;
  // Nor does this container's state leak to a later importer in the same process (a test of the handler, say).
  forget();
  return module;
}

/** An EventBridge event as a rule target receives it. */
function eventBridgeEvent(source: string, detailType: string, detail: unknown, region: string) {
  return { version: "0", id: randomUUID(), "detail-type": detailType, source, account: LOCAL_ACCOUNT, time: iso().replace(/\.\d{3}Z$/, "Z"), region, resources: [], detail };
}

/** The jobs whose outputs are the workflow's result: those no other job reads, in the configuration's order. */
export function finalJobs(config: EtlConfig): string[] {
  const read = new Set(Object.values(config.jobs).flatMap((j) => j.inputs.map((i) => i.job).filter((id) => id !== undefined)));
  return Object.keys(config.jobs).filter((id) => !read.has(id));
}

/**
 * Where each final job's output goes in the output folder: directly in it when there is one final job (the files
 * are the result), else in a subfolder named after the job, so results of different shapes never mix.
 */
export function outputSubfolders(config: EtlConfig): Record<string, string> {
  const jobs = finalJobs(config);
  return Object.fromEntries(jobs.map((id) => [id, jobs.length > 1 ? id : ""]));
}

/** Runs the workflow once, end to end, and returns its report. Every server is closed before it returns or throws. */
export async function runLocalWorkflow(options: RuntimeOptions): Promise<RunReport> {
  const config = options.config ?? loadConfig();
  const names = resourceNames(config);
  const region = config.region;
  const eventDriven = options.eventDriven ?? true;
  const fallbackPeriodMs = options.fallbackPeriodMs ?? 10_000;
  if (!Number.isInteger(fallbackPeriodMs) || fallbackPeriodMs < 10) throw new Error(`fallbackPeriodMs ${options.fallbackPeriodMs}: expected an integer of at least 10`);
  const outDir = resolve(options.outDir);
  const progress = (event: Record<string, unknown> & { type: ProgressEvent["type"] }) => options.onProgress?.({ at: iso(), ...event } as ProgressEvent);

  const datasetIds = Object.keys(config.datasets);
  const unknownInputs = Object.keys(options.inputs ?? {}).filter((d) => !datasetIds.includes(d));
  if (unknownInputs.length) throw new InputError(`unknown dataset ${unknownInputs.join(", ")}; known: ${datasetIds.join(", ")}`);
  const unknownDelays = Object.keys(options.uploadDelaysMs ?? {}).filter((d) => !datasetIds.includes(d));
  if (unknownDelays.length) throw new InputError(`upload delay for unknown dataset ${unknownDelays.join(", ")}; known: ${datasetIds.join(", ")}`);

  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((e) => process.emitWarning(`local runtime: cleanup failed: ${(e as Error).message}`));
  };

  // Ctrl-C while the inputs and the output folder are checked ends the run as promptly as later on.
  const checkInterrupted = (step: string) => {
    if (options.signal?.aborted) throw new Error(`interrupted while ${step}`);
  };
  try {
    // Made on a worker thread while the checks run and the services start.
    const copies = options.inputCopies ?? startRunInputCopies(options);
    cleanups.push(() => copies.close());
    checkInterrupted("starting");
    // The workflow and the catalog schemas against the configuration, then the inputs: a miscopied ASL branch,
    // a stale catalog schema or a bad file is reported before any server starts.
    const stateMachine = await checkedWorkflow(config, region);
    const files: Record<string, string> = { ...options.inputs };
    const missing = datasetIds.filter((d) => !files[d]);
    if (missing.length) {
      const sampleDir = await mkdtemp(join(tmpdir(), "etl-sample-"));
      cleanups.push(() => rm(sampleDir, { recursive: true, force: true }));
      Object.assign(files, await writeDatasetSamples(config, sampleDir, missing));
    }
    checkInterrupted("preparing the inputs");
    const parts = await checkCsvHeaders(config, files, options.signal);
    checkInterrupted("checking the inputs");
    // Locked for this run; nothing in it changes until the run has succeeded (see output-folder.ts).
    const output = await OutputFolder.claim(outDir, Object.values(outputSubfolders(config)).filter(Boolean));
    cleanups.push(() => output.release());
    checkInterrupted("checking the output folder");

    return await runWithServices(config, options, { stateMachine, files, parts, copies, names, region, eventDriven, fallbackPeriodMs, output, progress, cleanups });
  } finally {
    await closeAll();
  }
}

/** The configuration's workflow, checked against it (asl/consistency.ts); a problem is bad input (exit 2). */
export async function checkedWorkflow(config: EtlConfig, region: string): Promise<LoadedStateMachine> {
  try {
    const stateMachine = loadWorkflow(config, localWorkflowArns(config, region));
    await checkCatalogSchemas(config);
    return stateMachine;
  } catch (e) {
    if ((e as Error).name === "AslError" || (e as Error).name === "ConfigError") throw new InputError((e as Error).message);
    throw e;
  }
}

interface RunContext {
  stateMachine: LoadedStateMachine;
  /** Per dataset: the input path (a file or a folder) and its data files. */
  files: Record<string, string>;
  parts: Record<string, string[]>;
  copies: InputCopies;
  names: ReturnType<typeof resourceNames>;
  region: string;
  eventDriven: boolean;
  fallbackPeriodMs: number;
  output: OutputFolder;
  progress: (event: Record<string, unknown> & { type: ProgressEvent["type"] }) => void;
  cleanups: Array<() => Promise<void>>;
}

export interface LocalServicesOptions {
  config: EtlConfig;
  /** The workflow, loaded and checked (checkedWorkflow). */
  stateMachine: LoadedStateMachine;
  /** The data-lake bucket's name. */
  bucket: string;
  /** Job ids or job names whose runs end FAILED, whatever their engine. Default: none. */
  failJobs?: readonly string[];
  /** Job ids or job names whose first run ends FAILED (the later ones run), whatever their engine. Default: none. */
  failJobsOnce?: readonly string[];
  /** See RuntimeOptions.eventDriven. */
  eventDriven: boolean;
  /** See RuntimeOptions.fallbackPeriodMs. */
  fallbackPeriodMs: number;
  /** See RuntimeOptions.longPollMs. */
  longPollMs?: number;
  /** See RuntimeOptions.glueTransitionMs. */
  glueTransitionMs?: number;
  progress: (event: Record<string, unknown> & { type: ProgressEvent["type"] }) => void;
  /** Called with each message the failure notification's rule publishes. Default: none (they are in sfn.notifications). */
  onNotification?: (notification: { topicArn: string; message: string; at: string }) => void;
  /** Receives what must run at shutdown, in start order (run them in reverse). */
  cleanups: Array<() => Promise<void>>;
}

export interface LocalServices {
  s3: LocalS3;
  dynamodb: LocalDynamoDB;
  glue: LocalGlueServer;
  /** The local Athena, when a job runs on Athena. */
  athena?: LocalAthenaServer;
  /** The local EMR Serverless, when a job runs on it. */
  emr?: LocalEmrServerlessServer;
  /** The id of the EMR Serverless application the glue stack creates, when a job runs on it. */
  emrApplicationId?: string;
  sfn: LocalStepFunctions;
  /** The default event bus: an event put on it reaches the functions as the stacks' rules deliver it. */
  bus: LocalEventBus;
  /** Every job run so far, on every engine, in start order (for reports). */
  jobRuns(): RunReport["jobs"];
  /**
   * Holds back the S3 notifications of these keys until the returned function is called (S3 delivers a folder's
   * notifications once every part is stored, so a job never starts on half a folder).
   */
  holdNotifications(keys: string[]): () => void;
  /** Stops invoking the functions and the schedules, and ends the Step Functions executions (the servers close in the cleanups). */
  stop(): Promise<void>;
}

/**
 * Starts the local services with every resource the stacks create (bucket, tables, activities, state machine, jobs),
 * and wires the real handlers to them as on AWS, from the topology: the bucket notification, the kicks, the
 * state-change events, the failure notification and the fallback schedules. The handlers' SDK clients reach the
 * services through the process's AWS_ENDPOINT_URL_* variables (restored by the cleanups).
 */
export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const { config, bucket, progress, cleanups } = options;
  const names = resourceNames(config);
  const region = config.region;
  const arns = localWorkflowArns(config, region);
  const datasetIds = Object.keys(config.datasets);
  const run = { eventDriven: options.eventDriven, fallbackPeriodMs: options.fallbackPeriodMs };
  const artifactBucket = `${config.artifacts.bucketPrefix}local`;
  // Restored last, after every service and invocation has ended.
  const restoreEnv = saveEnv(SHARED_ENV);
  cleanups.push(async () => restoreEnv());

  let closing = false;
  const invocations = new Set<Promise<void>>();
  const functions: Partial<Record<FunctionId, LocalFunction>> = {};
  /** Lambda's async invoke: returns at once; errors are logged, never thrown. */
  const invoke = (which: FunctionId, trigger: string, event: unknown) => {
    if (closing) return;
    const fn = functions[which];
    if (!fn) return;
    progress({ type: "invocation", functionName: fn.name, trigger });
    const invocation = (async () => {
      try {
        // Set only while the handler runs synchronously (it reads its environment then): restoring once the
        // promise settles would undo an overlapping invocation's environment.
        await withEnv(fn.env, () => ({ running: fn.handler(event, lambdaContext(fn, region)) })).running;
      } catch (e) {
        progress({ type: "invocation-error", functionName: fn.name, trigger, error: (e as Error)?.stack ?? String(e) });
      }
    })();
    invocations.add(invocation);
    void invocation.finally(() => invocations.delete(invocation));
  };
  // --fail-job and --fail-job-once name a job by id or by name, whatever its engine; each engine asks by job name.
  const failures = new InjectedFailures(config, { always: options.failJobs, once: options.failJobsOnce });
  const jobIdOfName = new Map(Object.keys(config.jobs).map((id) => [names.glueJob(id), id]));
  const injectedFailure = (jobName: string) => failures.failure(jobIdOfName.get(jobName));
  const seenRunStates = new Map<string, string>();
  const jobProgress = (engine: EngineName, jobName: string, runId: string, state: string, errorMessage?: string, counts: ReturnType<typeof runCounts> = {}) => {
    if (seenRunStates.get(runId) === state) return;
    seenRunStates.set(runId, state);
    progress({ type: "job", jobName, engine, runId, state, errorMessage, ...counts });
  };
  // The rules and the bucket notification of the stacks, from the same topology, created once the EMR Serverless
  // application (named by a rule) exists; the failure topic's messages are recorded with the Step Functions
  // service's (started below).
  let bus: LocalEventBus | undefined;
  let sfn: LocalStepFunctions | undefined;
  const putEngineEvent = (event: { "detail-type": string }) => {
    if (run.eventDriven) bus?.put(event);
    // The rule Step Functions keeps for its .sync tasks.
    sfn?.serviceEvent(event as Parameters<LocalStepFunctions["serviceEvent"]>[0]);
  };

  // S3 notifications held back while a dataset's parts are uploaded, by object key.
  const heldNotifications = new Map<string, S3NotificationEvent[]>();
  // Services. Each is closed in reverse order of start, after the in-flight invocations settle.
  const dynamodb: LocalDynamoDB = await dynamodbService().startLocalDynamoDB({ [names.runnerTable]: RUNNER_TABLE, [names.arrivalTable]: ARRIVAL_TABLE }, region);
  cleanups.push(() => dynamodb.close());
  const s3: LocalS3 = await s3Service().startLocalS3({
    bucket,
    otherBuckets: [artifactBucket],
    region,
    // The notification is the data-lake bucket's. S3 delivers notifications asynchronously: those of a folder's
    // parts arrive once every part is stored, so a job never starts on half a folder. The bus filters them as the
    // bucket notification does.
    onObjectCreated: (event) => {
      const records = event.Records.filter((r) => r.s3.bucket.name === bucket);
      if (records.length === 0) return;
      const ours = { ...event, Records: records };
      const holding = records.map((r) => heldNotifications.get(r.s3.object.key)).find((h) => h !== undefined);
      if (holding) holding.push(ours);
      else void bus!.objectCreated(ours);
    },
  });
  cleanups.push(() => s3.close());
  // The runner names each EMR Serverless run `<job name>:<task id>`.
  const emrJobName = (r: Readonly<EmrJobRun>) => (r.name && r.name.lastIndexOf(":") > 0 ? r.name.slice(0, r.name.lastIndexOf(":")) : "(not a job's run)");
  // The local EMR Serverless, with the application the glue stack would create, when a job runs on it.
  let emr: LocalEmrServerlessServer | undefined;
  let emrApplicationId: string | undefined;
  if (jobsOn(config, "emr-serverless").length > 0) {
    emr = await startLocalEmrServerless({
      s3: s3.client,
      scriptsDir: scriptsDir(config),
      region,
      account: LOCAL_ACCOUNT,
      transitionMs: options.glueTransitionMs ?? 200,
      injectedFailure: (r) => injectedFailure(emrJobName(r)),
      onRunChange: (r: Readonly<EmrJobRun>) => jobProgress("emr-serverless", emrJobName(r), r.jobRunId, r.state, r.stateDetails || undefined, runCounts(r)),
      onStateChange: putEngineEvent,
    });
    cleanups.push(() => emr!.close());
    emrApplicationId = emr.emr.createApplication(names.emrApplication, config.emrServerless.releaseLabel).applicationId;
  }
  bus = new LocalEventBus(
    localWiring(config, emrApplicationId ? { [EMR_APPLICATION_ID_REF]: emrApplicationId } : {}, {
      stateMachineArn: localStateMachineArn(names.stateMachine, region),
      failureTopicArn: arns.failureTopicArn,
    }),
    invoke,
    (topicArn, message) => {
      const notification = { topicArn, message, at: iso() };
      sfn?.notifications.push(notification);
      options.onNotification?.(notification);
    },
  );
  const glue: LocalGlueServer = await startLocalGlue({
    config,
    bucket,
    s3: s3.client,
    storedObject: s3.storedObject,
    injectedFailure: (r) => injectedFailure(r.JobName),
    transitionMs: options.glueTransitionMs ?? 200,
    region,
    onRunChange: (r: Readonly<JobRun>) => jobProgress("glue", r.JobName, r.Id, r.JobRunState, r.ErrorMessage, runCounts(r)),
    onJobStateChange: putEngineEvent,
  });
  cleanups.push(() => glue.close());
  // The local Athena, with the workgroup the glue stack would create, over the same catalog tables.
  let athena: LocalAthenaServer | undefined;
  if (jobsOn(config, "athena").length > 0) {
    athena = await startLocalAthena({
      s3: s3.client,
      catalog: { database: config.glue.databaseName, bucket, tables: catalogTables(config) },
      workGroups: [names.athenaWorkGroup],
      transitionMs: options.glueTransitionMs ?? 200,
      region,
      account: LOCAL_ACCOUNT,
      // A query is a job's by its UNLOAD destination, the job's staging folder; its counts statement is part of the same run.
      injectedFailure: (q) => (isCountsStatement(q) ? undefined : injectedFailure(athenaJobName(q))),
      // A job's statement has succeeded only once the runner counted it and applied the gate: that line comes from the
      // task's answer (onEvent below). Its counts statement (core/athena-query.ts) is part of the same run.
      onQueryChange: (q: Readonly<QueryExecution>) => {
        if (q.State !== "SUCCEEDED" && !isCountsStatement(q)) jobProgress("athena", athenaJobName(q), q.QueryExecutionId, q.State, q.StateChangeReason);
      },
      onStateChange: putEngineEvent,
    });
    cleanups.push(() => athena!.close());
  }
  const isCountsStatement = (q: Readonly<QueryExecution>) => /\bTO '[^']*\.counts\/'/.test(q.Query);
  /** What the runner answered for each Athena run (by query id): its end and counts, as its task output or cause says. */
  const athenaAnswers = new Map<string, { state: string; errorMessage?: string; counts: ReturnType<typeof runCounts> }>();
  const recordAnswer = (event: SfnEvent) => {
    if (event.type !== "ActivityTaskClosed") return;
    let answer: { engine?: string; jobName?: string; runId?: string; state?: string; errorMessage?: string; counts?: RunCounts };
    try {
      answer = JSON.parse((event.outcome === "SUCCEEDED" ? event.output : event.cause) ?? "{}");
    } catch {
      return;
    }
    if (answer.engine !== "athena" || !answer.runId || !answer.jobName || !answer.state) return;
    const counts = answer.counts ? { rowsRead: answer.counts.rowsRead, droppedRows: answer.counts.rowsDropped, rowsWritten: answer.counts.rowsWritten } : {};
    const state = event.outcome === "SUCCEEDED" ? answer.state : answer.state === "SUCCEEDED" ? "FAILED" : answer.state;
    athenaAnswers.set(answer.runId, { state, ...(answer.errorMessage ? { errorMessage: answer.errorMessage } : {}), counts });
    jobProgress("athena", answer.jobName, answer.runId, state, answer.errorMessage, counts);
  };
  const athenaJobName = (q: Readonly<QueryExecution>) => {
    const id = jobsOn(config, "athena").find((j) => q.Query.includes(`TO 's3://${bucket}/${config.dataLake.stagingPrefix}${names.glueJob(j)}/`));
    return id ? names.glueJob(id) : "(not a job's query)";
  };
  // The specs of the jobs not on Glue, written where the glue stack writes them, by the same builder.
  for (const { key, spec } of jobSpecs(config, {
    dataBucket: bucket,
    artifactBucket,
    athena: { workGroup: names.athenaWorkGroup },
    emrServerless: emrApplicationId ? { applicationId: emrApplicationId, executionRoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${names.emrJobRole}` } : undefined,
  }))
    await s3.client.send(new PutObjectCommand({ Bucket: artifactBucket, Key: key, Body: JSON.stringify(spec, null, 2), ContentType: "application/json" }));

  // The default bus's PutEvents, for the functions' RunnerTaskScheduled events (not delivered when schedule-only).
  const eventBridge = await startLocalEventBridge({ account: LOCAL_ACCOUNT, region, onEvent: (event) => void bus.put(event, run.eventDriven) });
  cleanups.push(() => eventBridge.close());
  sfn = await sfnService().LocalStepFunctions.start({
    stateMachine: options.stateMachine,
    stateMachineName: names.stateMachine,
    region,
    longPollMs: options.longPollMs,
    activities: [names.runnerActivity, ...datasetIds.map((d) => names.waitActivity(d))],
    serviceEndpoints: { glue: glue.endpoint, ...(athena ? { athena: athena.endpoint } : {}), ...(emr ? { emrServerless: emr.endpoint } : {}) },
    lambdaFunction: (name) => localLambda(config, name, functions, region),
    putEvents: (entries: PutEventsEntry[]) => {
      if (!run.eventDriven) return;
      for (const entry of entries) {
        const detail = typeof entry.Detail === "string" ? JSON.parse(entry.Detail) : entry.Detail;
        bus.put(eventBridgeEvent(String(entry.Source ?? names.eventSource), String(entry.DetailType), detail, region));
      }
    },
    // Step Functions puts these on the default bus whatever the rules: the failure notification's rule takes them, and
    // RUNNING wakes both functions (unless schedule-only).
    onStatusChange: (event) => void bus.put(event, run.eventDriven),
    onEvent: (event: SfnEvent) => {
      if (event.type === "StateEntered") progress({ type: "state", name: event.name, phase: "entered" });
      else if (event.type === "StateExited") progress({ type: "state", name: event.name, phase: "exited", status: event.status, error: event.error });
      else recordAnswer(event);
    },
  });
  // Stop invoking, end the executions and answer the long-polls, let in-flight invocations finish (Step Functions
  // still answers them, as AWS answers a worker of a finished execution), then close it before the other services go.
  cleanups.push(async () => {
    closing = true;
    await sfn.endWork();
    await settleWithin([...invocations], 15_000);
    await sfn.close();
  });
  progress({
    type: "services",
    endpoints: { s3: s3.endpoint, dynamodb: dynamodb.endpoint, sfn: sfn.endpoint, events: eventBridge.endpoint, glue: glue.endpoint, ...(athena ? { athena: athena.endpoint } : {}), ...(emr ? { emrServerless: emr.endpoint } : {}) },
  });

  // The real handlers reach the local services through the SDK's endpoint variables (restored at the end,
  // so an in-process caller such as a test runner is left as it was).
  const sharedEnv: Record<(typeof SHARED_ENV)[number], string> = {
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    AWS_ENDPOINT_URL_GLUE: glue.endpoint,
    // Unused endpoints still point locally: nothing may reach AWS.
    AWS_ENDPOINT_URL_ATHENA: athena?.endpoint ?? glue.endpoint,
    AWS_ENDPOINT_URL_EMR_SERVERLESS: emr?.endpoint ?? glue.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Local credentials only (never the caller's): s3rver checks the handlers' S3 signatures against these.
    AWS_ACCESS_KEY_ID: s3Service().LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3Service().LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  Object.assign(process.env, sharedEnv);
  const logLevel = process.env.POWERTOOLS_LOG_LEVEL ?? "WARN";
  const environments: { [F in FunctionId]: Record<string, string> } = {
    // The job specs of engines other than Glue live in the local artifact bucket (wired with the local emulators).
    runner: FUNCTIONS.runner.environment(config, { activityArn: arns.runnerActivityArn, tableName: names.runnerTable, artifactBucket, dataBucket: bucket }, logLevel),
    dataArrival: FUNCTIONS.dataArrival.environment(
      config,
      { tableName: names.arrivalTable, waitActivityArns: Object.fromEntries(datasetIds.map((d) => [d, arns.waitActivityArn(d)])), dataBucket: bucket },
      logLevel,
    ),
  };
  for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
    const spec = FUNCTIONS[id];
    const name = spec.functionName(names);
    // As Lambda sets them (Powertools reports a cold start only for on-demand initialization).
    const env = { AWS_LAMBDA_FUNCTION_NAME: name, AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand", ...environments[id] };
    // Loaded only now, with the function's environment set, as a Lambda cold start would see it.
    const module = withEnv(env, () => coldStart<{ handler: Handler }>(spec.entry));
    functions[id] = { name, timeoutSeconds: spec.timeoutSeconds(config), memoryMb: spec.memoryMb(config), env, handler: module.handler };
  }

  // Stand-ins for the EventBridge fallback schedules.
  const stopSchedules = bus.startSchedules(run.fallbackPeriodMs, () => eventBridgeEvent("aws.events", "Scheduled Event", {}, region));
  cleanups.push(async () => stopSchedules());

  return {
    s3,
    dynamodb,
    glue,
    athena,
    emr,
    emrApplicationId,
    sfn,
    bus,
    jobRuns: () =>
      [
        ...glue.glue.allRuns().map((r) => ({
          jobName: r.JobName,
          engine: "glue" as const,
          runId: r.Id,
          state: r.JobRunState as string,
          startedOn: iso(r.StartedOn),
          completedOn: r.CompletedOn ? iso(r.CompletedOn) : null,
          ...(r.ErrorMessage ? { errorMessage: r.ErrorMessage } : {}),
          ...runCounts(r),
        })),
        ...(athena?.athena.allQueries() ?? [])
          .filter((q) => !isCountsStatement(q))
          .map((q) => {
            const answer = athenaAnswers.get(q.QueryExecutionId);
            return {
              jobName: athenaJobName(q),
              engine: "athena" as const,
              runId: q.QueryExecutionId,
              state: answer?.state ?? (q.State as string),
              startedOn: iso(q.SubmissionDateTime),
              completedOn: q.CompletionDateTime ? iso(q.CompletionDateTime) : null,
              ...(answer?.errorMessage ? { errorMessage: answer.errorMessage } : q.State === "FAILED" || q.State === "CANCELLED" ? { errorMessage: q.StateChangeReason } : {}),
              ...answer?.counts,
            };
          }),
        ...(emr?.emr.allRuns() ?? []).map((r) => ({
          jobName: emrJobName(r),
          engine: "emr-serverless" as const,
          runId: r.jobRunId,
          state: r.state as string,
          startedOn: iso(r.createdAt),
          completedOn: r.endedAt ? iso(r.endedAt) : null,
          ...(r.stateDetails && r.state !== "SUCCESS" ? { errorMessage: r.stateDetails } : {}),
          ...runCounts(r),
        })),
      ].sort((a, b) => a.startedOn.localeCompare(b.startedOn)),
    holdNotifications(keys) {
      const held: S3NotificationEvent[] = [];
      for (const key of keys) heldNotifications.set(key, held);
      return () => {
        for (const key of keys) heldNotifications.delete(key);
        for (const event of held) bus!.objectCreated(event);
      };
    },
    async stop() {
      closing = true;
      stopSchedules();
      await sfn.endWork();
    },
  };
}

async function runWithServices(config: EtlConfig, options: RuntimeOptions, run: RunContext): Promise<RunReport> {
  const { region, progress, cleanups } = run;
  const bucket = `${config.dataLake.bucketPrefix}local`;
  const datasetIds = Object.keys(config.datasets);

  // Ends the upload delays and the time limit when the run is over, however it ends.
  const runOver = new AbortController();
  const runSignal = options.signal ? AbortSignal.any([options.signal, runOver.signal]) : runOver.signal;
  const services = await startLocalServices({
    config,
    stateMachine: run.stateMachine,
    bucket,
    failJobs: options.failJobs,
    eventDriven: run.eventDriven,
    fallbackPeriodMs: run.fallbackPeriodMs,
    longPollMs: options.longPollMs,
    glueTransitionMs: options.glueTransitionMs,
    progress,
    cleanups,
  });
  cleanups.push(async () => runOver.abort());
  const { s3, sfn } = services;


  /** Uploads a dataset: a file under its prefix by name, a folder's parts by their path in the folder. */
  const upload = async (dataset: string) => {
    const delay = options.uploadDelaysMs?.[dataset] ?? 0;
    if (delay > 0) await sleep(delay, runSignal);
    const path = run.files[dataset];
    const files = run.parts[dataset];
    const prefix = config.datasets[dataset].prefix;
    const folder = files.length !== 1 || files[0] !== path;
    const keyOf = (file: string) => prefix + (folder ? relative(path, file).split(sep).join("/") : basename(file));
    const release = services.holdNotifications(files.map(keyOf));
    let bytes = 0;
    try {
      for (const file of files) {
        // Streamed into s3rver's store (memory does not grow with the file), or its copy made ahead renamed there,
        // with the notification a PutObject gives.
        bytes += (await s3.putFile(bucket, keyOf(file), file, await run.copies.take(file))).size;
      }
    } finally {
      release();
    }
    progress({ type: "upload", dataset, file: path, key: `s3://${bucket}/${folder ? `${prefix} (${files.length} files)` : keyOf(files[0])}`, bytes });
  };
  const uploadAll = () => Promise.all(datasetIds.map(upload));

  const sfnClient = new SFNClient({ endpoint: sfn.endpoint, region });
  cleanups.push(async () => sfnClient.destroy());
  let input: Record<string, string> = {};
  if (options.uploadBeforeStart) {
    // Uploads older than dataSince never release a wait; these are meant for this execution.
    const before = new Date(Date.now() - 1);
    input = { dataSince: iso(before) };
    try {
      await uploadAll();
    } catch (e) {
      // Ctrl-C during an upload delay: no execution was started; report the run as interrupted, like any Ctrl-C.
      if (!options.signal?.aborted) throw e;
      const error = "interrupted before the execution started (while uploading the datasets)";
      progress({ type: "execution", status: "ABORTED", executionArn: "", error });
      return {
        status: "FAILED",
        executionArn: "",
        startedAt: iso(before),
        stoppedAt: iso(),
        states: [],
        jobs: [],
        notifications: [],
        output: { ...(await run.output.contents()), written: false },
        error,
      };
    }
  }
  const started = await sfnClient.send(
    new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, name: `local-${Date.now()}`, input: JSON.stringify(input) }),
  );
  const executionArn = started.executionArn!;
  progress({ type: "execution", status: "RUNNING", executionArn });
  const uploads = options.uploadBeforeStart ? Promise.resolve() : uploadAll();
  uploads.catch(() => undefined);

  let runtimeError: string | undefined;
  const finished = sfn.waitForExecution(executionArn);
  const outcome = await Promise.race([
    finished.then((d) => ({ kind: "done" as const, description: d })),
    uploads.then(
      () => new Promise<never>(() => undefined),
      (e: Error) => ({ kind: "error" as const, message: `upload failed: ${e.message}` }),
    ),
    sleep(options.timeoutMs ?? 600_000, runSignal).then(
      () => ({ kind: "error" as const, message: `the run did not finish within ${options.timeoutMs ?? 600_000} ms` }),
      () => ({ kind: "error" as const, message: "interrupted" }),
    ),
  ]);
  runOver.abort();
  if (outcome.kind === "error") {
    runtimeError = outcome.message;
    // Stopping ends the execution (ABORTED); its events are then complete.
    await services.stop();
  }
  const description = await finished;
  const status = description.status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
  progress({ type: "execution", status: description.status, executionArn, error: runtimeError ?? description.error, cause: description.cause });
  for (const n of sfn.notifications) progress({ type: "notification", subject: n.subject, message: n.message });

  let output: RunReport["output"];
  if (status === "SUCCEEDED") {
    // Staged next to the result, which is replaced only once every file is there.
    const staging = await run.output.staging();
    for (const [id, subfolder] of Object.entries(outputSubfolders(config))) {
      await mkdir(join(staging, subfolder), { recursive: true });
      await downloadParquet(s3, bucket, config.jobs[id].output, join(staging, subfolder));
    }
    output = { ...(await run.output.commit(staging, executionArn)), written: true };
    progress({ type: "output", dir: output.dir, files: output.files, rows: output.rows });
  } else output = { ...(await run.output.contents()), written: false };

  return {
    status,
    executionArn,
    startedAt: iso(description.startDate),
    stoppedAt: iso(description.stopDate ?? new Date()),
    states: stateReport(sfn.events.filter((e) => e.executionArn === executionArn)),
    jobs: services.jobRuns(),
    notifications: [...sfn.notifications],
    output,
    ...(status === "FAILED" ? { error: runtimeError ?? [description.error, description.cause].filter(Boolean).join(": ") } : {}),
  };
}

/**
 * The function lambda:invoke names (a name or an ARN): one of the project's, called as Lambda would with its
 * environment and a context, or a configuration's `lambdaFunctions` entry, whose local handler file is called.
 */
function localLambda(config: EtlConfig, nameOrArn: string, functions: Partial<Record<FunctionId, LocalFunction>>, region: string) {
  const name = nameOrArn.startsWith("arn:") ? nameOrArn.split(":")[6] : nameOrArn.split(":")[0];
  const project = Object.values(functions).find((f) => f?.name === name);
  if (project) return (event: unknown) => withEnv(project.env, () => ({ running: project.handler(event, lambdaContext(project, region)) })).running;
  const configured = Object.values(config.lambdaFunctions).find((f) => f.functionName === name);
  if (!configured) return undefined;
  const { file, exported } = localHandlerPath(config, configured.localHandler);
  return async (event: unknown) => {
    const app = launched(); // a prebuilt app has no TypeScript loader of its own for the configured file
    const handler = ((app ? app.requireSource(file) : require(file)) as Record<string, unknown>)[exported];
    if (typeof handler !== "function") throw new Error(`${file}: exports no function '${exported}' (lambdaFunctions localHandler)`);
    const fn: LocalFunction = { name, timeoutSeconds: 900, memoryMb: 128, env: {}, handler: handler as Handler };
    return handler(event, lambdaContext(fn, region));
  };
}

function stateReport(events: SfnEvent[]): RunReport["states"] {
  const states: RunReport["states"] = [];
  for (const event of events) {
    if (event.type === "StateEntered") states.push({ name: event.name, enteredAt: event.at, exitedAt: null, status: "RUNNING" });
    else if (event.type === "StateExited") {
      const open = states.findLast((s) => s.name === event.name && s.exitedAt === null);
      if (open) Object.assign(open, { exitedAt: event.at, status: event.status });
    }
  }
  return states;
}

/** A run's counts, once it has them. */
function runCounts(r: Readonly<Pick<JobRun, "rowsRead" | "droppedRows" | "rowsWritten">>): Pick<RunReport["jobs"][number], "rowsRead" | "droppedRows" | "rowsWritten"> {
  return {
    ...(r.rowsRead ? { rowsRead: { ...r.rowsRead } } : {}),
    ...(r.droppedRows ? { droppedRows: { ...r.droppedRows } } : {}),
    ...(r.rowsWritten !== undefined ? { rowsWritten: r.rowsWritten } : {}),
  };
}

/** Downloads the *.parquet files under the S3 prefix into `dir` (an empty staging folder); returns the file names. */
async function downloadParquet(s3: LocalS3, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key?.endsWith(".parquet")) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const written: string[] = [];
  for (const key of keys.sort()) {
    // Flattened: the result goes directly in dir.
    const name = key.slice(prefix.length).split("/").join("-");
    const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(object.Body as Readable, createWriteStream(join(dir, name)));
    written.push(name);
  }
  return written;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error("aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
