// What a test of a mechanism may know about the workflow: read from the active configuration (ETL_CONFIG /
// ETL_ENV, default etl.config.json), never pinned to the shipped example's names. Tests of the example's own
// results live in test/example/.
import { loadConfig, type EtlConfig } from "../../core/config";
import type { EngineName } from "../../core/job-spec";

export interface WorkflowShape {
  config: EtlConfig;
  datasets: string[];
  jobs: string[];
  /** Jobs that read at least one raw dataset (one per Parallel branch in the ASL). */
  datasetJobs: string[];
  /** Jobs that read only other jobs' outputs (the join after the Parallel state). */
  joinJobs: string[];
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
    jobOf(dataset) {
      const id = jobs.find((j) => config.jobs[j].inputs.some((i) => i.dataset === dataset));
      if (!id) throw new Error(`no job reads dataset '${dataset}'`);
      return id;
    },
    datasetsOf,
    jobsOn: (engine) => jobs.filter((id) => (config.jobs[id].engine ?? "glue") === engine),
  };
}
