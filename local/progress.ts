// Text for `npm start`: one progress line per event, with the elapsed time, and the final summary.
import type { ProgressEvent, RunReport } from "./runtime";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const shortRunId = (id: string) => (id.length > 14 ? `${id.slice(0, 14)}…` : id);

/** One line for a progress event, or undefined for events not shown. `startMs` is when the run began. */
export function formatProgress(event: ProgressEvent, startMs: number): string | undefined {
  const elapsed = `[${seconds(Date.parse(event.at) - startMs).padStart(7)}]`;
  switch (event.type) {
    case "services":
      return `${elapsed} local services up: ${Object.entries(event.endpoints).map(([k, v]) => `${k} ${v}`).join(", ")}`;
    case "upload":
      return `${elapsed} uploaded ${event.dataset}: ${event.file} -> ${event.key} (${event.bytes.toLocaleString("en-US")} bytes)`;
    case "execution":
      return `${elapsed} execution ${event.status}${event.error ? ` (${event.error}${event.cause ? `: ${event.cause.slice(0, 300)}` : ""})` : ""}: ${event.executionArn}`;
    case "state":
      return event.phase === "entered"
        ? `${elapsed} state ${event.name} entered`
        : `${elapsed} state ${event.name} exited ${event.status ?? ""}${event.error ? ` (${event.error})` : ""}`.trimEnd();
    case "job":
      return `${elapsed} job ${event.jobName} (${event.engine}) run ${shortRunId(event.runId)} ${event.state}${event.errorMessage ? ` (${event.errorMessage})` : ""}${droppedText(event.droppedRows)}${countsText(event)}`;
    case "notification":
      return `${elapsed} notification published: ${event.subject ? `${event.subject}: ` : ""}${event.message}`;
    case "invocation":
      return undefined; // too many to show; the benchmark and tests count them
    case "invocation-error":
      return `${elapsed} ${event.functionName} failed on ${event.trigger}: ${event.error.split("\n")[0]}`;
    case "output":
      return `${elapsed} output: ${event.files.length} Parquet file(s) in ${event.dir}, ${event.rows.toLocaleString("en-US")} rows`;
  }
}

/** ", dropped 3 malformed or unparseable row(s) of sales" for inputs that lost rows; "" when none did. */
function droppedText(dropped: Record<string, number> | undefined): string {
  const lost = Object.entries(dropped ?? {}).filter(([, n]) => n > 0);
  if (!lost.length) return "";
  return `, dropped ${lost.map(([input, n]) => `${n.toLocaleString("en-US")} malformed or unparseable row(s) of ${input}`).join(", ")}`;
}

const count = (n: number) => n.toLocaleString("en-US");

/** "; rows read 2,000 (sales 2,000), written 31" once a run has its counts; "" before. */
function countsText(counts: { rowsRead?: Record<string, number>; rowsWritten?: number }): string {
  if (!counts.rowsRead || counts.rowsWritten === undefined) return "";
  const read = Object.entries(counts.rowsRead);
  const total = read.reduce((sum, [, n]) => sum + n, 0);
  return `; rows read ${count(total)}${read.length > 1 ? ` (${read.map(([name, n]) => `${name} ${count(n)}`).join(", ")})` : ""}, written ${count(counts.rowsWritten)}`;
}

/** A plain-text table of rows (the first rows of the output), at most `maxColumns` columns wide. */
function formatRows(rows: Array<Record<string, unknown>>, maxColumns = 8): string {
  if (rows.length === 0) return "  (no rows)";
  const all = Object.keys(rows[0]);
  const columns = all.slice(0, maxColumns);
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "" : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => `  ${values.map((v, i) => v.padEnd(widths[i])).join(" | ")}`.trimEnd();
  const table = [line(columns), `  ${widths.map((w) => "-".repeat(w)).join("-+-")}`, ...cells.map(line)];
  if (all.length > columns.length) table.push(`  (${all.length - columns.length} more columns: ${all.slice(maxColumns).join(", ")})`);
  return table.join("\n");
}

/**
 * The end-of-run summary: status, durations, output location, row count and the first rows (`firstRows`, by the
 * path of the folder they are from: the output folder, or each final job's subfolder of it).
 */
export function formatSummary(report: RunReport, firstRows: Record<string, Array<Record<string, unknown>>>, totalMs: number): string {
  const lines = [
    "",
    `Workflow ${report.status} in ${seconds(Date.parse(report.stoppedAt) - Date.parse(report.startedAt))} (total ${seconds(totalMs)} with local services)`,
    `  execution: ${report.executionArn}`,
  ];
  if (report.error) lines.push(`  error: ${report.error}`);
  for (const job of report.jobs) {
    const duration = job.completedOn ? seconds(Date.parse(job.completedOn) - Date.parse(job.startedOn)) : "still running";
    lines.push(`  job ${job.jobName} (${job.engine}, run ${shortRunId(job.runId)}): ${job.state} in ${duration}${job.errorMessage ? ` (${job.errorMessage})` : ""}${droppedText(job.droppedRows)}${countsText(job)}`);
  }
  for (const n of report.notifications) lines.push(`  notification: ${n.subject ? `${n.subject}: ` : ""}${n.message}`);
  const preview = (dir: string) => {
    const rows = firstRows[dir] ?? [];
    if (rows.length) lines.push(`  first ${rows.length} rows:`, formatRows(rows));
  };
  const parts = Object.entries(report.output.byJob ?? {});
  if (report.output.written && parts.length) {
    lines.push(`  output: ${report.output.dir}, one subfolder per final job:`);
    for (const [job, part] of parts) {
      lines.push(`  output of ${job}: ${part.dir} (${part.rows.toLocaleString("en-US")} rows)`);
      preview(part.dir);
    }
  } else if (report.output.written) {
    lines.push(`  output: ${report.output.dir} (${report.output.rows.toLocaleString("en-US")} rows)`);
    preview(report.output.dir);
  } else if (report.output.files.length) {
    lines.push(`  output: ${report.output.dir} unchanged: it still holds the previous result (${report.output.rows.toLocaleString("en-US")} rows)`);
  } else lines.push(`  output: nothing written to ${report.output.dir}`);
  return lines.join("\n");
}
