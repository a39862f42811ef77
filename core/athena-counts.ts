// The counts statement's JSON line (core/athena-query.ts athenaCountsQuery), read by the runner's Athena adapter.
// Separate from athena-query.ts, which reads the configuration and files: the runner's bundle takes only this.
// Must not import cdktf.
import type { QualityCounts, QualityLimits } from "./quality";

/** The column of the counts statement's JSON line: `<input>.read`, `<input>.kept`, `written`, `<column>.nulls`. */
export const countsColumn = {
  read: (input: string) => `${input}.read`,
  kept: (input: string) => `${input}.kept`,
  written: "written",
  nulls: (column: string) => `${column}.nulls`,
} as const;

/** The counts of a job from the counts statement's JSON line; errors name the missing column. */
export function athenaCounts(line: string, limits: QualityLimits): QualityCounts {
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(line) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`the counts statement's output is not a JSON line (${(e as Error).message}): ${line.slice(0, 200)}`);
  }
  const count = (column: string) => {
    const value = Number(row[column]);
    if (row[column] === undefined || row[column] === null || !Number.isInteger(value) || value < 0)
      throw new Error(`the counts statement's output has no count ${JSON.stringify(column)}: ${line.slice(0, 200)}`);
    return value;
  };
  const inputs: QualityCounts["inputs"] = {};
  for (const name of Object.keys(limits.inputs)) {
    const read = count(countsColumn.read(name));
    inputs[name] = { read, dropped: read - count(countsColumn.kept(name)) };
  }
  return { inputs, written: count(countsColumn.written), nulls: Object.fromEntries(limits.notNull.map((c) => [c, count(countsColumn.nulls(c))])) };
}
