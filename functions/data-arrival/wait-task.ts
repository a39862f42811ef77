// A "wait for data" task from a dataset's activity: validate, park the token, then look for an upload.
import { describeError } from "../shared/aws-errors";
import { sendFinalTaskFailure, taskIdOf, type ActivityTask } from "../shared/sfn";
import * as z from "../shared/zod";
import { parseTaskInput } from "../shared/task-input";
import { ARRIVAL_ERRORS, type ArrivalDeps, type ArrivalSummary } from "./deps";
import { releaseWaits } from "./release";

export const waitTaskInput = z.object({
  dataset: z.string().check(z.minLength(1)),
  executionArn: z.string().check(z.minLength(1)),
  dataSince: z.iso.datetime({ offset: true }),
});

export async function acceptWaitTask(deps: ArrivalDeps, dataset: string, task: ActivityTask, summary: ArrivalSummary): Promise<void> {
  const { sfn, table, logger } = deps;
  const parsed = parseTaskInput(waitTaskInput, task.input);
  const problem = !parsed.ok
    ? parsed.problem
    : parsed.value.dataset !== dataset
      ? `invalid task input: dataset: '${parsed.value.dataset}' is not this activity's dataset '${dataset}'`
      : undefined;
  if (problem !== undefined || !parsed.ok) {
    summary.tasksRejected++;
    logger.warn("rejecting wait task", { dataset, problem });
    await sendFinalTaskFailure(sfn, logger, task.taskToken, ARRIVAL_ERRORS.invalidInput, problem ?? "invalid task input", { dataset, taskId: taskIdOf(task.taskToken) });
    return;
  }
  const wait = { dataset, executionArn: parsed.value.executionArn, dataSince: new Date(parsed.value.dataSince).toISOString(), taskToken: task.taskToken };
  try {
    await table.parkWait(wait, deps.now());
  } catch (error) {
    summary.errors++;
    logger.error("cannot park the wait token; failing the task", { dataset, executionArn: wait.executionArn, error: describeError(error) });
    const cause = `could not park the wait in DynamoDB table ${table.tableName}: ${describeError(error)}`;
    await sendFinalTaskFailure(sfn, logger, task.taskToken, ARRIVAL_ERRORS.notParked, cause, {
      dataset,
      executionArn: wait.executionArn,
      taskId: taskIdOf(task.taskToken),
    });
    return;
  }
  summary.waitsParked++;
  logger.info("wait parked", { dataset, executionArn: wait.executionArn, dataSince: wait.dataSince });
  // Written first, read second: an upload recorded before the park is found here.
  await releaseWaits(deps, dataset, summary);
}
