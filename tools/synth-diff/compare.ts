// Compares two syntheses (stack id => parsed cdk.tf.json); markdown.ts renders the result.
// Pure: no file or git access. IAM policy documents are compared statement by statement and a
// state machine definition state by state, because as strings they would be one unreadable change.
import { allStates } from "../../asl/loader";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Synthesis = Readonly<Record<string, Json>>;

/** One leaf difference; `before`/`after` are undefined when the attribute is absent on that side. */
export interface AttributeChange {
  path: string;
  before?: Json;
  after?: Json;
}

export interface StatementChange {
  kind: "added" | "removed" | "changed";
  /** The Sid, or the statement's actions when it has none. */
  label: string;
  /** Field changes of a changed statement. */
  changes: AttributeChange[];
  /** The statement itself, for added and removed ones. */
  statement?: JsonObject;
}

export interface StateChange {
  kind: "added" | "removed" | "changed";
  name: string;
  type: string;
  /** Where a nested state lives, such as "ProcessDatasets branch 1". */
  parent?: string;
  changes: AttributeChange[];
}

export interface ItemChange {
  kind: "added" | "removed" | "changed";
  /** Terraform address: `aws_s3_bucket.data`, `data.aws_caller_identity.current`, `output.x`, `terraform`. */
  address: string;
  /** Plain attribute changes (changed items) or the whole item (added/removed). */
  changes: AttributeChange[];
  policies: Array<{ attribute: string; statements: StatementChange[] }>;
  stateMachines: Array<{ attribute: string; fields: AttributeChange[]; states: StateChange[] }>;
  /** The item's attributes, for added items. */
  value?: Json;
}

export interface StackChange {
  stack: string;
  kind: "added" | "removed" | "changed" | "unchanged";
  items: ItemChange[];
}

type JsonObject = { [key: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
const isScalar = (v: Json | undefined) => v === null || typeof v !== "object";
/** A value as JSON text with sorted keys, so key order does not count as a change. */
export const canonical = (v: Json | undefined): string => JSON.stringify(sortKeys(v));

export function sortKeys(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x) as Json);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k]) as Json]));
  return v;
}

const keyPath = (path: string, key: string) => (/^[A-Za-z_][\w-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/**
 * Removes what differs between two syntheses of the same code: cdktf's "//" metadata and the
 * content hash in asset paths (assets/<name>/<hash>/). A changed bundle still shows in source_code_hash.
 */
export function normalize(v: Json): Json {
  if (typeof v === "string") return v.replace(/(assets\/[^/"]+\/)[0-9A-Fa-f]{32,64}(?=\/)/g, "$1<hash>");
  if (Array.isArray(v)) return v.map(normalize);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "//").map(([k, x]) => [k, normalize(x)]));
  return v;
}

/** Leaf differences between two JSON values. Arrays of scalars are one change (shown as a set difference). */
export function diffValues(before: Json | undefined, after: Json | undefined, path = ""): AttributeChange[] {
  if (canonical(before) === canonical(after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
    return keys.flatMap((k) => diffValues(before[k], after[k], keyPath(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && !(before.every(isScalar) && after.every(isScalar))) {
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, i) => diffValues(before[i], after[i], `${path}[${i}]`)).flat();
  }
  return [{ path: path || "(value)", before, after }];
}

function parseJsonObject(v: Json | undefined): JsonObject | undefined {
  if (typeof v !== "string" || !v.trimStart().startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(v);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const isPolicy = (doc: JsonObject | undefined) => doc !== undefined && "Statement" in doc;
const isStateMachine = (doc: JsonObject | undefined) => doc !== undefined && "States" in doc && "StartAt" in doc;

/** Statements as a list with Action/Resource (and their Not forms) as sorted arrays, so order and form do not count. */
function statementsOf(policy: JsonObject): JsonObject[] {
  const list = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  return list.filter(isObject).map((s) => {
    const out: JsonObject = { ...s };
    for (const k of ["Action", "NotAction", "Resource", "NotResource"])
      if (k in out) out[k] = (Array.isArray(out[k]) ? (out[k] as Json[]) : [out[k]]).slice().sort((a, b) => String(a).localeCompare(String(b)));
    return out;
  });
}

const statementLabel = (s: JsonObject) => (typeof s.Sid === "string" ? s.Sid : `${s.Effect ?? "Allow"} ${((s.Action ?? s.NotAction) as Json[] | undefined)?.join(", ") ?? "?"}`);

/** Statement changes: matched by Sid, else paired by the same resources or the same actions. */
export function diffPolicies(before: JsonObject, after: JsonObject): StatementChange[] {
  const removed = statementsOf(before);
  const added = statementsOf(after);
  // Identical statements are unchanged, wherever they are.
  for (let i = removed.length - 1; i >= 0; i--) {
    const j = added.findIndex((a) => canonical(a) === canonical(removed[i]));
    if (j >= 0) {
      removed.splice(i, 1);
      added.splice(j, 1);
    }
  }
  const out: StatementChange[] = [];
  const pairBy = (key: (s: JsonObject) => string | undefined) => {
    for (let i = 0; i < removed.length; ) {
      const k = key(removed[i]);
      const j = k === undefined ? -1 : added.findIndex((a) => key(a) === k);
      if (j < 0) {
        i++;
        continue;
      }
      out.push({ kind: "changed", label: statementLabel(added[j]), changes: diffValues(removed[i], added[j]) });
      removed.splice(i, 1);
      added.splice(j, 1);
    }
  };
  pairBy((s) => (typeof s.Sid === "string" ? s.Sid : undefined));
  pairBy((s) => (s.Sid === undefined ? canonical([s.Effect, s.Resource ?? s.NotResource]) : undefined));
  pairBy((s) => (s.Sid === undefined ? canonical([s.Effect, s.Action ?? s.NotAction]) : undefined));
  for (const s of removed) out.push({ kind: "removed", label: statementLabel(s), changes: [], statement: s });
  for (const s of added) out.push({ kind: "added", label: statementLabel(s), changes: [], statement: s });
  return out;
}

/** A state without its nested states (those are compared on their own). */
function ownFields(state: JsonObject): JsonObject {
  const strip = (m: Json) => (isObject(m) ? { ...m, States: "(compared state by state)" } : m);
  const out: JsonObject = { ...state };
  if (Array.isArray(out.Branches)) out.Branches = out.Branches.map(strip);
  if (isObject(out.ItemProcessor)) out.ItemProcessor = strip(out.ItemProcessor);
  if (isObject(out.Iterator)) out.Iterator = strip(out.Iterator);
  return out;
}

/** Where each state lives: undefined at the top level, "<Parallel> branch <n>" or "<Map>" inside. */
function statesWithParent(definition: JsonObject): Map<string, { state: JsonObject; parent?: string }> {
  const parents = new Map<string, string>();
  for (const [name, state] of allStates(definition)) {
    (state.Branches ?? []).forEach((b: any, i: number) => Object.keys(b?.States ?? {}).forEach((n) => parents.set(n, `${name} branch ${i + 1}`)));
    Object.keys((state.ItemProcessor ?? state.Iterator)?.States ?? {}).forEach((n) => parents.set(n, name));
  }
  return new Map(allStates(definition).map(([name, state]) => [name, { state: state as JsonObject, parent: parents.get(name) }]));
}

/** State-by-state changes of two ASL definitions, plus changes of the top-level fields (StartAt, Comment, ...). */
export function diffStateMachines(before: JsonObject, after: JsonObject): { fields: AttributeChange[]; states: StateChange[] } {
  const { States: _b, ...beforeFields } = before;
  const { States: _a, ...afterFields } = after;
  const a = statesWithParent(before);
  const b = statesWithParent(after);
  const states: StateChange[] = [];
  for (const [name, { state, parent }] of a) {
    const other = b.get(name);
    if (!other) states.push({ kind: "removed", name, type: String(state.Type), parent, changes: [] });
    else {
      const changes = diffValues(ownFields(state), ownFields(other.state));
      if (parent !== other.parent) changes.unshift({ path: "(moved)", before: parent ?? "top level", after: other.parent ?? "top level" });
      if (changes.length) states.push({ kind: "changed", name, type: String(other.state.Type), parent: other.parent, changes });
    }
  }
  for (const [name, { state, parent }] of b) if (!a.has(name)) states.push({ kind: "added", name, type: String(state.Type), parent, changes: [] });
  return { fields: diffValues(beforeFields, afterFields), states };
}

/** Every addressable block of a cdk.tf.json: resources, data sources, outputs, providers, variables, locals, terraform. */
export function itemsOf(stack: Json | undefined): Map<string, Json> {
  const items = new Map<string, Json>();
  if (!isObject(stack)) return items;
  for (const [block, content] of Object.entries(stack)) {
    if (block === "//" || !isObject(content)) continue;
    if (block === "resource" || block === "data") {
      for (const [type, byName] of Object.entries(content))
        if (isObject(byName)) for (const [name, value] of Object.entries(byName)) items.set(`${block === "data" ? "data." : ""}${type}.${name}`, value);
    } else if (block === "output" || block === "variable" || block === "provider" || block === "module") {
      for (const [name, value] of Object.entries(content)) items.set(`${block}.${name}`, value);
    } else items.set(block, content);
  }
  return items;
}

function diffItem(address: string, before: Json, after: Json): ItemChange | undefined {
  const change: ItemChange = { kind: "changed", address, changes: [], policies: [], stateMachines: [] };
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
    for (const key of keys) {
      const [pb, pa] = [parseJsonObject(before[key]), parseJsonObject(after[key])];
      if (canonical(before[key]) === canonical(after[key])) continue;
      if (isPolicy(pb) && isPolicy(pa)) change.policies.push({ attribute: key, statements: diffPolicies(pb!, pa!) });
      else if (isStateMachine(pb) && isStateMachine(pa)) change.stateMachines.push({ attribute: key, ...diffStateMachines(pb!, pa!) });
      else change.changes.push(...diffValues(before[key], after[key], keyPath("", key)));
    }
  } else change.changes.push(...diffValues(before, after));
  const empty = !change.changes.length && change.policies.every((p) => !p.statements.length) && change.stateMachines.every((s) => !s.fields.length && !s.states.length);
  return empty ? undefined : change;
}

/** Stack-by-stack, item-by-item changes from `base` to `head`. Both are normalized here. */
export function compareSyntheses(base: Synthesis, head: Synthesis): StackChange[] {
  const stacks = [...new Set([...Object.keys(base), ...Object.keys(head)])].sort();
  return stacks.map((stack) => {
    const before = itemsOf(stack in base ? normalize(base[stack]) : undefined);
    const after = itemsOf(stack in head ? normalize(head[stack]) : undefined);
    const items: ItemChange[] = [];
    for (const address of before.keys())
      if (!after.has(address)) items.push({ kind: "removed", address, changes: [], policies: [], stateMachines: [] });
    for (const [address, value] of after) {
      if (!before.has(address)) items.push({ kind: "added", address, changes: [], policies: [], stateMachines: [], value });
      else {
        const change = diffItem(address, before.get(address)!, value);
        if (change) items.push(change);
      }
    }
    const kind = !(stack in base) ? "added" : !(stack in head) ? "removed" : items.length ? "changed" : "unchanged";
    return { stack, kind, items };
  });
}
