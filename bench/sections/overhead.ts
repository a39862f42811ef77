// Section 3: orchestration overhead of each runner task in the local runtime, event-driven and schedule-only.
import { join } from "node:path";
import { withEnv } from "../../local/env";
import { runLocalWorkflow } from "../../local/runtime";
import { loadConfig } from "../../core/config";
import type { Section } from "../context";
import { activityTasks, runnerTasks, taskOverheads, type TaskOverhead } from "../overhead";
import type { Figure } from "../results";
import { median } from "../stats";

const RUNS = 5;
/** The fallback schedule's period in both modes. */
export const FALLBACK_PERIOD_MS = 2_000;

const MODES = [
  { id: "event-driven", eventDriven: true },
  { id: "schedule-only", eventDriven: false },
] as const;

export const overheadSection: Section = {
  id: "overhead",
  title: `Orchestration overhead per runner task (local runtime, fallback period ${FALLBACK_PERIOD_MS / 1000} s)`,
  async run(context) {
    const config = loadConfig();
    const tasks = runnerTasks(config);
    const activityStates = activityTasks(config);
    const samples = new Map<string, TaskOverhead[]>(MODES.map((m) => [m.id, []]));
    const invocationErrors = new Map<string, number>(MODES.map((m) => [m.id, 0]));
    // The handlers log through Powertools; keep the table readable (invocation errors are counted below).
    await withEnv({ POWERTOOLS_LOG_LEVEL: "SILENT" }, async () => {
      // Modes alternate, so machine load drifts over both alike.
      for (let i = 0; i < RUNS; i++)
        for (const mode of MODES) {
          const report = await runLocalWorkflow({
            outDir: join(context.tmp, `${mode.id}-${i}`),
            eventDriven: mode.eventDriven,
            fallbackPeriodMs: FALLBACK_PERIOD_MS,
            timeoutMs: 300_000,
            onProgress: (event) => {
              if (event.type === "invocation-error") invocationErrors.set(mode.id, invocationErrors.get(mode.id)! + 1);
            },
          });
          if (report.status !== "SUCCEEDED") throw new Error(`${mode.id} run ${i + 1}: the workflow ${report.status}: ${report.error ?? ""}`);
          const overheads = taskOverheads(report, tasks, activityStates);
          samples.get(mode.id)!.push(...overheads);
          context.log(`${mode.id} run ${i + 1}/${RUNS}: ${overheads.map((o) => `${o.state} start ${o.startMs} ms (${o.afterPreviousMs} ms after the previous task closed), close ${o.closeMs} ms`).join("; ")}`);
        }
    });

    const figures: Figure[] = [];
    for (const mode of MODES) {
      const all = samples.get(mode.id)!;
      const perTask = (pick: (o: TaskOverhead) => number) =>
        [...tasks.keys()].map((state) => `${state} ${median(all.filter((o) => o.state === state).map(pick)).toFixed(0)} ms`).join(", ");
      const errors = invocationErrors.get(mode.id)!;
      const common = `${RUNS} runs of runLocalWorkflow({ eventDriven: ${mode.eventDriven}, fallbackPeriodMs: ${FALLBACK_PERIOD_MS} }) on the generated sample data, ${tasks.size} runner tasks each (${[...tasks.keys()].join(", ")}); times from the run report`;
      const suffix = errors ? `; ${errors} handler invocation errors during these runs` : "";
      const measures = [
        { name: "state entered -> StartJobRun", pick: (o: TaskOverhead) => o.startMs, how: "jobs[].startedOn - states[].enteredAt" },
        {
          name: "previous task closed -> StartJobRun",
          pick: (o: TaskOverhead) => o.afterPreviousMs!,
          how: "jobs[].startedOn - the latest states[].exitedAt of a wait or runner task before the state entered (a wait released, or the jobs it follows done)",
        },
        { name: "Glue run final -> task closed", pick: (o: TaskOverhead) => o.closeMs, how: "states[].exitedAt - jobs[].completedOn" },
      ];
      for (const measure of measures) {
        figures.push({
          name: `${mode.id}: ${measure.name}`,
          unit: "ms",
          median: median(all.map(measure.pick)),
          samples: all.map(measure.pick),
          command: `${common}: ${measure.how}, every runner task of every run`,
          ...(mode.eventDriven ? { target: { atMost: 1000 } } : { expected: `≈ period/2 = ${FALLBACK_PERIOD_MS / 2} ms` }),
          note: `per task: ${perTask(measure.pick)}${suffix}`,
        });
      }
    }
    return figures;
  },
};
