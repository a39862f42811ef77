import { App } from "cdktf";
import type { EtlConfig } from "../core/config";
import { GlueStack } from "./glue-stack";
import { RunnerStack } from "./runner-stack";
import { StateMachineStack } from "./state-machine-stack";

export interface BuildAppOptions {
  /** Where `synth()` writes. @default "cdktf.out" (or CDKTF_OUTDIR when run by the cdktf CLI) */
  readonly outdir?: string;
}

export interface EtlApp {
  readonly app: App;
  readonly glue: GlueStack;
  readonly stateMachine: StateMachineStack;
  readonly runner: RunnerStack;
}

/** Stack ids for an environment, in deploy order: `glue-<env>`, `state-machine-<env>`, `runner-<env>`. */
export function stackIds(config: EtlConfig) {
  return { glue: `glue-${config.environment}`, stateMachine: `state-machine-${config.environment}`, runner: `runner-${config.environment}` } as const;
}

/** The three stacks of one environment, wired by references (cross-stack ones become remote state). */
export function buildApp(config: EtlConfig, options: BuildAppOptions = {}): EtlApp {
  const app = new App(options.outdir ? { outdir: options.outdir } : {});
  const ids = stackIds(config);
  const glue = new GlueStack(app, ids.glue, { config });
  const stateMachine = new StateMachineStack(app, ids.stateMachine, { config, dataLake: glue.dataLake });
  const runner = new RunnerStack(app, ids.runner, {
    config,
    runnerActivity: stateMachine.runnerActivity,
    stateMachine: stateMachine.stateMachine,
    jobs: glue.jobs,
    dataLake: glue.dataLake.bucket,
    artifacts: glue.artifacts.bucket,
  });
  return { app, glue, stateMachine, runner };
}
