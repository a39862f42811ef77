// Which ASL state does what, read from the active state machine definition (state names are the user's own): the
// task that runs a job and the task that waits for a dataset.
import { readFileSync } from "node:fs";
import { allStates } from "../../asl/loader";
import { definitionPath, loadConfig, type EtlConfig } from "../../core/config";

function states(config: EtlConfig) {
  return allStates(JSON.parse(readFileSync(definitionPath(config), "utf8")));
}

/** The name of the runner task of `job` (its Parameters.JobName is `${JobName.<job>}`). */
export function jobStateName(job: string, config: EtlConfig = loadConfig()): string {
  const found = states(config).find(([, s]) => s.Parameters?.JobName === `\${JobName.${job}}`);
  if (!found) throw new Error(`no task of ${definitionPath(config)} runs job '${job}'`);
  return found[0];
}

/** The name of the task waiting for `dataset` (its Resource is `${WaitActivityArn.<dataset>}`). */
export function waitStateName(dataset: string, config: EtlConfig = loadConfig()): string {
  const found = states(config).find(([, s]) => s.Resource === `\${WaitActivityArn.${dataset}}`);
  if (!found) throw new Error(`no task of ${definitionPath(config)} waits for dataset '${dataset}'`);
  return found[0];
}
