// Local Glue: the job-run API subset the runner uses (StartJobRun, GetJobRun, GetJobRuns, BatchStopJobRun, GetJob)
// with Glue's state sequence, MaxConcurrentRuns, timeouts and failure injection. A run really moves data:
// its inputs are downloaded from the local S3, transformed, and its output uploaded, overwriting the prefix
// (local/etl-job-run.ts, shared with the local EMR Serverless).
import { randomBytes, randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import type { EtlConfig } from "../core/config";
import { resourceNames, scriptPath, scriptsDir } from "../core/config";
import { glueJobArguments } from "../core/job-arguments";
import { DataQualityError } from "../core/quality";
import type { TransformationResult } from "./etl-engine";
import { runEtlJob, type Transformation } from "./etl-job-run";
import { AwsJsonError, notifyListener, startAwsJsonServer, type AwsJsonHandler } from "./aws-json-server";
import type { StoredObjectPath } from "./s3-staging";

export type JobRunState = "STARTING" | "RUNNING" | "STOPPING" | "STOPPED" | "SUCCEEDED" | "FAILED" | "TIMEOUT";
const FINAL_STATES: ReadonlySet<JobRunState> = new Set(["STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT"]);
const ACTIVE_STATES: ReadonlySet<JobRunState> = new Set(["STARTING", "RUNNING", "STOPPING"]);

export type { Transformation };

/** An EventBridge event as Glue emits it on a run's final state. */
export interface GlueJobStateChangeEvent {
  version: "0";
  id: string;
  "detail-type": "Glue Job State Change";
  source: "aws.glue";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { jobName: string; severity: "INFO" | "ERROR"; state: JobRunState; jobRunId: string; message: string };
}

export interface JobRun {
  Id: string;
  Attempt: number;
  JobName: string;
  JobRunState: JobRunState;
  Arguments: Record<string, string>;
  StartedOn: Date;
  LastModifiedOn: Date;
  CompletedOn?: Date;
  ExecutionTime: number;
  /** Minutes. */
  Timeout: number;
  ErrorMessage?: string;
  WorkerType?: string;
  NumberOfWorkers?: number;
  GlueVersion: string;
  /** Rows the transformation wrote (local extra, not a Glue field). */
  rowsWritten?: number;
  /** Per input, rows the transformation read (local extra, not a Glue field). */
  rowsRead?: Record<string, number>;
  /** Per CSV input, rows the transformation dropped as malformed or unparseable (local extra, not a Glue field). */
  droppedRows?: Record<string, number>;
}

export interface LocalGlueOptions {
  config: EtlConfig;
  /** The data-lake bucket the job arguments point at. */
  bucket: string;
  s3: S3Client;
  /** Where the local S3 stores an object's bytes: inputs are copied from there (S3Staging). Default: downloaded. */
  storedObject?: StoredObjectPath;
  /** Default: local/etl-engine.ts runTransformation. */
  transformation?: Transformation;
  /** Returns a message when the run must fail (failure injection, local/failure-injection.ts); asked as it starts its work. */
  injectedFailure?: (run: Readonly<JobRun>) => string | undefined;
  /** Called on every final state, like Glue's EventBridge events. */
  onJobStateChange?: (event: GlueJobStateChangeEvent) => void;
  /** Called on every state change (progress and reports). */
  onRunChange?: (run: Readonly<JobRun>) => void;
  /** Time spent in STARTING (and in STOPPING). Default: 100 ms. */
  transitionMs?: number;
  /** Real length of one minute of a job timeout, so tests can time out quickly. Default: 60,000 ms. */
  msPerTimeoutMinute?: number;
  region?: string;
  account?: string;
}


interface JobDefinition {
  id: string;
  name: string;
  defaultArguments: Record<string, string>;
  timeoutMinutes: number;
  maxConcurrentRuns: number;
  workerType: string;
  numberOfWorkers: number;
  scriptLocation: string;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}

export class LocalGlue {
  private readonly jobs = new Map<string, JobDefinition>();
  /** Runs per job name, newest first. */
  private readonly runs = new Map<string, JobRun[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly stopRequested = new Set<string>();
  /** Interrupts a running run's wait for its transformation. */
  private readonly stopListeners = new Map<string, () => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly transitionMs: number;
  private readonly msPerTimeoutMinute: number;
  private closed = false;

  constructor(private readonly options: LocalGlueOptions) {
    const { config, bucket } = options;
    const names = resourceNames(config);
    // Glue jobs exist for the jobs on engine "glue" only, as the glue stack creates them.
    for (const [id, job] of Object.entries(config.jobs)) {
      if (job.engine !== "glue") continue;
      const name = names.glueJob(id);
      this.jobs.set(name, {
        id,
        name,
        defaultArguments: { ...glueJobArguments(config, id, bucket, name) },
        timeoutMinutes: job.timeoutMinutes ?? config.glue.timeoutMinutes,
        maxConcurrentRuns: config.glue.maxConcurrentRuns,
        workerType: job.workerType ?? config.glue.workerType,
        numberOfWorkers: job.numberOfWorkers ?? config.glue.numberOfWorkers,
        scriptLocation: scriptPath(config, job),
      });
      this.runs.set(name, []);
    }
    this.transitionMs = options.transitionMs ?? 100;
    this.msPerTimeoutMinute = options.msPerTimeoutMinute ?? 60_000;
  }

  /** Glue job names, in configuration order. */
  get jobNames(): string[] {
    return [...this.jobs.keys()];
  }

  /** Every run of every job, oldest first (for reports). */
  allRuns(): JobRun[] {
    return [...this.runs.values()].flat().sort((a, b) => a.StartedOn.getTime() - b.StartedOn.getTime());
  }

  /** The AWSGlue.<operation> handlers, for the AWS JSON server. */
  handlers(): Record<string, AwsJsonHandler> {
    return {
      StartJobRun: (body) => this.startJobRun(body),
      GetJobRun: (body) => ({ JobRun: this.view(this.findRun(body.JobName, body.RunId)) }),
      GetJobRuns: (body) => this.getJobRuns(body),
      BatchStopJobRun: (body) => this.batchStopJobRun(body),
      GetJob: (body) => ({ Job: this.describeJob(this.findJob(body.JobName)) }),
      GetJobs: () => ({ Jobs: [...this.jobs.values()].map((j) => this.describeJob(j)) }),
    };
  }

  /** Waits for every run to reach a final state's side effects (uploads, events) and cancels timers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.allRuns()) if (ACTIVE_STATES.has(run.JobRunState)) this.requestStop(run);
    await Promise.allSettled([...this.pending]);
    for (const timer of this.timers) clearTimeout(timer);
  }

  private findJob(jobName: unknown): JobDefinition {
    if (typeof jobName !== "string" || !jobName) throw new AwsJsonError("InvalidInputException", "JobName is required");
    const job = this.jobs.get(jobName);
    if (!job) throw new AwsJsonError("EntityNotFoundException", `Job ${jobName} not found (known: ${this.jobNames.join(", ")})`);
    return job;
  }

  private findRun(jobName: unknown, runId: unknown): JobRun {
    const job = this.findJob(jobName);
    if (typeof runId !== "string" || !runId) throw new AwsJsonError("InvalidInputException", "RunId is required");
    const run = this.runs.get(job.name)!.find((r) => r.Id === runId);
    if (!run) throw new AwsJsonError("EntityNotFoundException", `Job run ${runId} of job ${job.name} not found`);
    return run;
  }

  private startJobRun(body: Record<string, unknown>): { JobRunId: string } {
    if (this.closed) throw new AwsJsonError("InvalidInputException", "the local Glue service is shutting down");
    const job = this.findJob(body.JobName);
    if (body.Arguments !== undefined && !isStringMap(body.Arguments))
      throw new AwsJsonError("InvalidInputException", "Arguments must map strings to strings");
    const runs = this.runs.get(job.name)!;
    const active = runs.filter((r) => ACTIVE_STATES.has(r.JobRunState)).length;
    if (active >= job.maxConcurrentRuns)
      throw new AwsJsonError("ConcurrentRunsExceededException", `Concurrent runs exceeded for ${job.name}: ${active} of MaxConcurrentRuns ${job.maxConcurrentRuns}`);
    const now = new Date();
    if (body.Timeout !== undefined && body.Timeout !== null && (typeof body.Timeout !== "number" || !Number.isInteger(body.Timeout) || body.Timeout <= 0))
      throw new AwsJsonError("InvalidInputException", `Timeout must be a positive number of minutes (got ${JSON.stringify(body.Timeout)})`);
    const timeout = typeof body.Timeout === "number" ? body.Timeout : job.timeoutMinutes;
    const run: JobRun = {
      Id: `jr_${randomBytes(32).toString("hex")}`,
      Attempt: 0,
      JobName: job.name,
      JobRunState: "STARTING",
      // Run arguments override the job's DefaultArguments key by key, as in Glue.
      Arguments: { ...job.defaultArguments, ...((body.Arguments as Record<string, string> | undefined) ?? {}) },
      StartedOn: now,
      LastModifiedOn: now,
      ExecutionTime: 0,
      Timeout: timeout,
      WorkerType: typeof body.WorkerType === "string" ? body.WorkerType : job.workerType,
      NumberOfWorkers: typeof body.NumberOfWorkers === "number" ? body.NumberOfWorkers : job.numberOfWorkers,
      GlueVersion: this.options.config.glue.version,
    };
    runs.unshift(run);
    this.notify(() => this.options.onRunChange?.(run));
    const execution = this.execute(job, run)
      // A run never stays active because of a bug here or in a listener: it fails with the reason.
      .catch((e: unknown) => this.transition(run, "FAILED", `local Glue service error: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => this.pending.delete(execution));
    this.pending.add(execution);
    return { JobRunId: run.Id };
  }

  private getJobRuns(body: Record<string, unknown>) {
    const job = this.findJob(body.JobName);
    const runs = this.runs.get(job.name)!;
    const maxResults = body.MaxResults ?? 100;
    if (typeof maxResults !== "number" || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > 200)
      throw new AwsJsonError("InvalidInputException", `MaxResults must be an integer from 1 to 200 (got ${JSON.stringify(maxResults)})`);
    let start = 0;
    if (body.NextToken !== undefined) {
      // The token is the id of the next run to return, so runs started meanwhile do not shift pages.
      start = typeof body.NextToken === "string" ? runs.findIndex((r) => r.Id === body.NextToken) : -1;
      if (start < 0) throw new AwsJsonError("InvalidInputException", `invalid NextToken ${JSON.stringify(body.NextToken)}`);
    }
    const page = runs.slice(start, start + maxResults);
    const next = runs[start + maxResults];
    return { JobRuns: page.map((r) => this.view(r)), ...(next ? { NextToken: next.Id } : {}) };
  }

  private batchStopJobRun(body: Record<string, unknown>) {
    const job = this.findJob(body.JobName);
    if (!Array.isArray(body.JobRunIds) || body.JobRunIds.length === 0) throw new AwsJsonError("InvalidInputException", "JobRunIds must be a non-empty list");
    const SuccessfulSubmissions: Array<{ JobName: string; JobRunId: string }> = [];
    const Errors: Array<{ JobName: string; JobRunId: string; ErrorDetail: { ErrorCode: string; ErrorMessage: string } }> = [];
    for (const id of body.JobRunIds) {
      const run = this.runs.get(job.name)!.find((r) => r.Id === id);
      if (!run) Errors.push({ JobName: job.name, JobRunId: String(id), ErrorDetail: { ErrorCode: "EntityNotFoundException", ErrorMessage: `Job run ${id} not found` } });
      else if (!ACTIVE_STATES.has(run.JobRunState) || run.JobRunState === "STOPPING")
        Errors.push({ JobName: job.name, JobRunId: run.Id, ErrorDetail: { ErrorCode: "InvalidInputException", ErrorMessage: `Job run ${run.Id} is ${run.JobRunState}, not running` } });
      else {
        this.requestStop(run);
        this.transition(run, "STOPPING");
        SuccessfulSubmissions.push({ JobName: job.name, JobRunId: run.Id });
      }
    }
    return { SuccessfulSubmissions, Errors };
  }

  private describeJob(job: JobDefinition) {
    return {
      Name: job.name,
      Role: "arn:aws:iam::000000000000:role/local-glue",
      Command: { Name: "glueetl", ScriptLocation: job.scriptLocation, PythonVersion: "3" },
      DefaultArguments: job.defaultArguments,
      ExecutionProperty: { MaxConcurrentRuns: job.maxConcurrentRuns },
      MaxRetries: 0,
      Timeout: job.timeoutMinutes,
      GlueVersion: this.options.config.glue.version,
      WorkerType: job.workerType,
      NumberOfWorkers: job.numberOfWorkers,
    };
  }

  /** A copy for responses: the SDK wants epoch seconds for timestamps (JSON 1.1). */
  private view(run: JobRun) {
    const { rowsWritten: _rows, rowsRead: _read, droppedRows: _dropped, ...fields } = run;
    const seconds = (d?: Date) => (d ? d.getTime() / 1000 : undefined);
    return { ...fields, StartedOn: seconds(run.StartedOn), LastModifiedOn: seconds(run.LastModifiedOn), CompletedOn: seconds(run.CompletedOn) };
  }

  private requestStop(run: JobRun): void {
    this.stopRequested.add(run.Id);
    this.stopListeners.get(run.Id)?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private transition(run: JobRun, state: JobRunState, errorMessage?: string): void {
    if (FINAL_STATES.has(run.JobRunState)) return;
    const now = new Date();
    run.JobRunState = state;
    run.LastModifiedOn = now;
    if (errorMessage !== undefined) run.ErrorMessage = errorMessage;
    if (FINAL_STATES.has(state)) {
      run.CompletedOn = now;
      run.ExecutionTime = Math.round((now.getTime() - run.StartedOn.getTime()) / 1000);
    }
    this.notify(() => this.options.onRunChange?.(run));
    if (FINAL_STATES.has(state)) this.emitStateChange(run);
  }

  private emitStateChange(run: JobRun): void {
    const succeeded = run.JobRunState === "SUCCEEDED";
    const event: GlueJobStateChangeEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Glue Job State Change",
      source: "aws.glue",
      account: this.options.account ?? "000000000000",
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.options.region ?? this.options.config.region,
      resources: [],
      detail: {
        jobName: run.JobName,
        severity: succeeded ? "INFO" : "ERROR",
        state: run.JobRunState,
        jobRunId: run.Id,
        message: succeeded ? "Job run succeeded" : (run.ErrorMessage ?? `Job run ${run.JobRunState.toLowerCase()}`),
      },
    };
    this.notify(() => this.options.onJobStateChange?.(event));
  }

  private notify(listener: () => void): void {
    notifyListener("local Glue", listener);
  }

  /** STARTING -> RUNNING -> a final state; a stop request or the timeout ends it early. */
  private async execute(job: JobDefinition, run: JobRun): Promise<void> {
    await this.sleep(this.transitionMs);
    if (this.stopRequested.has(run.Id)) return this.finishStop(run);
    this.transition(run, "RUNNING");

    let timedOut = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        resolve("timeout");
      }, run.Timeout * this.msPerTimeoutMinute);
    });
    const stopped = new Promise<"stopped">((resolve) => {
      if (this.stopRequested.has(run.Id)) resolve("stopped");
      else this.stopListeners.set(run.Id, () => resolve("stopped"));
    });
    // The transformation writes its output only if the run is still RUNNING when it finishes.
    const work = this.runTransformation(job, run, () => run.JobRunState === "RUNNING" && !timedOut && !this.stopRequested.has(run.Id)).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => {
        // A failed gate still has its counts, for the progress lines and the report.
        if (error instanceof DataQualityError) this.recordCounts(run, error.counts);
        return { ok: false as const, message: error instanceof Error ? error.message : String(error) };
      },
    );
    const outcome = await Promise.race([work, timeout, stopped]);
    clearTimeout(timeoutTimer);
    if (outcome === "timeout") this.transition(run, "TIMEOUT", `Job run timed out after ${run.Timeout} minutes`);
    else if (outcome === "stopped") await this.finishStop(run);
    else if (outcome.ok) {
      run.rowsWritten = outcome.result.rowsWritten;
      run.rowsRead = outcome.result.rowsRead;
      run.droppedRows = outcome.result.droppedRows;
      this.transition(run, "SUCCEEDED");
    } else this.transition(run, "FAILED", outcome.message);
    this.stopListeners.delete(run.Id);
    // Let the abandoned work settle (its output is discarded) before the run counts as done.
    await work;
  }

  private recordCounts(run: JobRun, counts: DataQualityError["counts"]): void {
    run.rowsWritten = counts.written;
    run.rowsRead = Object.fromEntries(Object.entries(counts.inputs).map(([name, c]) => [name, c.read]));
    run.droppedRows = Object.fromEntries(Object.entries(counts.inputs).map(([name, c]) => [name, c.dropped]));
  }

  private async finishStop(run: JobRun): Promise<void> {
    if (run.JobRunState !== "STOPPING") this.transition(run, "STOPPING");
    await this.sleep(this.transitionMs);
    this.transition(run, "STOPPED", "Job run stopped by request");
  }

  /** Downloads the inputs, runs the SQL, and overwrites the output prefix; returns the rows written and dropped. */
  private async runTransformation(job: JobDefinition, run: JobRun, stillRunning: () => boolean): Promise<Pick<TransformationResult, "rowsWritten" | "rowsRead" | "droppedRows">> {
    const injected = this.options.injectedFailure?.(run);
    if (injected) {
      await this.sleep(this.transitionMs);
      throw new Error(injected);
    }
    return runEtlJob({ s3: this.options.s3, storedObject: this.options.storedObject, args: run.Arguments, scriptsDir: scriptsDir(this.options.config), transformation: this.options.transformation, label: `etl-glue-${job.id}`, stillRunning });
  }
}

export interface LocalGlueServer {
  glue: LocalGlue;
  /** For AWS_ENDPOINT_URL_GLUE. */
  endpoint: string;
  /** Stops the server, then lets running runs finish their side effects. */
  close(): Promise<void>;
}

/** Starts the local Glue service on 127.0.0.1 (AWS JSON 1.1, `X-Amz-Target: AWSGlue.<Operation>`). */
export async function startLocalGlue(options: LocalGlueOptions & { onInternalError?: (operation: string, error: unknown) => void }): Promise<LocalGlueServer> {
  const glue = new LocalGlue(options);
  const server = await startAwsJsonServer({ service: "AWSGlue", handlers: glue.handlers(), onInternalError: options.onInternalError });
  return {
    glue,
    endpoint: server.endpoint,
    async close() {
      await server.close();
      await glue.close();
    },
  };
}
