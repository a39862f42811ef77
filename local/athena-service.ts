// Local Athena: the query-execution API the runner uses (StartQueryExecution with ClientRequestToken idempotency,
// GetQueryExecution, BatchGetQueryExecution, StopQueryExecution, ListQueryExecutions) with Athena's state sequence
// QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED, its statistics and its "Athena Query State Change" events.
// The statement runs as sent (local/athena-execution.ts): the SQL that would go to Athena is the SQL that runs here.
import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { AwsJsonError, notifyListener, startAwsJsonServer, type AwsJsonHandler } from "./aws-json-server";
import { AthenaQueryError, runAthenaStatement, type AthenaStatementResult, type LocalCatalog } from "./athena-execution";

export type QueryState = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
const FINAL_STATES: ReadonlySet<QueryState> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

export interface QueryExecution {
  QueryExecutionId: string;
  Query: string;
  StatementType: "DML";
  WorkGroup: string;
  QueryExecutionContext: { Database: string; Catalog: string };
  ClientRequestToken?: string;
  State: QueryState;
  StateChangeReason?: string;
  AthenaError?: { ErrorCategory: number; ErrorType: number; Retryable: boolean; ErrorMessage: string };
  SubmissionDateTime: Date;
  CompletionDateTime?: Date;
  DataScannedInBytes?: number;
  EngineExecutionTimeInMillis?: number;
  /** Rows written (local extra, not an Athena field). */
  rowsWritten?: number;
}

/** An EventBridge event as Athena emits it on each state change. */
export interface AthenaQueryStateChangeEvent {
  version: "0";
  id: string;
  "detail-type": "Athena Query State Change";
  source: "aws.athena";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { currentState: QueryState; previousState: QueryState | null; queryExecutionId: string; sequenceNumber: string; statementType: "DML"; versionId: "0"; workgroupName: string };
}

export interface LocalAthenaOptions {
  s3: S3Client;
  catalog: LocalCatalog;
  /** The workgroups that exist besides `primary`, which every AWS account has (the stacks create one). */
  workGroups: readonly string[];
  /** Returns a message when the query must fail (failure injection, e.g. `--fail-job`); checked as it runs. */
  injectedFailure?: (query: Readonly<QueryExecution>) => string | undefined;
  onStateChange?: (event: AthenaQueryStateChangeEvent) => void;
  /** Called on every state change (progress and reports). */
  onQueryChange?: (query: Readonly<QueryExecution>) => void;
  /** Time spent in QUEUED. Default: 100 ms. */
  transitionMs?: number;
  region?: string;
  account?: string;
}

const TOKEN = /^[\x21-\x7e]{32,128}$/;

export class LocalAthena {
  /** Newest first. */
  private readonly queries: QueryExecution[] = [];
  private readonly byToken = new Map<string, QueryExecution>();
  private readonly pending = new Set<Promise<void>>();
  /** Ends a query's QUEUED wait early, by id: a stopped query's work settles at once. */
  private readonly queuedWakes = new Map<string, () => void>();
  private readonly sequence = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: LocalAthenaOptions) {}

  /** Every query, oldest first (for reports). */
  allQueries(): QueryExecution[] {
    return [...this.queries].reverse();
  }

  /** The AmazonAthena.<operation> handlers, for the AWS JSON server. */
  handlers(): Record<string, AwsJsonHandler> {
    return {
      StartQueryExecution: (body) => this.start(body),
      GetQueryExecution: (body) => ({ QueryExecution: this.view(this.find(body.QueryExecutionId)) }),
      BatchGetQueryExecution: (body) => this.batchGet(body),
      StopQueryExecution: (body) => this.stop(body),
      ListQueryExecutions: (body) => this.list(body),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
  }

  private find(id: unknown): QueryExecution {
    if (typeof id !== "string" || !id) throw new AwsJsonError("InvalidRequestException", "QueryExecutionId is required");
    const query = this.queries.find((q) => q.QueryExecutionId === id);
    if (!query) throw new AwsJsonError("InvalidRequestException", `QueryExecution ${id} was not found`);
    return query;
  }

  private workGroup(name: unknown): string {
    const workGroup = name === undefined ? "primary" : name;
    if (typeof workGroup !== "string" || (workGroup !== "primary" && !this.options.workGroups.includes(workGroup))) throw new AwsJsonError("InvalidRequestException", `WorkGroup ${String(workGroup)} is not found.`);
    return workGroup;
  }

  private start(body: Record<string, unknown>): { QueryExecutionId: string } {
    if (this.closed) throw new AwsJsonError("InternalServerException", "the local Athena service is shutting down", 500);
    if (typeof body.QueryString !== "string" || body.QueryString.length === 0 || body.QueryString.length > 262144)
      throw new AwsJsonError("InvalidRequestException", "QueryString must be 1 to 262,144 characters");
    const workGroup = this.workGroup(body.WorkGroup);
    const context = (body.QueryExecutionContext ?? {}) as Record<string, unknown>;
    const database = typeof context.Database === "string" ? context.Database : "default";
    const token = body.ClientRequestToken;
    if (token !== undefined && (typeof token !== "string" || !TOKEN.test(token)))
      throw new AwsJsonError("InvalidRequestException", "ClientRequestToken must be 32 to 128 printable characters");
    if (typeof token === "string") {
      // Idempotent: the same token gives the same query, unless the request differs.
      const earlier = this.byToken.get(token);
      if (earlier) {
        if (earlier.Query !== body.QueryString || earlier.WorkGroup !== workGroup || earlier.QueryExecutionContext.Database !== database)
          throw new AwsJsonError("InvalidRequestException", "Idempotent parameters do not match: a query with this ClientRequestToken was started with other parameters");
        return { QueryExecutionId: earlier.QueryExecutionId };
      }
    }
    const query: QueryExecution = {
      QueryExecutionId: randomUUID(),
      Query: body.QueryString,
      StatementType: "DML",
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: database, Catalog: "AwsDataCatalog" },
      ...(typeof token === "string" ? { ClientRequestToken: token } : {}),
      State: "QUEUED",
      SubmissionDateTime: new Date(),
    };
    this.queries.unshift(query);
    if (typeof token === "string") this.byToken.set(token, query);
    this.changed(query, null);
    const run = this.execute(query)
      .catch((e: unknown) => this.finish(query, "FAILED", { message: `local Athena service error: ${e instanceof Error ? e.message : String(e)}`, category: 1 }))
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
    return { QueryExecutionId: query.QueryExecutionId };
  }

  private batchGet(body: Record<string, unknown>) {
    const ids = body.QueryExecutionIds;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 50) throw new AwsJsonError("InvalidRequestException", "QueryExecutionIds must hold 1 to 50 ids");
    const QueryExecutions: unknown[] = [];
    const UnprocessedQueryExecutionIds: Array<{ QueryExecutionId: string; ErrorCode: string; ErrorMessage: string }> = [];
    for (const id of ids) {
      const query = this.queries.find((q) => q.QueryExecutionId === id);
      if (query) QueryExecutions.push(this.view(query));
      else UnprocessedQueryExecutionIds.push({ QueryExecutionId: String(id), ErrorCode: "INVALID_INPUT", ErrorMessage: `QueryExecution ${String(id)} was not found` });
    }
    return { QueryExecutions, UnprocessedQueryExecutionIds };
  }

  private stop(body: Record<string, unknown>) {
    const query = this.find(body.QueryExecutionId);
    // Stopping a finished query is accepted and changes nothing, as on Athena.
    if (!FINAL_STATES.has(query.State)) this.finish(query, "CANCELLED", { message: "Query was cancelled by user" });
    this.queuedWakes.get(query.QueryExecutionId)?.();
    return {};
  }

  private list(body: Record<string, unknown>) {
    const workGroup = this.workGroup(body.WorkGroup);
    const max = body.MaxResults ?? 50;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 0 || max > 50) throw new AwsJsonError("InvalidRequestException", "MaxResults must be an integer from 0 to 50");
    const ids = this.queries.filter((q) => q.WorkGroup === workGroup).map((q) => q.QueryExecutionId);
    let start = 0;
    if (body.NextToken !== undefined) {
      start = typeof body.NextToken === "string" ? ids.indexOf(body.NextToken) : -1;
      if (start < 0) throw new AwsJsonError("InvalidRequestException", `invalid NextToken ${JSON.stringify(body.NextToken)}`);
    }
    const page = ids.slice(start, start + (max || 50));
    const next = ids[start + (max || 50)];
    return { QueryExecutionIds: page, ...(next ? { NextToken: next } : {}) };
  }

  /** The API shape: epoch seconds for timestamps (JSON 1.1). */
  private view(q: QueryExecution) {
    const seconds = (d?: Date) => (d ? d.getTime() / 1000 : undefined);
    const total = q.CompletionDateTime ? q.CompletionDateTime.getTime() - q.SubmissionDateTime.getTime() : undefined;
    return {
      QueryExecutionId: q.QueryExecutionId,
      Query: q.Query,
      StatementType: q.StatementType,
      WorkGroup: q.WorkGroup,
      QueryExecutionContext: q.QueryExecutionContext,
      ResultConfiguration: {},
      EngineVersion: { SelectedEngineVersion: "AUTO", EffectiveEngineVersion: "Athena engine version 3" },
      Status: {
        State: q.State,
        ...(q.StateChangeReason ? { StateChangeReason: q.StateChangeReason } : {}),
        SubmissionDateTime: seconds(q.SubmissionDateTime),
        ...(q.CompletionDateTime ? { CompletionDateTime: seconds(q.CompletionDateTime) } : {}),
        ...(q.AthenaError ? { AthenaError: q.AthenaError } : {}),
      },
      Statistics: {
        ...(q.EngineExecutionTimeInMillis !== undefined ? { EngineExecutionTimeInMillis: q.EngineExecutionTimeInMillis } : {}),
        ...(q.DataScannedInBytes !== undefined ? { DataScannedInBytes: q.DataScannedInBytes } : {}),
        ...(total !== undefined ? { TotalExecutionTimeInMillis: total } : {}),
      },
    };
  }

  private async execute(query: QueryExecution): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.transitionMs ?? 100);
      this.queuedWakes.set(query.QueryExecutionId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.queuedWakes.delete(query.QueryExecutionId);
    if (query.State !== "QUEUED") return;
    this.transition(query, "RUNNING");
    const injected = this.options.injectedFailure?.(query);
    let outcome: { ok: true; result: AthenaStatementResult } | { ok: false; error: unknown };
    try {
      if (injected) throw new AthenaQueryError(injected);
      outcome = { ok: true, result: await runAthenaStatement({ s3: this.options.s3, catalog: this.options.catalog, database: query.QueryExecutionContext.Database, statement: query.Query, queryId: query.QueryExecutionId }) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    // A query stopped meanwhile stays CANCELLED (its output, if any, is the runner's to discard, as on Athena).
    if ((query.State as QueryState) !== "RUNNING") return;
    if (outcome.ok) {
      query.DataScannedInBytes = outcome.result.dataScannedInBytes;
      query.EngineExecutionTimeInMillis = outcome.result.engineExecutionTimeInMillis;
      query.rowsWritten = outcome.result.rows;
      this.finish(query, "SUCCEEDED");
    } else {
      const error = outcome.error;
      const known = error instanceof AthenaQueryError;
      this.finish(query, "FAILED", { message: error instanceof Error ? error.message : String(error), category: known ? error.category : 1, type: known ? error.errorType : 401 });
    }
  }

  private finish(query: QueryExecution, state: "SUCCEEDED" | "FAILED" | "CANCELLED", reason?: { message: string; category?: number; type?: number }): void {
    if (FINAL_STATES.has(query.State)) return;
    query.CompletionDateTime = new Date();
    query.DataScannedInBytes ??= 0;
    query.EngineExecutionTimeInMillis ??= query.CompletionDateTime.getTime() - query.SubmissionDateTime.getTime();
    if (reason) {
      query.StateChangeReason = reason.message;
      if (state === "FAILED") query.AthenaError = { ErrorCategory: reason.category ?? 2, ErrorType: reason.type ?? 1000, Retryable: false, ErrorMessage: reason.message };
    }
    this.transition(query, state);
  }

  private transition(query: QueryExecution, state: QueryState): void {
    const previous = query.State;
    query.State = state;
    this.changed(query, previous);
  }

  private changed(query: QueryExecution, previousState: QueryState | null): void {
    const sequenceNumber = (this.sequence.get(query.QueryExecutionId) ?? 0) + 1;
    this.sequence.set(query.QueryExecutionId, sequenceNumber);
    const event: AthenaQueryStateChangeEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Athena Query State Change",
      source: "aws.athena",
      account: this.options.account ?? "000000000000",
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.options.region ?? "us-east-1",
      resources: [],
      detail: {
        currentState: query.State,
        previousState,
        queryExecutionId: query.QueryExecutionId,
        sequenceNumber: String(sequenceNumber),
        statementType: "DML",
        versionId: "0",
        workgroupName: query.WorkGroup,
      },
    };
    notifyListener("local Athena", () => this.options.onQueryChange?.(query));
    notifyListener("local Athena", () => this.options.onStateChange?.(event));
  }
}


export interface LocalAthenaServer {
  athena: LocalAthena;
  /** For AWS_ENDPOINT_URL_ATHENA. */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts the local Athena on 127.0.0.1 (AWS JSON 1.1, `X-Amz-Target: AmazonAthena.<Operation>`). */
export async function startLocalAthena(options: LocalAthenaOptions & { onInternalError?: (operation: string, error: unknown) => void }): Promise<LocalAthenaServer> {
  const athena = new LocalAthena(options);
  const server = await startAwsJsonServer({ service: "AmazonAthena", handlers: athena.handlers(), onInternalError: options.onInternalError });
  return {
    athena,
    endpoint: server.endpoint,
    async close() {
      await server.close();
      await athena.close();
    },
  };
}
