// The project's one typed configuration: etl.config.json, validated with zod.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import type { EngineName } from "./job-spec";

export const PROJECT_ROOT = resolve(__dirname, "..");
export const DEFAULT_CONFIG_FILE = join(PROJECT_ROOT, "etl.config.json");

const name = z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, "lower-case letters, digits and '-', starting with a letter, at most 20 characters");
const s3Prefix = z.string().regex(/^([A-Za-z0-9_.=-]+\/)+$/, "an S3 key prefix such as 'raw/sales/' (no leading '/', ends with '/')");
const bucketPrefix = z.string().regex(/^[a-z0-9][a-z0-9-]{0,19}$/, "lower-case letters, digits and '-', at most 20 characters");
const fileName = z.string().regex(/^[A-Za-z0-9_.-]+$/, "a file name without folders");
const jobId = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, "letters, digits and '_', starting with a letter");
const datasetId = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "lower-case letters, digits and '_', starting with a letter");
// EventBridge accepts cron(6 fields) or rate(N unit).
const scheduleExpression = z
  .string()
  .regex(/^(cron\((\S+ ){5}\S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/, "an EventBridge expression such as 'cron(0 3 ? * MON *)' or 'rate(5 minutes)'");
const retentionDays = z.union(
  [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].map((d) => z.literal(d)) as unknown as [z.ZodLiteral<number>, z.ZodLiteral<number>],
  { error: "a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653" },
);
// Worker types of Spark (glueetl) jobs; G.025X is for streaming jobs only and Z.2X for Ray jobs only.
const workerType = z.enum(["G.1X", "G.2X", "G.4X", "G.8X"], {
  error: "a worker type of Glue Spark (glueetl) jobs: G.1X, G.2X, G.4X or G.8X (G.025X is for streaming jobs, Z.2X for Ray jobs)",
});

/** The technology a job runs on (core/job-spec.ts); "glue" when not set. */
export const ENGINES = ["glue", "athena", "emr-serverless"] as const satisfies readonly EngineName[];
const engine = z.enum(ENGINES, { error: `an engine: ${ENGINES.join(", ")}` });

const jobInput = z
  .object({
    /** View name the job's SQL reads the input as. */
    name: datasetId,
    /** A raw dataset (CSV, parsed with its schema) ... */
    dataset: datasetId.optional(),
    /** ... or the Parquet output of another job. */
    job: jobId.optional(),
  })
  .strict()
  .refine((i) => (i.dataset === undefined) !== (i.job === undefined), { message: "set exactly one of 'dataset' or 'job'" });

// Data-quality gates (core/quality.ts): unset fields take the safe defaults.
const droppedFraction = z.number().min(0).max(1).describe("largest fraction of an input's rows that may be dropped; unset: any but all of them");
const datasetQuality = z.object({ maxDroppedFraction: droppedFraction.optional() }).strict();
const jobQuality = z
  .object({
    /** Over every CSV input of the job; overrides its datasets' maxDroppedFraction. */
    maxDroppedFraction: droppedFraction.optional(),
    /** Default 1: an empty output fails the job. */
    minOutputRows: z.number().int().min(0).optional(),
    /** Output columns that must hold no null. */
    notNull: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/, "an output column name (lower snake_case)")).optional(),
  })
  .strict();

const job = z
  .object({
    description: z.string().max(2048).default(""),
    /** PySpark script in glue-scripts/; its SQL is the file of the same base name with .sql. */
    script: fileName.regex(/\.py$/, "a .py file"),
    inputs: z.array(jobInput).min(1),
    output: s3Prefix,
    /** Schema file in glue-scripts/schemas/ that makes the output an Athena table. */
    catalogSchema: fileName.optional(),
    workerType: workerType.optional(),
    numberOfWorkers: z.number().int().min(2).max(299).optional(),
    timeoutMinutes: z.number().int().min(1).max(2880).optional(),
    /** Where the job runs; moving a job is this one line (its SQL stays the one definition of its transformation). */
    engine: engine.default("glue"),
    quality: jobQuality.optional(),
  })
  .strict()
  .superRefine((j, ctx) => {
    // Glue's worker settings mean nothing elsewhere: say so rather than ignore them.
    for (const field of ["workerType", "numberOfWorkers"] as const)
      if (j.engine !== "glue" && j[field] !== undefined)
        ctx.addIssue({ code: "custom", path: [field], message: `applies to engine "glue" only (this job runs on ${j.engine})` });
  });

const backend = z.discriminatedUnion("type", [
  z.object({ type: z.literal("local"), path: z.string().optional() }).strict(),
  z
    .object({
      type: z.literal("s3"),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name"),
      /** Key prefix; each stack's state is stored at <keyPrefix><stack id>.tfstate. */
      keyPrefix: z.string().default("etl-orchestrator/"),
      region: z.string().optional(),
      /** S3 native locking (use_lockfile); DynamoDB locking is deprecated. */
      useLockfile: z.boolean().default(true),
    })
    .strict(),
]);

/** The configuration's fields (without the cross-field checks); etl.config.schema.json is generated from it. */
export const baseSchema = z
  .object({
    project: name,
    environment: name,
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as 'us-east-1'"),
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    backend: backend.default({ type: "local" }),
    dataLake: z
      .object({
        bucketPrefix,
        rawPrefix: s3Prefix,
        processedPrefix: s3Prefix,
        curatedPrefix: s3Prefix,
        /** Where Athena and EMR Serverless runs write before the runner publishes to the job's output. */
        stagingPrefix: s3Prefix.default("staging/"),
        /**
         * Days after which a staged object expires (a run that failed or was stopped leaves its staging folder).
         * At least 3: a run lasts at most a job's longest timeout (2 days) before it publishes.
         */
        stagingExpirationDays: z.number().int().min(3, "at least 3: a run may last 2 days (the longest job timeout) before it publishes its staged output").max(3650).default(7),
      })
      .strict(),
    artifacts: z.object({ bucketPrefix, scriptsPrefix: s3Prefix }).strict(),
    glue: z
      .object({
        version: z.string().regex(/^5\.\d+$/, "a Glue 5.x version such as '5.0'"),
        workerType,
        numberOfWorkers: z.number().int().min(2).max(299),
        timeoutMinutes: z.number().int().min(1).max(2880),
        maxConcurrentRuns: z.number().int().min(1).max(1000),
        databaseName: z.string().regex(/^[a-z][a-z0-9_]{0,254}$/, "lower-case letters, digits and '_'"),
      })
      .strict(),
    /** The Athena workgroup of the jobs with engine "athena" (created only if one exists). */
    athena: z
      .object({
        /** Athena cancels a query that would scan more; Athena's minimum is 10 MB. */
        bytesScannedCutoffPerQuery: z.number().int().min(10_000_000, "at least 10000000 (10 MB), Athena's minimum").default(10 * 1024 ** 3),
      })
      .strict()
      .default({ bytesScannedCutoffPerQuery: 10 * 1024 ** 3 }),
    /** The EMR Serverless application of the jobs with engine "emr-serverless" (created only if one exists). */
    emrServerless: z
      .object({
        releaseLabel: z.string().regex(/^emr-\d+\.\d+\.\d+$/, "an EMR release label such as 'emr-7.9.0'").default("emr-7.9.0"),
        /** The application stops after this long without jobs (auto-stop). */
        idleTimeoutMinutes: z.number().int().min(1).max(10080).default(15),
        /** The most the application may use at once, over all its running jobs. */
        maximumCapacity: z
          .object({
            cpu: z.string().regex(/^\d+ vCPU$/, "vCPUs such as '8 vCPU'").default("8 vCPU"),
            memory: z.string().regex(/^\d+ GB$/, "gigabytes such as '32 GB'").default("32 GB"),
          })
          .strict()
          .default({ cpu: "8 vCPU", memory: "32 GB" }),
      })
      .strict()
      .default({ releaseLabel: "emr-7.9.0", idleTimeoutMinutes: 15, maximumCapacity: { cpu: "8 vCPU", memory: "32 GB" } }),
    datasets: z
      .record(datasetId, z.object({ prefix: s3Prefix, schema: fileName, quality: datasetQuality.optional() }).strict())
      .refine((d) => Object.keys(d).length > 0, { message: "at least one dataset" }),
    jobs: z.record(jobId, job).refine((j) => Object.keys(j).length > 0, { message: "at least one job" }),
    stateMachine: z
      .object({
        name,
        definition: z.string().regex(/^asl\/[A-Za-z0-9_.-]+\.asl\.json$/, "a file asl/<name>.asl.json"),
        logLevel: z.enum(["ALL", "ERROR", "FATAL", "OFF"]),
        tracing: z.boolean(),
      })
      .strict(),
    activities: z.object({ runner: name, waitPrefix: z.string().regex(/^[a-z0-9-]{1,20}$/, "lower-case letters, digits and '-'") }).strict(),
    runner: z
      .object({
        tableName: name,
        runTtlDays: z.number().int().min(1).max(365),
        memoryMb: z.number().int().min(128).max(10240),
        // The activity long-poll lasts up to 60 s; the function must outlive it.
        timeoutSeconds: z.number().int().min(90, "at least 90 s, to outlive the 60 s activity long-poll").max(900),
        maxTasksPerInvocation: z.number().int().min(1).max(100),
        engineConcurrency: z.number().int().min(1).max(50),
      })
      .strict(),
    dataArrival: z
      .object({
        tableName: name,
        arrivalTtlDays: z.number().int().min(1).max(365),
        memoryMb: z.number().int().min(128).max(10240),
        timeoutSeconds: z.number().int().min(90, "at least 90 s, to outlive the 60 s activity long-poll").max(900),
      })
      .strict(),
    schedules: z
      .object({
        workflow: scheduleExpression,
        workflowEnabled: z.boolean(),
        /** Fallback wake-up of the runner and the data-arrival poller; events do the work normally. */
        fallback: scheduleExpression,
      })
      .strict(),
    notifications: z.object({ email: z.email().nullable() }).strict(),
    /**
     * Lambda functions outside the project that the ASL invokes (lambda:invoke, ${FunctionName.<id>}): the deployed
     * function's name, and the handler file the local runtime calls in its place.
     */
    lambdaFunctions: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, "letters, digits and '_', starting with a letter"),
        z
          .object({
            functionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a Lambda function name: 1-64 letters, digits, '-' or '_'"),
            localHandler: z.string().regex(/^[^\0]+\.(ts|js)(#[A-Za-z_$][\w$]*)?$/, "a .ts or .js file relative to the configuration file, optionally #export (default: handler)"),
          })
          .strict(),
      )
      .default({}),
    logRetentionDays: retentionDays,
    /** Folder of the Glue scripts, SQL and schemas, relative to the configuration file. */
    scriptsDir: z.string().default("glue-scripts"),
  })
  .strict();

const configSchema = baseSchema.superRefine((c, ctx) => {
  for (const [id, j] of Object.entries(c.jobs)) {
    j.inputs.forEach((input, i) => {
      if (input.dataset !== undefined && !(input.dataset in c.datasets))
        ctx.addIssue({ code: "custom", path: ["jobs", id, "inputs", i, "dataset"], message: `unknown dataset; known: ${Object.keys(c.datasets).join(", ")}` });
      if (input.job !== undefined && !(input.job in c.jobs))
        ctx.addIssue({ code: "custom", path: ["jobs", id, "inputs", i, "job"], message: `unknown job; known: ${Object.keys(c.jobs).join(", ")}` });
      if (input.job === id) ctx.addIssue({ code: "custom", path: ["jobs", id, "inputs", i, "job"], message: "a job cannot read its own output" });
    });
  }
  for (const [id, d] of Object.entries(c.datasets)) {
    if (!d.prefix.startsWith(c.dataLake.rawPrefix))
      ctx.addIssue({ code: "custom", path: ["datasets", id, "prefix"], message: `must lie under dataLake.rawPrefix '${c.dataLake.rawPrefix}'` });
  }
  const prefixes = Object.entries(c.datasets).map(([id, d]) => [id, d.prefix] as const);
  for (const [a, pa] of prefixes)
    for (const [b, pb] of prefixes)
      if (a < b && (pa.startsWith(pb) || pb.startsWith(pa)))
        ctx.addIssue({ code: "custom", path: ["datasets", b, "prefix"], message: `overlaps the prefix of dataset '${a}' ('${pa}'): an upload must map to one dataset` });
  checkNameLengths(c, ctx);
});

/** AWS name limits of the names derived in resourceNames() and the stacks. */
const NAME_LIMITS = { "IAM role": 64, "EventBridge rule": 64, "Step Functions activity": 80, "state machine": 80 } as const;

/**
 * The longest derived names must fit AWS's limits: for each group of fields, the name furthest over its limit is
 * reported, naming the fields it is built from and the resulting name (one issue per group, on its last field).
 */
function checkNameLengths(c: z.infer<typeof baseSchema>, ctx: z.RefinementCtx): void {
  const p = `${c.project}-${c.environment}`;
  const sm = `${p}-${c.stateMachine.name}`;
  const groups: Array<{ fields: string[]; path: PropertyKey[]; names: Array<[keyof typeof NAME_LIMITS, string]> }> = [
    {
      fields: ["project", "environment"],
      path: ["environment"],
      names: [
        ["IAM role", `${p}-etl-runner-role`],
        ["IAM role", `${p}-data-arrival-role`],
        ["IAM role", `${p}-glue-job`],
        ["IAM role", `${p}-emr-job`],
        ["EventBridge rule", `${p}-etl-runner-job-state`],
        ["EventBridge rule", `${p}-etl-runner-athena`],
        ["EventBridge rule", `${p}-etl-runner-emr`],
        ["EventBridge rule", `${p}-etl-runner-fallback`],
        ["EventBridge rule", `${p}-data-arrival-fallback`],
      ],
    },
    {
      fields: ["project", "environment", "stateMachine.name"],
      path: ["stateMachine", "name"],
      names: [
        ["state machine", sm],
        ["IAM role", `${sm}-role`],
        ["IAM role", `${sm}-schedule`],
        ["EventBridge rule", `${sm}-schedule`],
      ],
    },
    { fields: ["project", "environment", "activities.runner"], path: ["activities", "runner"], names: [["Step Functions activity", `${p}-${c.activities.runner}`]] },
    ...Object.keys(c.datasets).map((dataset) => ({
      fields: ["project", "environment", "activities.waitPrefix", `datasets.${dataset}`],
      path: ["datasets", dataset],
      names: [["Step Functions activity", `${p}-${c.activities.waitPrefix}${dataset}`]] as Array<[keyof typeof NAME_LIMITS, string]>,
    })),
  ];
  for (const { fields, path, names } of groups) {
    const worst = names
      .map(([kind, n]) => ({ kind, name: n, over: n.length - NAME_LIMITS[kind] }))
      .filter((n) => n.over > 0)
      .sort((a, b) => b.over - a.over)[0];
    if (worst)
      ctx.addIssue({
        code: "custom",
        path,
        message: `the ${worst.kind} name '${worst.name}' (from ${fields.join(", ")}) is ${worst.name.length} characters; AWS allows at most ${NAME_LIMITS[worst.kind]}: shorten ${fields.join(" or ")} by ${worst.over}`,
      });
  }
}

/** A validated configuration; `rootDir` is the folder relative paths in it resolve against. */
export type EtlConfig = z.infer<typeof configSchema> & { rootDir: string };
export type JobConfig = EtlConfig["jobs"][string];
export type DatasetConfig = EtlConfig["datasets"][string];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Picks the value at a zod issue path, for error messages that show what was given. */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

function mergeDeep(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  // Another variant of a tagged union (backend local -> s3) replaces the base: its fields do not mix.
  if ("type" in override && override.type !== base.type) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = mergeDeep(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Validates a raw configuration object (as read from JSON) for one environment.
 * `environments.<name>` overrides are merged over the base; the result's `environment` is that name.
 * Errors name the source, every failing field and the value given.
 */
export function parseConfig(raw: unknown, options: { source?: string; environment?: string; rootDir?: string } = {}): EtlConfig {
  const source = options.source ?? "configuration";
  if (!isPlainObject(raw)) throw new ConfigError(`${source}: expected a JSON object`);
  // `$schema` points editors at etl.config.schema.json (core/config-schema.ts); it configures nothing.
  const { environments = {}, $schema, ...base } = raw as Record<string, unknown>;
  if ($schema !== undefined && typeof $schema !== "string") throw new ConfigError(`${source}: $schema: expected the path or URL of the JSON schema (got ${JSON.stringify($schema)})`);
  let effective: unknown = base;
  const env = options.environment;
  if (env !== undefined && env !== base.environment) {
    if (!isPlainObject(environments) || !isPlainObject(environments[env]))
      throw new ConfigError(`${source}: unknown environment '${env}'; known: ${[base.environment, ...Object.keys(isPlainObject(environments) ? environments : {})].join(", ")}`);
    effective = { ...(mergeDeep(base, environments[env]) as object), environment: env };
  }
  const result = configSchema.safeParse(effective);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.join(".") || "(root)";
      const value = valueAt(effective, issue.path);
      return `  - ${field}: ${issue.message} (got ${value === undefined ? "nothing" : JSON.stringify(value)})`;
    });
    throw new ConfigError(`${source}${env ? ` [environment ${env}]` : ""}: invalid configuration\n${lines.join("\n")}`);
  }
  const config = { ...result.data, rootDir: options.rootDir ?? PROJECT_ROOT };
  checkFiles(config, source);
  return config;
}

/** Every file the configuration names must exist, so a typo fails the synth, not the first run. */
function checkFiles(c: EtlConfig, source: string): void {
  const missing: string[] = [];
  const need = (field: string, path: string) => {
    if (!existsSync(path)) missing.push(`  - ${field}: file not found: ${path}`);
  };
  need("stateMachine.definition", definitionPath(c));
  for (const [id, d] of Object.entries(c.datasets)) need(`datasets.${id}.schema`, schemaPath(c, d.schema));
  for (const [id, j] of Object.entries(c.jobs)) {
    need(`jobs.${id}.script`, scriptPath(c, j));
    need(`jobs.${id}.script (its SQL)`, sqlPath(c, j));
    if (j.catalogSchema) need(`jobs.${id}.catalogSchema`, schemaPath(c, j.catalogSchema));
  }
  for (const [id, f] of Object.entries(c.lambdaFunctions)) need(`lambdaFunctions.${id}.localHandler`, localHandlerPath(c, f.localHandler).file);
  if (missing.length) throw new ConfigError(`${source}: invalid configuration\n${missing.join("\n")}`);
}

export const scriptsDir = (c: EtlConfig) => resolve(c.rootDir, c.scriptsDir);
export const definitionPath = (c: EtlConfig) => resolve(c.rootDir, c.stateMachine.definition);
export const scriptPath = (c: EtlConfig, job: JobConfig) => join(scriptsDir(c), job.script);
export const sqlPath = (c: EtlConfig, job: JobConfig) => join(scriptsDir(c), job.script.replace(/\.py$/, ".sql"));
export const schemaPath = (c: EtlConfig, file: string) => join(scriptsDir(c), "schemas", file);
/** A `lambdaFunctions.<id>.localHandler` as a file and the name of its export. */
export const localHandlerPath = (c: EtlConfig, handler: string) => {
  const [file, exported = "handler"] = handler.split("#");
  return { file: resolve(c.rootDir, file), exported };
};

/** Reads and validates etl.config.json (or `file`) for the environment in ETL_ENV, if set. */
export function loadConfig(file = process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE, environment = process.env.ETL_ENV || undefined): EtlConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the configuration (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, { source: file, environment, rootDir: dirname(resolve(file)) });
}

/** Prefix of every resource name: "<project>-<environment>". */
const namePrefix = (c: EtlConfig) => `${c.project}-${c.environment}`;

/** Names the stacks and the local runtime agree on. */
export function resourceNames(c: EtlConfig) {
  const p = namePrefix(c);
  return {
    prefix: p,
    runnerActivity: `${p}-${c.activities.runner}`,
    waitActivity: (dataset: string) => `${p}-${c.activities.waitPrefix}${dataset}`,
    glueJob: (job: string) => `${p}-${job}`,
    stateMachine: `${p}-${c.stateMachine.name}`,
    runnerTable: `${p}-${c.runner.tableName}`,
    arrivalTable: `${p}-${c.dataArrival.tableName}`,
    runnerFunction: `${p}-etl-runner`,
    dataArrivalFunction: `${p}-data-arrival`,
    failureTopic: `${p}-failures`,
    /** Athena workgroup of the jobs with engine "athena". */
    athenaWorkGroup: `${p}-etl`,
    /** EMR Serverless application of the jobs with engine "emr-serverless". */
    emrApplication: `${p}-spark`,
    /** Execution role of the EMR Serverless job runs. */
    emrJobRole: `${p}-emr-job`,
    /** Source of the project's own EventBridge events (RunnerTaskScheduled from the functions, and any kick in the ASL). */
    eventSource: `${c.project}.${c.environment}.workflow`,
  };
}

