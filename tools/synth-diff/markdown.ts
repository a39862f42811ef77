// Renders a synth comparison (compare.ts) as Markdown for a pull-request comment: a table of stacks, then one
// line per changed attribute, IAM statement and state-machine state.
import { sidOf } from "../../core/sfn-integrations";
import { canonical, sortKeys, type AttributeChange, type ItemChange, type Json, type StackChange, type StateChange, type StatementChange } from "./compare";


const MAX_VALUE = 120;

/** A value as inline code, shortened; backticks cannot break out of it. */
export function inlineValue(v: Json | undefined): string {
  if (v === undefined) return "(absent)";
  let text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(sortKeys(v));
  if (text.length > MAX_VALUE) text = `${text.slice(0, MAX_VALUE - 1)}…`;
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${fence.length > 1 ? " " : ""}${text}${fence.length > 1 ? " " : ""}${fence}`;
}

/** One change as text: `path`: before → after, or a set difference for lists of scalars. */
export function describeChange(c: AttributeChange): string {
  const path = `\`${c.path}\``;
  if (Array.isArray(c.before) && Array.isArray(c.after)) {
    const b = new Set(c.before.map((x) => canonical(x)));
    const a = new Set(c.after.map((x) => canonical(x)));
    const plus = c.after.filter((x) => !b.has(canonical(x))).map((x) => `+${inlineValue(x)}`);
    const minus = c.before.filter((x) => !a.has(canonical(x))).map((x) => `−${inlineValue(x)}`);
    if (plus.length + minus.length) return `${path} ${[...plus, ...minus].join(" ")}`;
    return `${path} reordered: ${inlineValue(c.after)}`;
  }
  if (typeof c.before === "string" && typeof c.after === "string" && Math.max(c.before.length, c.after.length) > MAX_VALUE - 2) {
    // Long strings: show them from just before the first difference.
    let p = 0;
    while (p < c.before.length && c.before[p] === c.after[p]) p++;
    const from = Math.max(0, p - 30);
    const cut = (v: string) => (from ? `…${v.slice(from)}` : v);
    return `${path} ${inlineValue(cut(c.before))} → ${inlineValue(cut(c.after))}`;
  }
  if (c.before === undefined) return `${path} added ${inlineValue(c.after)}`;
  if (c.after === undefined) return `${path} removed (was ${inlineValue(c.before)})`;
  return `${path} ${inlineValue(c.before)} → ${inlineValue(c.after)}`;
}

const SIGN = { added: "➕", removed: "➖", changed: "✏️" } as const;

function stateLine(s: StateChange): string {
  const where = s.parent ? ` in ${s.parent}` : "";
  const head = `${SIGN[s.kind]} state \`${s.name}\` (${s.type}${where})`;
  return s.kind === "changed" ? `${head}: ${s.changes.map(describeChange).join("; ")}` : `${head} ${s.kind}`;
}

function statementLine(attribute: string, s: StatementChange): string {
  const what = s.kind === "changed" ? s.changes.map(describeChange).join("; ") : `${s.kind}: ${inlineValue(s.statement)}`;
  return `\`${attribute}\` statement ${SIGN[s.kind]} \`${s.label}\`: ${what}`;
}

/**
 * The state an integration statement belongs to: its Sid is the state's name as a Sid (core/sfn-integrations.ts
 * sidOf), with a number when the state has several statements. The longest matching name wins.
 */
function stateOfStatement(label: string, states: readonly string[]): string | undefined {
  const owners = states.filter((n) => label === sidOf(n) || (label.startsWith(sidOf(n)) && /^\d+$/.test(label.slice(sidOf(n).length))));
  return owners.sort((a, b) => sidOf(b).length - sidOf(a).length)[0];
}

/** IAM statement changes caused by state changes, by state name; shown under the state instead of under the policy. */
type ByState = Map<string, Array<{ address: string; line: string }>>;

function itemLines(item: ItemChange, byState: ByState = new Map(), moved = new Set<StatementChange>()): string[] {
  if (item.kind === "removed") return [`- ${SIGN.removed} \`${item.address}\` removed`];
  if (item.kind === "added") {
    const body = JSON.stringify(sortKeys(item.value), null, 2);
    return [`- ${SIGN.added} \`${item.address}\` added`, "  <details><summary>attributes</summary>", "", "  ```json", ...body.split("\n").map((l) => `  ${l}`), "  ```", "  </details>"];
  }
  const lines = [`- ${SIGN.changed} \`${item.address}\``];
  for (const c of item.changes) lines.push(`  - ${describeChange(c)}`);
  for (const p of item.policies) {
    const shown = p.statements.filter((s) => !moved.has(s));
    for (const s of shown) lines.push(`  - ${statementLine(p.attribute, s)}`);
    if (shown.length < p.statements.length) lines.push(`  - \`${p.attribute}\`: ${p.statements.length - shown.length} statement change(s) shown with the states that cause them`);
  }
  for (const m of item.stateMachines) {
    for (const f of m.fields) lines.push(`  - \`${m.attribute}\` ${describeChange(f)}`);
    for (const s of m.states) {
      lines.push(`  - \`${m.attribute}\` ${stateLine(s)}`);
      for (const iam of byState.get(s.name) ?? []) lines.push(`    - IAM \`${iam.address}\` ${iam.line}`);
    }
  }
  return lines;
}

/** Statement changes of the stack's policies that belong to a changed, added or removed state of its state machines. */
function statementsByState(items: readonly ItemChange[]): { byState: ByState; moved: Set<StatementChange> } {
  const states = items.flatMap((i) => i.stateMachines.flatMap((m) => m.states.map((s) => s.name)));
  const byState: ByState = new Map();
  const moved = new Set<StatementChange>();
  for (const item of items)
    for (const p of item.policies)
      for (const s of p.statements) {
        const state = stateOfStatement(s.label, states);
        if (!state) continue;
        moved.add(s);
        byState.set(state, [...(byState.get(state) ?? []), { address: item.address, line: statementLine(p.attribute, s) }]);
      }
  return { byState, moved };
}

/** The comparison as Markdown for a pull-request comment. */
export function renderMarkdown(changes: StackChange[], options: { base: string; head?: string }): string {
  const title = `## Synth diff: \`${options.base}\` → ${options.head ?? "working tree"}`;
  const changed = changes.filter((s) => s.kind !== "unchanged");
  if (!changed.length) return `${title}\n\nNo changes in the synthesized stacks (${changes.map((s) => `\`${s.stack}\``).join(", ") || "none"}).\n`;
  const count = (s: StackChange, kind: ItemChange["kind"]) => s.items.filter((i) => i.kind === kind).length;
  const out = [title, "", "| stack | | added | removed | changed |", "| --- | --- | ---: | ---: | ---: |"];
  for (const s of changes) out.push(`| \`${s.stack}\` | ${s.kind} | ${count(s, "added")} | ${count(s, "removed")} | ${count(s, "changed")} |`);
  for (const s of changed) {
    out.push("", `### \`${s.stack}\`${s.kind === "changed" ? "" : ` (stack ${s.kind})`}`, "");
    const { byState, moved } = statementsByState(s.items);
    for (const item of s.items) out.push(...itemLines(item, byState, moved));
  }
  return `${out.join("\n")}\n`;
}
