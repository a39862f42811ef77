// A kick left in (or added to) a user's ASL still works: the workflow puts WaitTaskScheduled before each wait task,
// the local bus delivers it to the data-arrival function as on AWS, and the run succeeds on events alone.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { allStates } from "../../asl/loader";
import { definitionPath, loadConfig, parseConfig } from "../../core/config";
import { runLocalWorkflow } from "../../local/runtime";
import { activeConfigFile } from "../support/workflow";

describe("local runtime: a workflow that still has kicks", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "etl-kicks-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("delivers each WaitTaskScheduled kick to the data-arrival function and succeeds without the fallback schedule", async () => {
    const shipped = loadConfig();
    const raw = JSON.parse(readFileSync(definitionPath(shipped), "utf8"));
    const waits: string[] = [];
    for (const [, branch] of allStates(raw).filter(([, s]) => s.Type === "Parallel"))
      for (const b of branch.Branches) {
        const wait = Object.entries<any>(b.States).find(([, s]) => s.Parameters?.dataset !== undefined);
        if (!wait) continue;
        const [name, state] = wait;
        b.States[`Kick${name}`] = {
          Type: "Task",
          Resource: "arn:aws:states:::events:putEvents",
          Parameters: { Entries: [{ Source: "${EventSource}", DetailType: "WaitTaskScheduled", Detail: { dataset: state.Parameters.dataset, "executionArn.$": "$$.Execution.Id" } }] },
          ResultPath: null,
          TimeoutSeconds: 30,
          Next: name,
        };
        if (b.StartAt === name) b.StartAt = `Kick${name}`;
        waits.push(name);
      }
    expect(waits).to.have.length(Object.keys(shipped.datasets).length);
    // The active configuration with its scripts where they are (relative to its own folder), its ASL in `dir`.
    const rawConfig = JSON.parse(readFileSync(activeConfigFile(), "utf8"));
    rawConfig.scriptsDir = join(dirname(activeConfigFile()), rawConfig.scriptsDir ?? "glue-scripts");
    const definition = join(dir, rawConfig.stateMachine.definition);
    mkdirSync(dirname(definition), { recursive: true });
    writeFileSync(definition, JSON.stringify(raw, null, 2));
    const config = parseConfig(rawConfig, { source: "kicks variant", rootDir: dir });
    expect(definitionPath(config)).to.equal(definition);

    const triggers: string[] = [];
    const report = await runLocalWorkflow({
      config,
      outDir: join(dir, "out"),
      fallbackPeriodMs: 3_600_000,
      timeoutMs: 120_000,
      onProgress: (e) => void (e.type === "invocation" && triggers.push(`${e.functionName}:${e.trigger}`)),
    });
    expect(report.status, report.error).to.equal("SUCCEEDED");
    expect(report.states.filter((s) => s.name.startsWith("Kick")).map((s) => s.status)).to.deep.equal(waits.map(() => "SUCCEEDED"));
    expect(triggers.filter((t) => t.endsWith(":WaitTaskScheduled"))).to.have.length(waits.length);
    expect(triggers.some((t) => t.endsWith(":Scheduled Event"))).to.equal(false);
  });
});
