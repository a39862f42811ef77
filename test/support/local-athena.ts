// A local S3 and the local Athena over the active configuration's catalog, for tests: started per test, both
// closed after it (127.0.0.1 only). Used by test/local/athena-service.test.ts (mechanisms) and
// test/example/local-athena-service.test.ts (the example's results).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, type QueryExecution } from "@aws-sdk/client-athena";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { catalogTables } from "../../core/catalog";
import type { EtlConfig } from "../../core/config";
import { startLocalAthena, type AthenaQueryStateChangeEvent, type LocalAthenaOptions, type LocalAthenaServer } from "../../local/athena-service";
import { startLocalS3, type LocalS3 } from "../../local/s3";

export const BUCKET = "data-lake-test";
export const WORKGROUP = "etl-test-etl";

export interface LocalAthenaHarness {
  s3: LocalS3;
  athena: AthenaClient;
  server: LocalAthenaServer;
  /** The state-change events of the server started last. */
  events: AthenaQueryStateChangeEvent[];
  /** A scratch folder, removed after the test. */
  work: string;
  /** Starts (or restarts) the local Athena with `options`. */
  start(options?: Partial<LocalAthenaOptions>): Promise<void>;
  put(Key: string, Body: string | Uint8Array): Promise<unknown>;
  keysUnder(Prefix: string): Promise<string[]>;
  /** Without a token, the SDK makes one up (the field is an idempotency token). */
  startQuery(QueryString: string, ClientRequestToken?: string): Promise<{ QueryExecutionId?: string }>;
  waitForFinal(QueryExecutionId: string): Promise<QueryExecution>;
}

/** Registers mocha hooks that start the local S3 before each test and close everything after; call in a describe. */
export function localAthenaHarness(config: EtlConfig): LocalAthenaHarness {
  const harness = { events: [] as AthenaQueryStateChangeEvent[] } as Omit<LocalAthenaHarness, "server" | "athena"> & { server?: LocalAthenaServer; athena?: AthenaClient };
  // waitForFinal checks again at each state change (woken by its event: no sleep between checks, no count of them).
  const waiters = new Set<() => void>();
  const nextChange = () =>
    new Promise<void>((resolve) => {
      const wake = () => (waiters.delete(wake), resolve());
      waiters.add(wake);
    });

  beforeEach(async () => {
    harness.s3 = await startLocalS3({ bucket: BUCKET });
    harness.work = await mkdtemp(join(tmpdir(), "athena-test-"));
  });

  afterEach(async () => {
    harness.athena?.destroy();
    await harness.server?.close();
    harness.server = undefined;
    harness.athena = undefined;
    await harness.s3.close();
    await rm(harness.work, { recursive: true, force: true });
  });

  harness.start = async (options = {}) => {
    harness.athena?.destroy();
    await harness.server?.close();
    harness.events = [];
    harness.server = await startLocalAthena({
      s3: harness.s3.client,
      catalog: { database: config.glue.databaseName, bucket: BUCKET, tables: catalogTables(config) },
      workGroups: [WORKGROUP],
      transitionMs: 10,
      onStateChange: (e) => {
        harness.events.push(e);
        for (const wake of [...waiters]) wake();
      },
      ...options,
    });
    harness.athena = new AthenaClient({ endpoint: harness.server.endpoint, region: "us-east-1", maxAttempts: 1 });
  };
  harness.put = (Key, Body) => harness.s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  harness.keysUnder = async (Prefix) => ((await harness.s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!).sort();
  harness.startQuery = (QueryString, ClientRequestToken) =>
    harness.athena!.send(new StartQueryExecutionCommand({ QueryString, WorkGroup: WORKGROUP, QueryExecutionContext: { Database: config.glue.databaseName }, ClientRequestToken }));
  harness.waitForFinal = async (QueryExecutionId) => {
    for (;;) {
      const changed = nextChange();
      const { QueryExecution } = await harness.athena!.send(new GetQueryExecutionCommand({ QueryExecutionId }));
      if (!["QUEUED", "RUNNING"].includes(QueryExecution!.Status!.State!)) return QueryExecution!;
      await changed;
    }
  };
  return harness as LocalAthenaHarness;
}
