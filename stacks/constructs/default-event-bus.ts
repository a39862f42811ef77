import { putKickStatement, type ResourceNames } from "../../core/topology";
import type { Grantee } from "./grantee";

/**
 * Lets `grantee` put RunnerTaskScheduled events on the default bus (`busArn`): PutEvents for the workflow's event
 * source and that detail-type only (core/topology.ts putKickStatement), as the inline policy "announce-runner-tasks".
 */
export function grantAnnounceRunnerTasks(grantee: Grantee, busArn: string, names: ResourceNames): void {
  grantee.addToRolePolicy("announce-runner-tasks", [putKickStatement(busArn, names)]);
}
