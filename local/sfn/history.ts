// GetExecutionHistory for the local Step Functions service: the recorded events of one execution as AWS's history
// events (types and their *EventDetails as in the Step Functions API reference), numbered from 1.
import { epochSeconds, type SfnEvent } from "./model";

export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

const json = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value ?? null));
const data = (key: string, value: unknown) => ({ [key]: json(value), [`${key}Details`]: { truncated: false } });

/** `stateTypes`: the definition's state types by name (TaskStateEntered, ParallelStateEntered, ...). */
/**
 * The service records a task's scheduling as it happens but its StateEntered when it reads the interpreter's event
 * log, a moment later: a task's events are put back after their state's StateEntered, as AWS orders them.
 */
function inStateOrder(events: readonly SfnEvent[]): SfnEvent[] {
  const out: SfnEvent[] = [];
  const entered = new Set<string>();
  const pending = new Map<string, SfnEvent[]>();
  for (const e of events) {
    if (e.type === "StateEntered") {
      entered.add(e.name);
      out.push(e, ...(pending.get(e.name) ?? []));
      pending.delete(e.name);
    } else if (e.type === "StateExited") {
      entered.delete(e.name);
      out.push(e);
    } else if ("state" in e && !entered.has(e.state) && (pending.has(e.state) || e.type === "ActivityTaskScheduled" || e.type === "TaskScheduled")) {
      pending.set(e.state, [...(pending.get(e.state) ?? []), e]);
    } else out.push(e);
  }
  for (const rest of pending.values()) out.push(...rest);
  return out;
}

export function historyEvents(events: readonly SfnEvent[], stateTypes: ReadonlyMap<string, string>, roleArn: string, region: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  // As on AWS, an event points at the one that led to it: a state's events at that state's previous event.
  const lastOfState = new Map<string, number>();
  const add = (e: SfnEvent, type: string, details: Record<string, unknown> = {}) => {
    const state = "state" in e ? e.state : "name" in e ? e.name : undefined;
    const id = out.length + 1;
    out.push({ timestamp: epochSeconds(new Date(e.at)), type, id, previousEventId: (state !== undefined && lastOfState.get(state)) || out.length, ...details });
    if (state !== undefined) lastOfState.set(state, id);
  };
  for (const e of inStateOrder(events)) {
    switch (e.type) {
      case "ExecutionStarted":
        add(e, "ExecutionStarted", { executionStartedEventDetails: { ...data("input", e.input), roleArn } });
        break;
      case "ExecutionRedriven":
        add(e, "ExecutionRedriven", { executionRedrivenEventDetails: { redriveCount: e.redriveCount } });
        break;
      case "StateEntered": {
        const type = e.stateType ?? stateTypes.get(e.name) ?? "Task";
        add(e, `${type}StateEntered`, { stateEnteredEventDetails: { name: e.name, ...data("input", e.input) } });
        if (type === "Parallel" || type === "Map") add(e, `${type}StateStarted`);
        break;
      }
      case "StateExited": {
        const type = e.stateType ?? stateTypes.get(e.name) ?? "Task";
        if (e.status === "SUCCEEDED" || e.status === "CAUGHT") {
          if ((type === "Parallel" || type === "Map") && e.status === "SUCCEEDED") add(e, `${type}StateSucceeded`);
          add(e, `${type}StateExited`, { stateExitedEventDetails: { name: e.name, ...data("output", e.output) } });
        } else if (type === "Parallel" || type === "Map") {
          add(e, `${type}State${e.status === "FAILED" ? "Failed" : "Aborted"}`);
        } else if (e.status === "ABORTED" && (type === "Task" || type === "Wait")) {
          add(e, `${type}StateAborted`);
        }
        break;
      }
      case "ActivityTaskScheduled":
        add(e, "ActivityScheduled", { activityScheduledEventDetails: { resource: e.activityArn, ...data("input", e.input) } });
        break;
      case "ActivityTaskStarted":
        add(e, "ActivityStarted", { activityStartedEventDetails: {} });
        break;
      case "ActivityTaskClosed":
        if (e.outcome === "SUCCEEDED") add(e, "ActivitySucceeded", { activitySucceededEventDetails: data("output", e.output) });
        else if (e.outcome === "FAILED") add(e, "ActivityFailed", { activityFailedEventDetails: { error: e.error, cause: e.cause } });
        else if (e.outcome === "TIMED_OUT" || e.outcome === "HEARTBEAT_TIMED_OUT") add(e, "ActivityTimedOut", { activityTimedOutEventDetails: { error: e.error, cause: e.cause } });
        break;
      case "TaskScheduled": {
        const [service, action] = e.resource.replace("arn:aws:states:::", "").split(":");
        add(e, "TaskScheduled", { taskScheduledEventDetails: { resourceType: service, resource: action, region, parameters: json(e.parameters) } });
        add(e, "TaskStarted", { taskStartedEventDetails: { resourceType: service, resource: action } });
        break;
      }
      case "TaskClosed": {
        const [service, action] = e.resource.replace("arn:aws:states:::", "").split(":");
        if (e.outcome === "SUCCEEDED") add(e, "TaskSucceeded", { taskSucceededEventDetails: { resourceType: service, resource: action, ...data("output", e.output) } });
        else if (e.outcome === "FAILED") add(e, "TaskFailed", { taskFailedEventDetails: { resourceType: service, resource: action, error: e.error, cause: e.cause } });
        else if (e.outcome === "TIMED_OUT" || e.outcome === "HEARTBEAT_TIMED_OUT") add(e, "TaskTimedOut", { taskTimedOutEventDetails: { resourceType: service, resource: action, error: e.error, cause: e.cause } });
        break;
      }
      case "ExecutionSucceeded":
        add(e, "ExecutionSucceeded", { executionSucceededEventDetails: data("output", e.output) });
        break;
      case "ExecutionFailed":
        add(e, "ExecutionFailed", { executionFailedEventDetails: { error: e.error, cause: e.cause } });
        break;
      case "ExecutionAborted":
        add(e, "ExecutionAborted", { executionAbortedEventDetails: { error: e.error, cause: e.cause } });
        break;
    }
  }
  return out;
}
