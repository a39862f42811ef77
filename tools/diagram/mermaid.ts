// Renders an Amazon States Language definition as a Mermaid flowchart.
// Pure: no file access. Every state is one node line and every transition one edge line, in the
// definition's order, so one changed state changes one line of the output.
import { allStates } from "../../asl/loader";

/** What an activity ARN stands for; anything else is labelled from its resource ARN. */
/** The runner activity (with each job's engine label by job name, "Glue" when not given) or a dataset's wait. */
export type ActivityRole = { kind: "runner"; engineLabels?: Readonly<Record<string, string>> } | { kind: "wait"; dataset: string };

export interface MermaidOptions {
  /** Activity ARN => what it runs. Default: none (activities are labelled by their name). */
  activities?: Readonly<Record<string, ActivityRole>>;
}

type State = Record<string, any>;
interface Machine {
  StartAt: string;
  States: Record<string, State>;
}

/** Text inside a quoted Mermaid label: quotes, angle brackets, '#' and '$$' (KaTeX) are entity-encoded. */
export function escapeLabel(text: string): string {
  return text
    .replace(/#/g, "#35;")
    .replace(/"/g, "#quot;")
    .replace(/</g, "#lt;")
    .replace(/>/g, "#gt;")
    .replace(/\$\$/g, "#36;#36;")
    .replace(/\r?\n/g, " ");
}

/**
 * Mermaid ids from state names ("s_" keeps them clear of keywords such as "end"). An id depends on the
 * name (and on earlier states whose names sanitize the same), so adding a state does not rename the others.
 */
function idAllocator(): (name: string) => string {
  const byName = new Map<string, string>();
  const used = new Set<string>();
  return (name) => {
    let id = byName.get(name);
    if (id) return id;
    const base = `s_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    byName.set(name, id);
    used.add(id);
    return id;
  };
}

function lastArnPart(arn: unknown): string | undefined {
  if (typeof arn !== "string") return undefined;
  return arn.split(/[:/]/).pop() || undefined;
}

/** A field given as a value or as a path ("Field.$"), for labels. */
function fieldText(params: State | undefined, field: string): string | undefined {
  if (!params) return undefined;
  if (typeof params[field] === "string") return params[field];
  if (typeof params[`${field}.$`] === "string") return `(from ${params[`${field}.$`]})`;
  return undefined;
}

/** What a Task runs: the activity's role, the service integration, or the resource's name. */
export function describeTask(state: State, activities: Readonly<Record<string, ActivityRole>> = {}): string {
  const resource = String(state.Resource ?? "");
  const params: State | undefined = state.Parameters ?? state.Arguments;
  const role = activities[resource];
  if (role?.kind === "runner") {
    const jobName = typeof params?.JobName === "string" ? params.JobName : undefined;
    const label = jobName ? (role.engineLabels?.[jobName] ?? "Glue") : role.engineLabels ? "ETL" : "Glue";
    return `${label} job ${fieldText(params, "JobName") ?? "(no JobName)"}`;
  }
  if (role?.kind === "wait") return `wait for ${role.dataset} upload`;
  const integration = /^arn:[^:]+:states:::([^:]+):([^.]+)(?:\.(\w+))?$/.exec(resource);
  if (integration) {
    const [, service, action, pattern] = integration;
    const suffix = pattern ? ` (${pattern})` : "";
    if (service === "sns" && action === "publish") {
      const topic = lastArnPart(params?.TopicArn) ?? fieldText(params, "TopicArn");
      return `SNS publish${topic ? ` to ${topic}` : ""}${suffix}`;
    }
    if (service === "events" && action === "putEvents") {
      const types = (Array.isArray(params?.Entries) ? params.Entries : []).map((e: State) => e?.DetailType).filter((t: unknown) => typeof t === "string");
      return `EventBridge putEvents${types.length ? ` ${types.join(", ")}` : ""}${suffix}`;
    }
    if (service === "glue" && action === "startJobRun") return `Glue job ${fieldText(params, "JobName") ?? "?"}${suffix}`;
    if (service === "athena" && action === "startQueryExecution") return `Athena query in ${fieldText(params, "WorkGroup") ?? "primary"}${suffix}`;
    if (service === "emr-serverless" && action === "startJobRun") {
      const name = fieldText(params, "Name");
      return `EMR Serverless job run${name ? ` ${name}` : ""} on ${fieldText(params, "ApplicationId") ?? "?"}${suffix}`;
    }
    if (service === "lambda" && action === "invoke") return `Lambda ${lastArnPart(params?.FunctionName) ?? fieldText(params, "FunctionName") ?? "?"}${suffix}`;
    return `${service} ${action}${suffix}`;
  }
  const activity = /^arn:[^:]+:states:[^:]*:[^:]*:activity:(.+)$/.exec(resource);
  if (activity) return `activity ${activity[1]}`;
  const lambda = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(resource);
  if (lambda) return `Lambda ${lambda[1]}`;
  return resource || "(no Resource)";
}

const IS_TESTS: Record<string, string> = {
  IsPresent: "present",
  IsNull: "null",
  IsNumeric: "numeric",
  IsString: "a string",
  IsBoolean: "a boolean",
  IsTimestamp: "a timestamp",
};
const OPERATORS: Record<string, string> = {
  Equals: "==",
  LessThan: "<",
  GreaterThan: ">",
  LessThanEquals: "<=",
  GreaterThanEquals: ">=",
  Matches: "matches",
};

/** A Choice rule as short text: `$.x == "a"`, `$.y is present`, `not (...)`, `(... and ...)`. */
export function describeRule(rule: State): string {
  if (typeof rule.Condition === "string") return rule.Condition;
  if (Array.isArray(rule.And)) return `(${rule.And.map(describeRule).join(" and ")})`;
  if (Array.isArray(rule.Or)) return `(${rule.Or.map(describeRule).join(" or ")})`;
  if (rule.Not) return `not ${describeRule(rule.Not)}`;
  const variable = String(rule.Variable ?? "?");
  for (const [key, value] of Object.entries(rule)) {
    if (key in IS_TESTS) return `${variable} is ${value === false ? "not " : ""}${IS_TESTS[key]}`;
    const op = /^(?:String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals|Matches)(Path)?$/.exec(key);
    if (op) return `${variable} ${OPERATORS[op[1]]} ${op[2] ? value : JSON.stringify(value)}`;
  }
  return JSON.stringify(rule);
}

function describeRetry(retry: State): string {
  // ASL defaults: 3 attempts, 1 s, backoff rate 2.
  const errors = (retry.ErrorEquals ?? []).join(", ");
  return `retry ${errors} up to ${retry.MaxAttempts ?? 3}× (${retry.IntervalSeconds ?? 1} s, backoff ${retry.BackoffRate ?? 2})`;
}

function describeWait(state: State): string {
  if (state.Seconds !== undefined) return `wait ${state.Seconds} s`;
  if (state.SecondsPath) return `wait ${state.SecondsPath} s`;
  if (state.Timestamp) return `wait until ${state.Timestamp}`;
  if (state.TimestampPath) return `wait until ${state.TimestampPath}`;
  return "wait";
}

/** Renders `definition` (a parsed ASL document) as the lines of a Mermaid flowchart. */
export function renderMermaid(definition: Record<string, unknown>, options: MermaidOptions = {}): string {
  const machine = definition as unknown as Machine;
  if (typeof machine.StartAt !== "string" || typeof machine.States !== "object" || machine.States === null)
    throw new Error("not an ASL definition: 'StartAt' and 'States' are required");
  const id = idAllocator();
  // Ids are allocated in definition order before any edge refers to a state.
  for (const [name] of allStates(definition)) id(name);
  const nodes: string[] = [];
  const edges: string[] = [];
  const label = (...parts: string[]) => `"${parts.map(escapeLabel).join("<br/>")}"`;

  const renderMachine = (m: Machine, indent: string, topLevel: boolean) => {
    for (const [name, state] of Object.entries(m.States)) renderState(name, state, indent, topLevel);
  };

  const renderState = (name: string, state: State, indent: string, topLevel: boolean) => {
    const sid = id(name);
    switch (state.Type) {
      case "Task":
        nodes.push(`${indent}${sid}[${label(name, describeTask(state, options.activities))}]`);
        break;
      case "Choice":
        nodes.push(`${indent}${sid}{${label(name)}}`);
        break;
      case "Pass":
        nodes.push(`${indent}${sid}[/${label(name, "Pass")}/]`);
        break;
      case "Wait":
        nodes.push(`${indent}${sid}([${label(name, describeWait(state))}])`);
        break;
      case "Succeed":
        nodes.push(`${indent}${sid}([${label(name, "Succeed")}]):::succeed`);
        break;
      case "Fail": {
        const error = state.Error ?? state.ErrorPath;
        nodes.push(`${indent}${sid}{{${label(name, error ? `Fail ${error}` : "Fail")}}}:::fail`);
        break;
      }
      case "Parallel":
        nodes.push(`${indent}subgraph ${sid}[${label(name, "Parallel")}]`);
        (state.Branches ?? []).forEach((branch: Machine, i: number) => {
          nodes.push(`${indent}  subgraph ${sid}__branch${i + 1}[${label(`branch ${i + 1}`)}]`);
          renderBranchStart(`${sid}__branch${i + 1}`, branch, `${indent}    `);
          renderMachine(branch, `${indent}    `, false);
          nodes.push(`${indent}  end`);
        });
        nodes.push(`${indent}end`);
        break;
      case "Map": {
        const processor: Machine | undefined = state.ItemProcessor ?? state.Iterator;
        const items = state.ItemsPath ?? state.Items ?? "$";
        nodes.push(`${indent}subgraph ${sid}[${label(name, `Map over ${typeof items === "string" ? items : JSON.stringify(items)}`)}]`);
        if (processor) {
          renderBranchStart(sid, processor, `${indent}  `);
          renderMachine(processor, `${indent}  `, false);
        }
        nodes.push(`${indent}end`);
        break;
      }
      default:
        nodes.push(`${indent}${sid}[${label(name, String(state.Type))}]`);
    }
    for (const retry of state.Retry ?? []) edges.push(`${sid} -.->|${label(describeRetry(retry))}| ${sid}`);
    for (const choice of state.Choices ?? []) edges.push(`${sid} -->|${label(describeRule(choice))}| ${id(choice.Next)}`);
    if (state.Default) edges.push(`${sid} -->|${label("default")}| ${id(state.Default)}`);
    if (state.Next) edges.push(`${sid} --> ${id(state.Next)}`);
    for (const c of state.Catch ?? []) edges.push(`${sid} -.->|${label(`catch ${(c.ErrorEquals ?? []).join(", ")}`)}| ${id(c.Next)}`);
    // Inside a branch, End means the branch is done; at the top level the execution ends.
    if (state.End && topLevel && state.Type !== "Succeed" && state.Type !== "Fail") edges.push(`${sid} --> done`);
  };

  // A small start dot inside each branch shows its StartAt, whatever the states' order.
  const renderBranchStart = (containerId: string, branch: Machine, indent: string) => {
    nodes.push(`${indent}${containerId}__start((" "))`);
    edges.push(`${containerId}__start --> ${id(branch.StartAt)}`);
  };

  nodes.push("  start((start))");
  edges.push(`start --> ${id(machine.StartAt)}`);
  renderMachine(machine, "  ", true);
  const usesDone = edges.some((e) => e.endsWith(" --> done"));
  if (usesDone) nodes.push("  done((end))");
  return [
    "flowchart TD",
    ...nodes,
    ...edges.map((e) => `  ${e}`),
    "  classDef succeed fill:#d4edda,stroke:#2e7d32",
    "  classDef fail fill:#f8d7da,stroke:#c62828",
    "",
  ].join("\n");
}
