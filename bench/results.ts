// What a benchmark section produces, how it compares with its target, and the printed table.
import type { Machine } from "./machine";

/** A goal in the figure's own unit: "at most" (times, sizes) or "at least" (throughput). */
export interface Target {
  atMost?: number;
  atLeast?: number;
}

export interface Figure {
  name: string;
  unit: string;
  median: number;
  /** Every measured value, in the order measured; `median` is their median. */
  samples: number[];
  /** How each sample was measured, as a command or a description of the timed span. */
  command: string;
  target?: Target;
  /** A comparison that is not a pass/fail target, e.g. "about half the period: 1000 ms". */
  expected?: string;
  note?: string;
}

export interface SectionResult {
  title: string;
  measuredAt: string;
  machine: Machine;
  /** The command that produced this section. */
  command: string;
  figures: Figure[];
}

export interface Results {
  updatedAt: string;
  sections: Record<string, SectionResult>;
}

export type Verdict = { status: "met" | "missed"; by: number } | undefined;

/** Whether a figure meets its target, and by how much it misses it (in the figure's unit). */
export function verdict(figure: Pick<Figure, "median" | "target">): Verdict {
  const { target, median } = figure;
  if (target?.atMost !== undefined) return median <= target.atMost ? { status: "met", by: 0 } : { status: "missed", by: median - target.atMost };
  if (target?.atLeast !== undefined) return median >= target.atLeast ? { status: "met", by: 0 } : { status: "missed", by: target.atLeast - median };
  return undefined;
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function targetText(figure: Figure): string {
  const { target } = figure;
  if (target?.atMost !== undefined) return `≤ ${formatNumber(target.atMost)} ${figure.unit}`;
  if (target?.atLeast !== undefined) return `≥ ${formatNumber(target.atLeast)} ${figure.unit}`;
  return figure.expected ?? "";
}

export function statusText(figure: Figure): string {
  const v = verdict(figure);
  if (!v) return "";
  if (v.status === "met") return "met";
  const reference = figure.target!.atMost ?? figure.target!.atLeast!;
  return `MISSED by ${formatNumber(v.by)} ${figure.unit} (${Math.round((v.by / reference) * 100)}%)`;
}

/** A Markdown table (readable in a terminal and pasteable into BENCHMARKS.md). */
export function renderTable(results: Results, order: readonly string[]): string {
  const rows: string[][] = [["section", "figure", "median", "unit", "runs", "target", "status"]];
  for (const id of order) {
    const section = results.sections[id];
    if (!section) continue;
    for (const f of section.figures) rows.push([id, f.name, formatNumber(f.median), f.unit, String(f.samples.length), targetText(f), statusText(f)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell + " ".repeat(widths[c] - [...cell].length)).join(" | ")} |`;
  return [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}
