// What a test of a mechanism may know about the workflow: read from the active configuration (ETL_CONFIG /
// ETL_ENV, default etl.config.json), never pinned to the shipped example's names. Tests of the example's own
// results live in test/example/.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { allStates } from "../../asl/loader";
import { DEFAULT_CONFIG_FILE, definitionPath, loadConfig, parseConfig, type EtlConfig } from "../../core/config";
import type { EngineName } from "../../core/job-spec";

/** The active configuration file: ETL_CONFIG, else etl.config.json (as loadConfig() reads it). */
export const activeConfigFile = (): string => resolve(process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE);

/** The active configuration file's JSON, for a test to change before parsing it with `parseVariant`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const activeRawConfig = (): any => JSON.parse(readFileSync(activeConfigFile(), "utf8"));

/**
 * Validates a changed copy of the active configuration's JSON as a file beside it would be (its files resolved
 * against `rootDir`, by default the active file's folder).
 */
export function parseVariant(raw: unknown, options: { environment?: string; source?: string; rootDir?: string } = {}): EtlConfig {
  const { environment, source = "variant of the active configuration", rootDir = dirname(activeConfigFile()) } = options;
  return parseConfig(raw, { source, environment, rootDir });
}

export interface WorkflowShape {
  config: EtlConfig;
  datasets: string[];
  jobs: string[];
  /** Jobs that read at least one raw dataset (one per Parallel branch in the ASL). */
  datasetJobs: string[];
  /** Jobs that read only other jobs' outputs (the join after the Parallel state). */
  joinJobs: string[];
  /** Jobs no other job reads: their outputs are the workflow's result. */
  finalJobs: string[];
  /** The job that reads `dataset` (the first, if several do). */
  jobOf(dataset: string): string;
  /** The raw datasets a job reads, directly or through the jobs it reads. */
  datasetsOf(job: string): string[];
  jobsOn(engine: EngineName): string[];
}

export function workflowShape(config: EtlConfig = loadConfig()): WorkflowShape {
  const jobs = Object.keys(config.jobs);
  const readsDataset = (id: string) => config.jobs[id].inputs.some((i) => i.dataset !== undefined);
  const datasetsOf = (id: string): string[] => [
    ...new Set(config.jobs[id].inputs.flatMap((i) => (i.dataset !== undefined ? [i.dataset] : datasetsOf(i.job!)))),
  ];
  return {
    config,
    datasets: Object.keys(config.datasets),
    jobs,
    datasetJobs: jobs.filter(readsDataset),
    joinJobs: jobs.filter((id) => !readsDataset(id)),
    finalJobs: jobs.filter((id) => !jobs.some((reader) => config.jobs[reader].inputs.some((i) => i.job === id))),
    jobOf(dataset) {
      const id = jobs.find((j) => config.jobs[j].inputs.some((i) => i.dataset === dataset));
      if (!id) throw new Error(`no job reads dataset '${dataset}'`);
      return id;
    },
    datasetsOf,
    jobsOn: (engine) => jobs.filter((id) => (config.jobs[id].engine ?? "glue") === engine),
  };
}

export interface WorkflowTask {
  state: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  task: any;
}

/**
 * The ASL file's runner tasks (with the job their JobName placeholder names) and wait tasks (with the dataset of
 * their wait activity), in the file's order, as written (placeholders not yet filled in).
 */
export function workflowTasks(config: EtlConfig = loadConfig()): { runners: Array<WorkflowTask & { job: string }>; waits: Array<WorkflowTask & { dataset: string }> } {
  const states = allStates(JSON.parse(readFileSync(definitionPath(config), "utf8")));
  const runners = states
    .filter(([, s]) => s.Type === "Task" && s.Resource === "${RunnerActivityArn}")
    .map(([state, task]) => ({ state, task, job: /^\$\{JobName\.(.+)\}$/.exec(task.Parameters?.JobName)?.[1] ?? "" }));
  const waits = states.flatMap(([state, task]) => {
    const m = /^\$\{WaitActivityArn\.(.+)\}$/.exec(String(task.Resource));
    return task.Type === "Task" && m ? [{ state, task, dataset: m[1] }] : [];
  });
  return { runners, waits };
}
