// Which adapter runs which job: JOB_ENGINES names each job's engine; adapters are created on first use.
import type { EngineAdapter, EngineName } from "../engine";

export interface Engines {
  /** The adapter of a job's engine; a job JOB_ENGINES does not name runs on Glue (Glue refuses a job it does not know). */
  of(jobName: string): EngineAdapter;
  /** The jobs that run on `engine`. */
  jobsOn(engine: EngineName): string[];
}

export type EngineFactories = { [E in EngineName]?: () => EngineAdapter };

export function engineRegistry(jobEngines: Readonly<Record<string, EngineName>>, factories: EngineFactories): Engines {
  const adapters = new Map<EngineName, EngineAdapter>();
  const adapter = (engine: EngineName): EngineAdapter => {
    let made = adapters.get(engine);
    if (!made) {
      const factory = factories[engine];
      if (!factory) throw new Error(`no adapter for engine "${engine}"`);
      made = factory();
      adapters.set(engine, made);
    }
    return made;
  };
  return {
    of: (jobName) => adapter(jobEngines[jobName] ?? "glue"),
    jobsOn: (engine) => Object.keys(jobEngines).filter((job) => jobEngines[job] === engine),
  };
}
