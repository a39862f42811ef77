// The topology, described once as data: which events wake which function (the workflow's own RUNNING status
// change, the RunnerTaskScheduled events the functions put, the engines' state-change events, the fallback
// schedules, the uploads), each function's settings and environment, and each
// Step Functions integration's IAM. The stacks create their rules, notification, functions and policies from it
// (stacks/constructs/function-triggers.ts, the stacks); the local runtime delivers the same events to the same
// handlers from it (local/event-bus.ts), and its local handler per integration is keyed by the same resources
// (local/sfn/integrations.ts). test/local/wiring.test.ts checks both sides wire the same.
//
// Adding a trigger (an engine's state-change event, say) is one entry in TRIGGERS.
import { arrivalEnvironment } from "./arrival-environment";
import type { PolicyStatement } from "./iam-statement";
import { KICKS } from "./kicks";
import { resourceNames, type EtlConfig } from "./config";
import type { EngineName } from "./job-spec";
import { runnerEnvironment, runnerJobs } from "./runner-environment";

export type ResourceNames = ReturnType<typeof resourceNames>;

/** The project's Lambda functions. */
export type FunctionId = "runner" | "dataArrival";

/** What the stacks and the local runtime need to create or load one function. */
export interface FunctionSpec<Refs> {
  /** The handler is functions/<entry>/handler.ts. */
  readonly entry: string;
  readonly description: string;
  readonly functionName: (names: ResourceNames) => string;
  readonly memoryMb: (config: EtlConfig) => number;
  readonly timeoutSeconds: (config: EtlConfig) => number;
  /** Its environment; `refs` are Terraform references in the stacks and local values in the local runtime. */
  readonly environment: (config: EtlConfig, refs: Refs, logLevel: string) => Record<string, string>;
}

export interface RunnerRefs {
  readonly activityArn: string;
  readonly tableName: string;
  /** The artifact bucket's name: the job specs of the jobs not on Glue are in it (JOB_SPECS_URI). */
  readonly artifactBucket: string;
  /** The data lake's name: the Glue jobs' counts objects are in it (GLUE_COUNTS_URIS). */
  readonly dataBucket: string;
}

export interface ArrivalRefs {
  readonly tableName: string;
  readonly waitActivityArns: Readonly<Record<string, string>>;
  readonly dataBucket: string;
}

export const FUNCTIONS: { readonly runner: FunctionSpec<RunnerRefs>; readonly dataArrival: FunctionSpec<ArrivalRefs> } = {
  runner: {
    entry: "etl-runner",
    description: "Starts the runs of runner activity tasks on their engines and reports their outcome",
    functionName: (names) => names.runnerFunction,
    memoryMb: (c) => c.runner.memoryMb,
    // Outlives the 60 s activity long-poll (the configuration enforces at least 90 s).
    timeoutSeconds: (c) => c.runner.timeoutSeconds,
    environment: (c, refs, logLevel) =>
      runnerEnvironment({
        activityArn: refs.activityArn,
        tableName: refs.tableName,
        runTtlDays: c.runner.runTtlDays,
        maxTasksPerInvocation: c.runner.maxTasksPerInvocation,
        engineConcurrency: c.runner.engineConcurrency,
        eventSource: resourceNames(c).eventSource,
        ...runnerJobs(c, resourceNames(c).glueJob, refs.artifactBucket, refs.dataBucket),
        logLevel,
      }),
  },
  dataArrival: {
    entry: "data-arrival",
    description: "Records dataset uploads and releases the matching 'wait for data' tasks",
    functionName: (names) => names.dataArrivalFunction,
    memoryMb: (c) => c.dataArrival.memoryMb,
    timeoutSeconds: (c) => c.dataArrival.timeoutSeconds,
    environment: (c, refs, logLevel) =>
      arrivalEnvironment({
        tableName: refs.tableName,
        datasets: Object.fromEntries(Object.entries(c.datasets).map(([d, ds]) => [d, { prefix: ds.prefix, activityArn: refs.waitActivityArns[d] }])),
        dataBucket: refs.dataBucket,
        arrivalTtlDays: c.dataArrival.arrivalTtlDays,
        eventSource: resourceNames(c).eventSource,
        logLevel,
      }),
  },
};

/**
 * An EventBridge event pattern on the default bus, in the subset the project uses: each field lists the values
 * it matches; `detail` nests. (See local/event-bus.ts for how the local runtime matches it.)
 */
export interface EventPattern {
  readonly source: readonly string[];
  readonly "detail-type"?: readonly string[];
  readonly detail?: Readonly<Record<string, readonly string[]>>;
}

/** The detail-types of the "a task of yours is scheduled" events (core/kicks.ts). */
export { KICKS };

/** The source of those events: resourceNames().eventSource. */
export const kickSource = (names: ResourceNames) => names.eventSource;

/**
 * What a function needs to put RunnerTaskScheduled events: PutEvents on the default bus (`busArn`), for that
 * source and detail-type only.
 */
export function putKickStatement(busArn: string, names: ResourceNames): PolicyStatement {
  return {
    Sid: "AnnounceRunnerTasks",
    Action: ["events:PutEvents"],
    Resource: [busArn],
    Condition: { StringEquals: { "events:source": kickSource(names), "events:detail-type": KICKS.runner } },
  };
}

/**
 * Step Functions' "Execution Status Change" event with status RUNNING of the workflow: AWS puts it when an execution
 * starts and when it is redriven (a status change back to RUNNING). The wait tasks are scheduled right after the
 * start, and a redrive reschedules the failed tasks: so both functions poll on it.
 */
export const executionRunningPattern = (stateMachineArn: string): EventPattern => ({
  source: ["aws.states"],
  "detail-type": ["Step Functions Execution Status Change"],
  detail: { status: ["RUNNING"], stateMachineArn: [stateMachineArn] },
});

/**
 * Ids a pattern may name that exist only once deployed (an engine's application id, say): Terraform references in
 * the stacks, the local emulators' ids in the local runtime.
 */
export type TriggerRefs = Readonly<Record<string, string>>;

/** An EventBridge rule that invokes one function: on an event pattern or on a schedule. */
export interface Trigger {
  /** The rule's construct id in its function's stack (its Terraform address: keep it when editing). */
  readonly id: string;
  readonly target: FunctionId;
  readonly ruleName: (names: ResourceNames) => string;
  readonly description: string;
  /** Its pattern; undefined when the configuration needs no such rule (no job on that engine, say). */
  readonly eventPattern?: (config: EtlConfig, names: ResourceNames, refs: TriggerRefs) => EventPattern | undefined;
  /** A fallback schedule; the local runtime stands in for it with a timer (RuntimeOptions.fallbackPeriodMs). */
  readonly schedule?: (config: EtlConfig) => string;
}

/** The trigger ref naming the EMR Serverless application (its id exists only once created). */
export const EMR_APPLICATION_ID_REF = "emrApplicationId";
/** The trigger ref naming the workflow's state machine (its RUNNING events wake both functions). */
export const STATE_MACHINE_ARN_REF = "stateMachineArn";

function stateMachineArn(refs: TriggerRefs, id: string): string {
  const arn = refs[STATE_MACHINE_ARN_REF];
  if (!arn) throw new Error(`trigger ${id}: its rule matches the workflow's RUNNING events, so it needs the state machine's ARN (trigger ref ${STATE_MACHINE_ARN_REF})`);
  return arn;
}

/** The ids of the jobs that run on `engine`. */
export const jobsOn = (config: EtlConfig, engine: EngineName) => Object.keys(config.jobs).filter((id) => config.jobs[id].engine === engine);

/** Every rule that wakes a function. The workflow's own schedule starts the state machine, not a function. */
export const TRIGGERS: readonly Trigger[] = [
  {
    id: "runner-kick",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-kick`,
    description: "A wait or runner task closed with success, so a runner task may be scheduled",
    eventPattern: (_, n) => ({ source: [kickSource(n)], "detail-type": [KICKS.runner] }),
  },
  {
    id: "runner-execution-running",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-running`,
    description: "An execution of the workflow started or was redriven",
    eventPattern: (_, __, refs) => executionRunningPattern(stateMachineArn(refs, "runner-execution-running")),
  },
  // Each engine's state-change events, only when a job runs on that engine.
  {
    id: "glue-job-state-change",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-job-state`,
    description: "A project Glue job changed state",
    eventPattern: (c, n) => {
      const jobs = jobsOn(c, "glue");
      return jobs.length ? { source: ["aws.glue"], "detail-type": ["Glue Job State Change"], detail: { jobName: jobs.map(n.glueJob) } } : undefined;
    },
  },
  {
    id: "athena-query-state-change",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-athena`,
    description: "A query in the project's Athena workgroup changed state",
    eventPattern: (c, n) =>
      jobsOn(c, "athena").length ? { source: ["aws.athena"], "detail-type": ["Athena Query State Change"], detail: { workgroupName: [n.athenaWorkGroup] } } : undefined,
  },
  {
    id: "emr-serverless-job-run-state-change",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-emr`,
    description: "A job run of the project's EMR Serverless application changed state",
    eventPattern: (c, _, refs) => {
      const jobs = jobsOn(c, "emr-serverless");
      if (jobs.length === 0) return undefined;
      if (!refs[EMR_APPLICATION_ID_REF]) throw new Error(`${jobs.join(", ")} run on emr-serverless: the runner's rule needs the EMR Serverless application's id (trigger ref ${EMR_APPLICATION_ID_REF})`);
      return { source: ["aws.emr-serverless"], "detail-type": ["EMR Serverless Job Run State Change"], detail: { applicationId: [refs[EMR_APPLICATION_ID_REF]] } };
    },
  },
  {
    id: "runner-fallback",
    target: "runner",
    ruleName: (n) => `${n.runnerFunction}-fallback`,
    description: "Fallback wake-up in case an event is lost",
    schedule: (c) => c.schedules.fallback,
  },
  {
    id: "data-arrival-execution-running",
    target: "dataArrival",
    ruleName: (n) => `${n.dataArrivalFunction}-running`,
    description: "An execution of the workflow started or was redriven: its wait tasks are scheduled",
    eventPattern: (_, __, refs) => executionRunningPattern(stateMachineArn(refs, "data-arrival-execution-running")),
  },
  {
    // No function puts it: a WaitTaskScheduled kick the ASL itself puts, before a wait task scheduled later than the start.
    id: "data-arrival-kick",
    target: "dataArrival",
    ruleName: (n) => `${n.dataArrivalFunction}-kick`,
    description: "The workflow is about to schedule a wait task (a kick in the ASL)",
    eventPattern: (_, n) => ({ source: [kickSource(n)], "detail-type": [KICKS.dataArrival] }),
  },
  {
    id: "data-arrival-fallback",
    target: "dataArrival",
    ruleName: (n) => `${n.dataArrivalFunction}-fallback`,
    description: "Fallback wake-up in case an event is lost",
    schedule: (c) => c.schedules.fallback,
  },
];

/** The data-lake bucket's notification: an object created under a dataset's prefix invokes the function. */
export const UPLOADS = {
  target: "dataArrival" as FunctionId,
  events: ["s3:ObjectCreated:*"],
  /** One filter per dataset; `id` is the notification's id. */
  filters: (config: EtlConfig) => Object.entries(config.datasets).map(([dataset, d]) => ({ id: `upload-${dataset}`, dataset, prefix: d.prefix })),
};

// The Step Functions service integrations the ASL may use (Glue, Athena, EMR Serverless, Lambda, EventBridge, SNS),
// with the IAM each state needs: core/sfn-integrations.ts. The local Step Functions service has a handler per API.
export { SFN_INTEGRATIONS, SUPPORTED_RESOURCES, parseResource, type IntegrationApi } from "./sfn-integrations";

/** A trigger as a rule of one configuration: its name and its pattern or schedule. */
export interface ResolvedTrigger {
  readonly id: string;
  readonly target: FunctionId;
  readonly ruleName: string;
  readonly description: string;
  readonly eventPattern?: EventPattern;
  readonly scheduleExpression?: string;
}

/** The rules a configuration needs (of one function, or all), with their names, patterns and schedules. */
export function resolveTriggers(config: EtlConfig, refs: TriggerRefs = {}, target?: FunctionId, triggers: readonly Trigger[] = TRIGGERS): ResolvedTrigger[] {
  const names = resourceNames(config);
  return triggers.filter((t) => target === undefined || t.target === target).flatMap((t) => {
    const eventPattern = t.eventPattern?.(config, names, refs);
    const scheduleExpression = t.schedule?.(config);
    if (eventPattern === undefined && scheduleExpression === undefined) return [];
    return [{ id: t.id, target: t.target, ruleName: t.ruleName(names), description: t.description, ...(eventPattern && { eventPattern }), ...(scheduleExpression && { scheduleExpression }) }];
  });
}

/** Values the failure notification's rule refers to. */
export interface NotificationRefs {
  /** The workflow's state machine. */
  readonly stateMachineArn: string;
}

/**
 * The failure notification: Step Functions' own "Execution Status Change" event of the workflow, published to the
 * failure topic through an input transformer. It lives outside the ASL so that a failed execution stops at the
 * failed job, which is where RedriveExecution resumes (a Catch to a notification and a Fail state would make
 * redrive resume at the Fail state). The stack creates the rule from this; the local runtime delivers the same
 * event to its topic (local/event-bus.ts).
 */
export const FAILURE_NOTIFICATION = {
  /** The rule's construct id (its Terraform address). */
  id: "failure-notification",
  ruleName: (names: ResourceNames) => `${names.stateMachine}-failed`,
  description: "An execution of the workflow failed or timed out",
  /** Statuses that notify. ABORTED is left out: it is what StopExecution, an operator's own act, ends in. */
  statuses: ["FAILED", "TIMED_OUT"],
  eventPattern: (refs: NotificationRefs): EventPattern => ({
    source: ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    detail: { status: FAILURE_NOTIFICATION.statuses, stateMachineArn: [refs.stateMachineArn] },
  }),
  /** EventBridge's InputTransformer: the variables, then the message (a JSON string) they are put into. */
  inputPaths: { execution: "$.detail.executionArn", status: "$.detail.status", error: "$.detail.error", cause: "$.detail.cause" },
  inputTemplate: '"Execution <execution> ended <status> with <error>: <cause>"',
} as const;
