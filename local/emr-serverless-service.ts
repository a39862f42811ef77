// Local EMR Serverless: the job-run API the runner uses (StartJobRun with clientToken idempotency, GetJobRun,
// ListJobRuns, CancelJobRun; GetApplication, ListApplications) over REST JSON, with EMR Serverless's state sequence
// SUBMITTED -> PENDING -> SCHEDULED -> RUNNING -> SUCCESS | FAILED and CANCELLING -> CANCELLED, and its
// "EMR Serverless Job Run State Change" events. A run executes the job's transformation from its spark-submit
// arguments (--etl_inputs, --etl_sql, --etl_output) with the DuckDB engine (local/etl-job-run.ts).
import { randomBytes, randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { DataQualityError } from "../core/quality";
import { AwsJsonError, notifyListener, startRestJsonServer, type RestJsonRoute } from "./aws-json-server";
import { runEtlJob, type Transformation } from "./etl-job-run";

export type JobRunState = "SUBMITTED" | "PENDING" | "SCHEDULED" | "RUNNING" | "SUCCESS" | "FAILED" | "CANCELLING" | "CANCELLED" | "QUEUED";
const FINAL_STATES: ReadonlySet<JobRunState> = new Set(["SUCCESS", "FAILED", "CANCELLED"]);
/** Before RUNNING, in order. */
const START_SEQUENCE: readonly JobRunState[] = ["PENDING", "SCHEDULED", "RUNNING"];

export interface EmrApplication {
  applicationId: string;
  name: string;
  arn: string;
  releaseLabel: string;
  createdAt: Date;
}

export interface EmrJobRun {
  applicationId: string;
  jobRunId: string;
  name?: string;
  arn: string;
  clientToken: string;
  executionRole: string;
  state: JobRunState;
  stateDetails: string;
  releaseLabel: string;
  jobDriver: { sparkSubmit: { entryPoint: string; entryPointArguments: string[]; sparkSubmitParameters?: string } };
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  /** Rows read, dropped and written (local extras, not EMR fields). */
  rowsWritten?: number;
  rowsRead?: Record<string, number>;
  droppedRows?: Record<string, number>;
}

/** An EventBridge event as EMR Serverless emits it on each state change. */
export interface EmrJobRunStateChangeEvent {
  version: "0";
  id: string;
  "detail-type": "EMR Serverless Job Run State Change";
  source: "aws.emr-serverless";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { jobRunId: string; jobRunName?: string; arn: string; applicationId: string; releaseLabel: string; state: JobRunState; previousState: JobRunState | null; createdBy: string; updatedAt: string; createdAt: string };
}

export interface LocalEmrServerlessOptions {
  s3: S3Client;
  /** glue-scripts/: the SQL and schemas the runs' arguments name. */
  scriptsDir: string;
  /** Default: local/etl-engine.ts runTransformation. */
  transformation?: Transformation;
  /** Returns a message when the run must fail (failure injection, e.g. `--fail-job`). */
  injectedFailure?: (run: Readonly<EmrJobRun>) => string | undefined;
  onStateChange?: (event: EmrJobRunStateChangeEvent) => void;
  /** Called on every state change (progress and reports). */
  onRunChange?: (run: Readonly<EmrJobRun>) => void;
  /** Time spent in each state before RUNNING, and in CANCELLING. Default: 50 ms. */
  transitionMs?: number;
  region?: string;
  account?: string;
}

const CREATED_BY = "arn:aws:sts::000000000000:assumed-role/local/etl-runner";

/** `["--a", "1", "--b", "2"]` -> `{ "--a": "1", "--b": "2" }`; a name without a value fails. */
export function argumentMap(args: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith("--") || i + 1 >= args.length) throw new Error(`entryPointArguments: expected --name value pairs, got ${JSON.stringify(args.slice(i, i + 2))}`);
    map[args[i]] = args[i + 1];
  }
  return map;
}

/** A list call's page size: 1 to 50, default 50. */
function maxResults(value: unknown): number {
  const max = value === undefined ? 50 : Number(value);
  if (!Number.isInteger(max) || max < 1 || max > 50) throw new AwsJsonError("ValidationException", "maxResults must be an integer from 1 to 50");
  return max;
}

/** Where a page starts: the item the nextToken names (the first item of that page). */
function pageStart(nextToken: unknown, ids: readonly string[]): number {
  if (nextToken === undefined) return 0;
  const start = typeof nextToken === "string" ? ids.indexOf(nextToken) : -1;
  if (start < 0) throw new AwsJsonError("ValidationException", `invalid nextToken ${JSON.stringify(nextToken)}`);
  return start;
}

export class LocalEmrServerless {
  private readonly applications = new Map<string, EmrApplication>();
  /** Per application, newest first. */
  private readonly runs = new Map<string, EmrJobRun[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: LocalEmrServerlessOptions) {}

  /** Creates an application (what the stack's aws_emrserverless_application is); returns it. */
  createApplication(name: string, releaseLabel: string): EmrApplication {
    const applicationId = `00${randomBytes(8).toString("hex")}`.slice(0, 16);
    const application = { applicationId, name, releaseLabel, arn: `arn:aws:emr-serverless:${this.region}:${this.account}:/applications/${applicationId}`, createdAt: new Date() };
    this.applications.set(applicationId, application);
    this.runs.set(applicationId, []);
    return application;
  }

  /** Every run, oldest first (for reports). */
  allRuns(): EmrJobRun[] {
    return [...this.runs.values()].flat().sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  routes(): RestJsonRoute[] {
    return [
      { method: "POST", path: "/applications/{applicationId}/jobruns", operation: "StartJobRun", handler: (input) => this.start(input) },
      { method: "GET", path: "/applications/{applicationId}/jobruns/{jobRunId}", operation: "GetJobRun", handler: (input) => ({ jobRun: this.view(this.find(input)) }) },
      { method: "GET", path: "/applications/{applicationId}/jobruns", operation: "ListJobRuns", handler: (input) => this.list(input) },
      { method: "DELETE", path: "/applications/{applicationId}/jobruns/{jobRunId}", operation: "CancelJobRun", handler: (input) => this.cancel(input) },
      { method: "GET", path: "/applications/{applicationId}", operation: "GetApplication", handler: (input) => ({ application: this.applicationView(this.application(input.applicationId)) }) },
      { method: "GET", path: "/applications", operation: "ListApplications", handler: (input) => this.listApplications(input) },
    ];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.allRuns()) if (!FINAL_STATES.has(run.state)) this.transition(run, "CANCELLED", "the local EMR Serverless service closed");
    await Promise.allSettled([...this.pending]);
    for (const timer of this.timers) clearTimeout(timer);
  }

  private get region() {
    return this.options.region ?? "us-east-1";
  }

  private get account() {
    return this.options.account ?? "000000000000";
  }

  private application(id: unknown): EmrApplication {
    const application = typeof id === "string" ? this.applications.get(id) : undefined;
    if (!application) throw new AwsJsonError("ResourceNotFoundException", `Application ${String(id)} does not exist`, 404);
    return application;
  }

  private find(input: Record<string, unknown>): EmrJobRun {
    this.application(input.applicationId);
    const run = this.runs.get(input.applicationId as string)!.find((r) => r.jobRunId === input.jobRunId);
    if (!run) throw new AwsJsonError("ResourceNotFoundException", `Job run ${String(input.jobRunId)} does not exist`, 404);
    return run;
  }

  private start(input: Record<string, unknown>) {
    if (this.closed) throw new AwsJsonError("InternalServerException", "the local EMR Serverless service is shutting down", 500);
    const application = this.application(input.applicationId);
    const token = input.clientToken;
    if (typeof token !== "string" || token.length < 1 || token.length > 64) throw new AwsJsonError("ValidationException", "clientToken must be 1 to 64 characters");
    if (typeof input.executionRoleArn !== "string" || !input.executionRoleArn.startsWith("arn:")) throw new AwsJsonError("ValidationException", "executionRoleArn must be an IAM role ARN");
    const sparkSubmit = (input.jobDriver as { sparkSubmit?: Record<string, unknown> } | undefined)?.sparkSubmit;
    if (!sparkSubmit || typeof sparkSubmit.entryPoint !== "string") throw new AwsJsonError("ValidationException", "jobDriver.sparkSubmit.entryPoint is required");
    const entryPointArguments = sparkSubmit.entryPointArguments ?? [];
    if (!Array.isArray(entryPointArguments) || !entryPointArguments.every((a) => typeof a === "string"))
      throw new AwsJsonError("ValidationException", "jobDriver.sparkSubmit.entryPointArguments must be a list of strings");
    const runs = this.runs.get(application.applicationId)!;
    // Idempotent: the same clientToken gives the same run.
    const earlier = runs.find((r) => r.clientToken === token);
    if (earlier) return { applicationId: application.applicationId, jobRunId: earlier.jobRunId, arn: earlier.arn };
    const now = new Date();
    const jobRunId = `00${randomBytes(8).toString("hex")}`.slice(0, 16);
    const run: EmrJobRun = {
      applicationId: application.applicationId,
      jobRunId,
      ...(typeof input.name === "string" ? { name: input.name } : {}),
      arn: `${application.arn}/jobruns/${jobRunId}`,
      clientToken: token,
      executionRole: input.executionRoleArn,
      state: "SUBMITTED",
      stateDetails: "",
      releaseLabel: application.releaseLabel,
      jobDriver: {
        sparkSubmit: {
          entryPoint: sparkSubmit.entryPoint,
          entryPointArguments: entryPointArguments as string[],
          ...(typeof sparkSubmit.sparkSubmitParameters === "string" ? { sparkSubmitParameters: sparkSubmit.sparkSubmitParameters } : {}),
        },
      },
      createdAt: now,
      updatedAt: now,
    };
    runs.unshift(run);
    this.changed(run, null);
    const execution = this.execute(run)
      .catch((e: unknown) => this.transition(run, "FAILED", `local EMR Serverless service error: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => this.pending.delete(execution));
    this.pending.add(execution);
    return { applicationId: application.applicationId, jobRunId, arn: run.arn };
  }

  private list(input: Record<string, unknown>) {
    const runs = (this.application(input.applicationId), this.runs.get(input.applicationId as string)!);
    const max = maxResults(input.maxResults);
    const states = input.states === undefined ? undefined : new Set([input.states].flat() as string[]);
    const matching = states ? runs.filter((r) => states.has(r.state)) : runs;
    const start = pageStart(input.nextToken, matching.map((r) => r.jobRunId));
    const next = matching[start + max];
    return { jobRuns: matching.slice(start, start + max).map((r) => this.summary(r)), ...(next ? { nextToken: next.jobRunId } : {}) };
  }

  /** How an operator finds the application's id by its name (`aws emr-serverless list-applications`). */
  private listApplications(input: Record<string, unknown>) {
    const max = maxResults(input.maxResults);
    const states = input.states === undefined ? undefined : new Set([input.states].flat() as string[]);
    // Every local application is CREATED (it starts on demand, as the stack's auto-start configures it).
    const matching = [...this.applications.values()].filter(() => !states || states.has("CREATED"));
    const start = pageStart(input.nextToken, matching.map((a) => a.applicationId));
    const next = matching[start + max];
    const page = matching.slice(start, start + max).map((a) => {
      const { applicationId, autoStopConfiguration: _, ...summary } = this.applicationView(a);
      return { id: applicationId, ...summary };
    });
    return { applications: page, ...(next ? { nextToken: next.applicationId } : {}) };
  }

  private cancel(input: Record<string, unknown>) {
    const run = this.find(input);
    if (FINAL_STATES.has(run.state)) throw new AwsJsonError("ValidationException", `Job run ${run.jobRunId} is ${run.state}: it cannot be cancelled`);
    if (run.state !== "CANCELLING") {
      this.transition(run, "CANCELLING", "Job run cancellation requested");
      void this.sleep(this.transitionMs).then(() => this.transition(run, "CANCELLED", "Job run cancelled by request"));
    }
    return { applicationId: run.applicationId, jobRunId: run.jobRunId };
  }

  private get transitionMs() {
    return this.options.transitionMs ?? 50;
  }

  private seconds(d?: Date) {
    return d ? d.getTime() / 1000 : undefined;
  }

  /** The fields GetJobRun and ListJobRuns both answer. */
  private common(r: EmrJobRun) {
    return {
      applicationId: r.applicationId,
      ...(r.name ? { name: r.name } : {}),
      arn: r.arn,
      createdBy: CREATED_BY,
      createdAt: this.seconds(r.createdAt),
      updatedAt: this.seconds(r.updatedAt),
      executionRole: r.executionRole,
      state: r.state,
      stateDetails: r.stateDetails,
      releaseLabel: r.releaseLabel,
      mode: "BATCH",
    };
  }

  private view(r: EmrJobRun) {
    const duration = r.startedAt ? Math.round(((r.endedAt ?? new Date()).getTime() - r.startedAt.getTime()) / 1000) : 0;
    return {
      ...this.common(r),
      jobRunId: r.jobRunId,
      jobDriver: r.jobDriver,
      tags: {},
      attempt: 1,
      totalExecutionDurationSeconds: duration,
      ...(r.startedAt ? { startedAt: this.seconds(r.startedAt) } : {}),
      ...(r.endedAt ? { endedAt: this.seconds(r.endedAt) } : {}),
    };
  }

  private summary(r: EmrJobRun) {
    return { ...this.common(r), id: r.jobRunId, type: "Spark" };
  }

  private applicationView(a: EmrApplication) {
    const created = this.seconds(a.createdAt);
    return { applicationId: a.applicationId, name: a.name, arn: a.arn, releaseLabel: a.releaseLabel, type: "Spark", state: "CREATED", createdAt: created, updatedAt: created, architecture: "X86_64", autoStopConfiguration: { enabled: true } };
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

  private async execute(run: EmrJobRun): Promise<void> {
    for (const state of START_SEQUENCE) {
      await this.sleep(this.transitionMs);
      if (FINAL_STATES.has(run.state) || run.state === "CANCELLING") return;
      this.transition(run, state);
    }
    run.startedAt = new Date();
    const stillRunning = () => run.state === "RUNNING";
    try {
      const injected = this.options.injectedFailure?.(run);
      if (injected) throw new Error(injected);
      const args = argumentMap(run.jobDriver.sparkSubmit.entryPointArguments);
      const result = await runEtlJob({ s3: this.options.s3, args, scriptsDir: this.options.scriptsDir, transformation: this.options.transformation, label: "etl-emr", stillRunning });
      if (!stillRunning()) return;
      run.rowsWritten = result.rowsWritten;
      run.rowsRead = result.rowsRead;
      run.droppedRows = result.droppedRows;
      this.transition(run, "SUCCESS", "");
    } catch (e) {
      // A failed gate still has its counts, for the progress lines and the report.
      if (e instanceof DataQualityError) {
        run.rowsWritten = e.counts.written;
        run.rowsRead = Object.fromEntries(Object.entries(e.counts.inputs).map(([name, c]) => [name, c.read]));
        run.droppedRows = Object.fromEntries(Object.entries(e.counts.inputs).map(([name, c]) => [name, c.dropped]));
      }
      if (stillRunning()) this.transition(run, "FAILED", `Job failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private transition(run: EmrJobRun, state: JobRunState, stateDetails?: string): void {
    if (FINAL_STATES.has(run.state)) return;
    const previous = run.state;
    run.state = state;
    run.updatedAt = new Date();
    if (stateDetails !== undefined) run.stateDetails = stateDetails;
    if (FINAL_STATES.has(state)) run.endedAt = run.updatedAt;
    this.changed(run, previous);
  }

  private changed(run: EmrJobRun, previousState: JobRunState | null): void {
    const time = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
    const event: EmrJobRunStateChangeEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "EMR Serverless Job Run State Change",
      source: "aws.emr-serverless",
      account: this.account,
      time: time(new Date()),
      region: this.region,
      resources: [],
      detail: {
        jobRunId: run.jobRunId,
        ...(run.name ? { jobRunName: run.name } : {}),
        arn: run.arn,
        applicationId: run.applicationId,
        releaseLabel: run.releaseLabel,
        state: run.state,
        previousState,
        createdBy: CREATED_BY,
        updatedAt: time(run.updatedAt),
        createdAt: time(run.createdAt),
      },
    };
    notifyListener("local EMR Serverless", () => this.options.onRunChange?.(run));
    notifyListener("local EMR Serverless", () => this.options.onStateChange?.(event));
  }
}


export interface LocalEmrServerlessServer {
  emr: LocalEmrServerless;
  /** For AWS_ENDPOINT_URL_EMR_SERVERLESS. */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts the local EMR Serverless on 127.0.0.1 (REST JSON). */
export async function startLocalEmrServerless(options: LocalEmrServerlessOptions & { onInternalError?: (operation: string, error: unknown) => void }): Promise<LocalEmrServerlessServer> {
  const emr = new LocalEmrServerless(options);
  const server = await startRestJsonServer({ routes: emr.routes(), onInternalError: options.onInternalError });
  return {
    emr,
    endpoint: server.endpoint,
    async close() {
      await server.close();
      await emr.close();
    },
  };
}
