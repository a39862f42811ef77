// Failure injection for rehearsals (`npm start -- --fail-job`, `npm run serve -- --fail-job-once`): which jobs fail,
// named by job id or by deployed job name, whatever their engine. Each local engine asks before a run does any work
// and fails it its own way (Glue FAILED with an ErrorMessage, Athena FAILED with a StateChangeReason and AthenaError,
// EMR Serverless FAILED with stateDetails).
import { resourceNames, type EtlConfig } from "../core/config";
import { InputError } from "./inputs";

/** The job ids of `jobs`, each a job id or a deployed job name; InputError naming `option` for an unknown one. */
export function jobIdsNamed(config: EtlConfig, jobs: readonly string[], option: string): string[] {
  const names = resourceNames(config);
  const idOf = new Map(Object.keys(config.jobs).flatMap((id) => [[id, id] as const, [names.glueJob(id), id] as const]));
  const unknown = jobs.filter((j) => !idOf.has(j));
  if (unknown.length)
    throw new InputError(`${option}: unknown job ${unknown.join(", ")}; known: ${Object.keys(config.jobs).map((id) => `${id} (${names.glueJob(id)})`).join(", ")}`);
  return [...new Set(jobs.map((j) => idOf.get(j)!))];
}

export interface FailingJobs {
  /** Jobs (ids or names) whose every run fails. */
  always?: readonly string[];
  /** Jobs (ids or names) whose first run fails and the later ones run, to rehearse a redrive. */
  once?: readonly string[];
}

/** Which runs fail; `failure` is asked once per run, as the run starts its work. */
export class InjectedFailures {
  private readonly always: ReadonlySet<string>;
  private readonly once: Set<string>;
  private readonly jobName: (id: string) => string;

  constructor(config: EtlConfig, jobs: FailingJobs) {
    this.always = new Set(jobIdsNamed(config, jobs.always ?? [], "failJobs"));
    this.once = new Set(jobIdsNamed(config, jobs.once ?? [], "failJobsOnce"));
    this.jobName = resourceNames(config).glueJob;
  }

  /** The failure message of this run of job `id`, or undefined when it runs (a job's first run uses up its once). */
  failure(id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    if (this.always.has(id)) return `Injected failure: job ${this.jobName(id)} is in failJobs`;
    if (this.once.delete(id)) return `Injected failure: the first run of job ${this.jobName(id)} fails (failJobsOnce)`;
    return undefined;
  }
}
