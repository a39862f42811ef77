// Data-quality gates: one rule, read by every engine. The limits come from the configuration
// (datasets.<name>.quality, jobs.<ID>.quality), travel to the job as `--etl_quality` (JSON), and are checked
// against the job's counts before its output is written. glue-scripts/etl_common.py check_quality is the same
// function in Python; test/fixtures/quality-gates.json pins both. Must not import cdktf.
import type { EtlConfig } from "./config";

/** What `--etl_quality` carries. */
export interface QualityLimits {
  /**
   * Per input (view name): the largest fraction of the rows read that may be dropped. null or absent: any
   * fraction except all of them (a job whose every input row was dropped fails); 1 allows every row dropped.
   */
  inputs: Record<string, { maxDroppedFraction: number | null }>;
  /** The fewest rows the output may have (default 1: an empty output fails; 0 allows it). */
  minOutputRows: number;
  /** Output columns that must hold no null. */
  notNull: string[];
}

/** What a job counted: rows read and dropped per input, rows written, nulls per notNull column. */
export interface QualityCounts {
  inputs: Record<string, { read: number; dropped: number }>;
  written: number;
  nulls: Record<string, number>;
}

export const DEFAULT_MIN_OUTPUT_ROWS = 1;
export const DEFAULT_LIMITS: QualityLimits = { inputs: {}, minOutputRows: DEFAULT_MIN_OUTPUT_ROWS, notNull: [] };

/** A job over its limits. Its message starts with "DataQualityError: " and gives the counts and the limits. */
export class DataQualityError extends Error {
  override name = "DataQualityError";
  constructor(
    readonly detail: string,
    readonly counts: QualityCounts,
  ) {
    super(`DataQualityError: ${detail}`);
  }
}

/** True for a job run's error message that reports a data-quality failure (Glue may put its own prefix first). */
export function isDataQualityMessage(message: string | undefined): boolean {
  return /(^|[\s;:])DataQualityError:/.test(message ?? "");
}

/** A number as both engines print it: integers without a fraction, others in their shortest form. */
const formatNumber = (value: number) => String(value);

/**
 * The gate: undefined when the counts are within the limits, else the cause (without the "DataQualityError: "
 * prefix): every violation, then all the counts. Identical to etl_common.py check_quality.
 */
export function checkQuality(counts: QualityCounts, limits: QualityLimits): string | undefined {
  const violations: string[] = [];
  for (const [name, { read, dropped }] of Object.entries(counts.inputs)) {
    if (read <= 0) continue;
    const limit = limits.inputs[name]?.maxDroppedFraction ?? null;
    if (limit === null) {
      if (dropped >= read) violations.push(`input '${name}': all ${read} rows read were dropped (limit: not all, unless maxDroppedFraction is 1)`);
    } else if (dropped > limit * read) {
      violations.push(`input '${name}': ${dropped} of ${read} rows read were dropped (limit: maxDroppedFraction ${formatNumber(limit)})`);
    }
  }
  if (counts.written < limits.minOutputRows) violations.push(`output: ${counts.written} rows written (limit: minOutputRows ${limits.minOutputRows})`);
  for (const column of limits.notNull) {
    const nulls = counts.nulls[column] ?? 0;
    if (nulls > 0) violations.push(`output: column '${column}' has ${nulls} null values (limit: notNull)`);
  }
  if (!violations.length) return undefined;
  const each = (key: "read" | "dropped") => Object.entries(counts.inputs).map(([name, c]) => `${name} ${c[key]}`).join(", ") || "none";
  return `${violations.join("; ")} (rows read: ${each("read")}; dropped: ${each("dropped")}; written: ${counts.written})`;
}

/** Throws DataQualityError when the counts are over the limits. */
export function enforceQuality(counts: QualityCounts, limits: QualityLimits): void {
  const cause = checkQuality(counts, limits);
  if (cause !== undefined) throw new DataQualityError(cause, counts);
}

/** The limits of one job: its own quality settings over its datasets' (per input), with the safe defaults. */
export function jobQualityLimits(config: EtlConfig, jobId: string): QualityLimits {
  const job = config.jobs[jobId];
  const inputs: QualityLimits["inputs"] = {};
  for (const input of job.inputs) {
    const fromDataset = input.dataset !== undefined ? config.datasets[input.dataset].quality?.maxDroppedFraction : undefined;
    inputs[input.name] = { maxDroppedFraction: job.quality?.maxDroppedFraction ?? fromDataset ?? null };
  }
  return { inputs, minOutputRows: job.quality?.minOutputRows ?? DEFAULT_MIN_OUTPUT_ROWS, notNull: job.quality?.notNull ?? [] };
}

/** Parses `--etl_quality`; errors name the argument and the field. Absent: the defaults. */
export function parseQualityLimits(text: string | undefined): QualityLimits {
  if (text === undefined || text === "") return DEFAULT_LIMITS;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`--etl_quality: invalid JSON (${(e as Error).message})`);
  }
  const object = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!object(raw)) throw new Error(`--etl_quality: expected a JSON object, got ${text}`);
  const inputs: QualityLimits["inputs"] = {};
  for (const [name, value] of Object.entries(object(raw.inputs) ? raw.inputs : {})) {
    const limit = object(value) ? (value.maxDroppedFraction ?? null) : undefined;
    if (limit !== null && (typeof limit !== "number" || limit < 0 || limit > 1))
      throw new Error(`--etl_quality: inputs.${name}.maxDroppedFraction: expected a number from 0 to 1 or null, got ${JSON.stringify(limit)}`);
    inputs[name] = { maxDroppedFraction: limit };
  }
  const minOutputRows = raw.minOutputRows ?? DEFAULT_MIN_OUTPUT_ROWS;
  if (typeof minOutputRows !== "number" || !Number.isInteger(minOutputRows) || minOutputRows < 0)
    throw new Error(`--etl_quality: minOutputRows: expected a whole number >= 0, got ${JSON.stringify(minOutputRows)}`);
  const notNull = raw.notNull ?? [];
  if (!Array.isArray(notNull) || !notNull.every((c) => typeof c === "string"))
    throw new Error(`--etl_quality: notNull: expected a list of column names, got ${JSON.stringify(notNull)}`);
  return { inputs, minOutputRows, notNull };
}

/** The counts object a job writes next to its output (every engine but Athena, whose counts statement gives them). */
export const COUNTS_OBJECT = "_etl_counts.json";

/** What a task output and the counts object carry: rows read and dropped per input (Parquet inputs drop none), rows written. */
export interface RunCounts {
  rowsRead: Record<string, number>;
  rowsDropped: Record<string, number>;
  rowsWritten: number;
}

export function runCounts(counts: Pick<QualityCounts, "inputs" | "written">): RunCounts {
  const each = (key: "read" | "dropped") => Object.fromEntries(Object.entries(counts.inputs).map(([name, c]) => [name, c[key]]));
  return { rowsRead: each("read"), rowsDropped: each("dropped"), rowsWritten: counts.written };
}

/** Reads a counts object (`{ taskId, rowsRead, rowsDropped, rowsWritten }`); errors say what is wrong. */
export function parseCountsObject(text: string, where: string): RunCounts & { taskId: string | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  const object = raw as Record<string, unknown> | null;
  const isCounts = (v: unknown) => v !== null && typeof v === "object" && Object.values(v as object).every((n) => Number.isInteger(n) && (n as number) >= 0);
  if (!object || typeof object !== "object" || !isCounts(object.rowsRead) || !isCounts(object.rowsDropped) || !Number.isInteger(object.rowsWritten))
    throw new Error(`${where}: expected { taskId, rowsRead, rowsDropped, rowsWritten }, got ${text.slice(0, 200)}`);
  return { taskId: typeof object.taskId === "string" ? object.taskId : null, rowsRead: object.rowsRead as Record<string, number>, rowsDropped: object.rowsDropped as Record<string, number>, rowsWritten: object.rowsWritten as number };
}
