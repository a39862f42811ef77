import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { definitionPath, loadConfig } from "../../../core/config";
import { compareSyntheses, diffPolicies, diffStateMachines, diffValues, itemsOf, normalize, type Json } from "../../../tools/synth-diff/compare";
import { describeChange, inlineValue, renderMarkdown } from "../../../tools/synth-diff/markdown";

const FIXTURES = join(__dirname, "../../fixtures/diff");
const read = (side: string, stack: string): Json => JSON.parse(readFileSync(join(FIXTURES, side, "stacks", stack, "cdk.tf.json"), "utf8"));
const synthesis = (side: string) => ({ "glue-dev": read(side, "glue-dev"), "state-machine-dev": read(side, "state-machine-dev") });
/** The active workflow (ETL_CONFIG, else etl.config.json), as its file is written. */
const activeAsl = () => JSON.parse(readFileSync(definitionPath(loadConfig()), "utf8"));
/** The first top-level Parallel state of a definition, and the first Task with TimeoutSeconds in one of its branches. */
const parallelTask = (d: any) => {
  for (const [parallel, state] of Object.entries<any>(d.States).filter(([, s]) => s.Type === "Parallel"))
    for (const [i, branch] of state.Branches.entries())
      for (const [name, task] of Object.entries<any>(branch.States)) if (task.Type === "Task" && typeof task.TimeoutSeconds === "number") return { parallel, branch: i + 1, name, task };
  throw new Error("no Task with TimeoutSeconds in a Parallel branch of the workflow");
};

describe("tools/synth-diff/compare", () => {
  describe("compareSyntheses on the fixture change (an added state, a changed IAM policy)", () => {
    const changes = compareSyntheses(synthesis("base"), synthesis("head"));
    const stack = changes.find((s) => s.stack === "state-machine-dev")!;
    const item = (address: string) => stack.items.find((i) => i.address === address);

    it("reports unchanged stacks as unchanged", () => {
      expect(changes.map((s) => [s.stack, s.kind])).to.deep.equal([
        ["glue-dev", "unchanged"],
        ["state-machine-dev", "changed"],
      ]);
    });

    it("lists resources added and removed", () => {
      expect(item("aws_cloudwatch_log_group.audit")).to.include({ kind: "added" });
      expect(item("aws_cloudwatch_log_group.audit")!.value).to.deep.equal({ name: "/etl/dev/audit", retention_in_days: 30 });
      expect(item("aws_sqs_queue.old")).to.include({ kind: "removed" });
    });

    it("diffs the state machine definition state by state", () => {
      const machine = item("aws_sfn_state_machine.workflow")!;
      expect(machine.changes).to.deep.equal([]);
      expect(machine.stateMachines).to.deep.equal([
        {
          attribute: "definition",
          fields: [],
          states: [
            { kind: "changed", name: "Both", type: "Parallel", parent: undefined, changes: [{ path: "Next", before: "Done", after: "Audit" }] },
            { kind: "added", name: "Audit", type: "Pass", parent: undefined, changes: [] },
          ],
        },
      ]);
    });

    it("compares IAM policies as parsed statements", () => {
      const policy = item("aws_iam_role_policy.runner")!;
      expect(policy.changes).to.deep.equal([]);
      expect(policy.policies).to.have.length(1);
      const [changed, added] = policy.policies[0].statements;
      // Reordered actions do not count; the new one does.
      expect(changed).to.deep.include({ kind: "changed", label: "RunnerActivity" });
      expect(changed.changes).to.deep.equal([
        { path: "Action", before: ["states:GetActivityTask", "states:SendTaskSuccess"], after: ["states:GetActivityTask", "states:SendTaskFailure", "states:SendTaskSuccess"] },
      ]);
      expect(added).to.deep.include({ kind: "added", label: "Allow glue:GetJobRun" });
      expect(policy.policies[0].statements).to.have.length(2); // the unchanged DynamoDB statement is not listed
    });

    it("reports attribute-level changes and ignores cdktf metadata and asset path hashes", () => {
      expect(item("aws_lambda_function.runner")!.changes).to.deep.equal([{ path: "memory_size", before: 256, after: 512 }]);
      expect(item("aws_sfn_activity.runner")).to.equal(undefined);
      expect(stack.items.map((i) => i.address)).to.not.include("terraform");
    });

    it("renders one readable Markdown line per changed state and statement", () => {
      const markdown = renderMarkdown(changes, { base: "main" });
      const lines = markdown.split("\n");
      expect(lines[0]).to.equal("## Synth diff: `main` → working tree");
      expect(lines).to.include("| `state-machine-dev` | changed | 1 | 1 | 3 |");
      expect(lines).to.include('  - `definition` ✏️ state `Both` (Parallel): `Next` `"Done"` → `"Audit"`');
      expect(lines).to.include("  - `definition` ➕ state `Audit` (Pass) added");
      expect(lines).to.include('  - `policy` statement ✏️ `RunnerActivity`: `Action` +`"states:SendTaskFailure"`');
      expect(lines).to.include("- ➖ `aws_sqs_queue.old` removed");
      expect(lines).to.include("- ➕ `aws_cloudwatch_log_group.audit` added");
      expect(lines).to.include("  - `memory_size` `256` → `512`");
      expect(markdown).to.not.include("### `glue-dev`");
    });

    it("says so when nothing changed", () => {
      expect(renderMarkdown(compareSyntheses(synthesis("base"), synthesis("base")), { base: "main" })).to.equal(
        "## Synth diff: `main` → working tree\n\nNo changes in the synthesized stacks (`glue-dev`, `state-machine-dev`).\n",
      );
    });

    it("reports whole stacks added or removed", () => {
      const added = compareSyntheses({}, { "glue-dev": read("head", "glue-dev") });
      expect(added[0]).to.deep.include({ stack: "glue-dev", kind: "added" });
      expect(added[0].items.map((i) => [i.kind, i.address])).to.deep.equal([
        ["added", "terraform"],
        ["added", "aws_glue_job.PSD"],
      ]);
      expect(compareSyntheses({ "glue-dev": read("head", "glue-dev") }, {})[0]).to.deep.include({ stack: "glue-dev", kind: "removed" });
    });
  });

  describe("one changed state in the active ASL is one line", () => {
    const withDefinition = (definition: unknown) => ({
      "state-machine-dev": { resource: { aws_sfn_state_machine: { workflow: { name: "w", definition: JSON.stringify(definition) } } } },
    });

    it("a changed field of a nested Task", () => {
      const changed = activeAsl();
      const { parallel, branch, name, task } = parallelTask(changed);
      const before = task.TimeoutSeconds;
      task.TimeoutSeconds = before === 3600 ? 3601 : 3600;
      const markdown = renderMarkdown(compareSyntheses(withDefinition(activeAsl()), withDefinition(changed)), { base: "main" });
      const stateLines = markdown.split("\n").filter((l) => l.includes("state `"));
      expect(stateLines).to.deep.equal([`  - \`definition\` ✏️ state \`${name}\` (Task in ${parallel} branch ${branch}): \`TimeoutSeconds\` \`${before}\` → \`${task.TimeoutSeconds}\``]);
    });

    it("a changed Parallel field does not drag its branches' states along", () => {
      const changed = activeAsl();
      const { parallel } = parallelTask(changed);
      const before = changed.States[parallel].ResultPath;
      changed.States[parallel].ResultPath = "$.results_elsewhere";
      const { fields, states } = diffStateMachines(activeAsl(), changed);
      expect(fields).to.deep.equal([]);
      expect(states).to.deep.equal([{ kind: "changed", name: parallel, type: "Parallel", parent: undefined, changes: [{ path: "ResultPath", before, after: "$.results_elsewhere" }] }]);
    });

    it("a removed state, a moved state and a top-level field", () => {
      const before = { StartAt: "A", States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Succeed" } } };
      const after = { StartAt: "B", TimeoutSeconds: 60, States: { B: { Type: "Succeed" } } };
      expect(diffStateMachines(before, after)).to.deep.equal({
        fields: [
          { path: "StartAt", before: "A", after: "B" },
          { path: "TimeoutSeconds", before: undefined, after: 60 },
        ],
        states: [{ kind: "removed", name: "A", type: "Pass", parent: undefined, changes: [] }],
      });
      const nested = { StartAt: "P", States: { P: { Type: "Parallel", Branches: [{ StartAt: "B", States: { B: { Type: "Succeed" } } }], End: true } } };
      const [moved] = diffStateMachines(before, nested).states.filter((s) => s.name === "B");
      expect(moved.changes[0]).to.deep.equal({ path: "(moved)", before: "top level", after: "P branch 1" });
    });
  });

  describe("an IAM change caused by an ASL edit is shown next to that edit", () => {
    const stack = (states: Record<string, unknown>, statements: unknown[]) => ({
      resource: {
        aws_sfn_state_machine: { "state-machine": { definition: JSON.stringify({ StartAt: Object.keys(states)[0], States: states }) } },
        aws_iam_role_policy: { "state-machine-policy": { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) } },
      },
    });
    const logs = { Sid: "LogDelivery", Effect: "Allow", Action: ["logs:CreateLogDelivery"], Resource: ["*"] };
    const glue = (sid: string, job: string) => ({ Sid: sid, Effect: "Allow", Action: ["glue:StartJobRun", "glue:GetJobRun"], Resource: [`arn:aws:glue:us-east-1:1:job/${job}`] });
    const run = (job: string) => ({ Type: "Task", Resource: "arn:aws:states:::glue:startJobRun.sync", Parameters: { JobName: job }, End: true });

    it("puts each state's statement changes under the state's line, not under the policy", () => {
      const base = { "sm-dev": stack({ "Run Load": run("psd") }, [logs, glue("RunLoad", "psd")]) } as never;
      const head = { "sm-dev": stack({ "Run Load": run("psd2"), Athena: { Type: "Pass", End: true } }, [logs, glue("RunLoad", "psd2")]) } as never;
      const lines = renderMarkdown(compareSyntheses(base, head), { base: "main" }).split("\n");
      const state = lines.findIndex((l) => l.includes("state `Run Load`"));
      expect(state).to.be.greaterThan(-1);
      expect(lines[state + 1]).to.match(/^ {4}- IAM `aws_iam_role_policy\.state-machine-policy` `policy` statement ✏️ `RunLoad`: `Resource` \+`"arn:aws:glue:us-east-1:1:job\/psd2"` −`"arn:aws:glue:us-east-1:1:job\/psd"`/);
      expect(lines.filter((l) => l.includes("`RunLoad`"))).to.have.length(1);
      expect(lines.join("\n")).to.include("1 statement change(s) shown with the states that cause them");
    });

    it("a removed state takes its statements with it, shown as removed under it", () => {
      const base = { "sm-dev": stack({ Start: { Type: "Pass", Next: "Run Load" }, "Run Load": run("psd") }, [logs, glue("RunLoad", "psd")]) } as never;
      const head = { "sm-dev": stack({ Start: { Type: "Pass", End: true } }, [logs]) } as never;
      const lines = renderMarkdown(compareSyntheses(base, head), { base: "main" }).split("\n");
      const state = lines.findIndex((l) => l.includes("state `Run Load`") && l.includes("removed"));
      expect(lines[state + 1]).to.match(/IAM .* statement ➖ `RunLoad`: removed/);
    });
  });

  describe("diffPolicies", () => {
    const doc = (...Statement: unknown[]) => ({ Version: "2012-10-17", Statement }) as any;

    it("pairs statements without Sid by resources, and accepts a single statement object", () => {
      const before = { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" } } as any;
      const after = doc({ Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: ["arn:aws:s3:::b/*"] });
      expect(diffPolicies(before, after)).to.deep.equal([
        { kind: "changed", label: "Allow s3:GetObject, s3:PutObject", changes: [{ path: "Action", before: ["s3:GetObject"], after: ["s3:GetObject", "s3:PutObject"] }] },
      ]);
    });

    it("reports a widened resource, and a removed statement with its content", () => {
      const before = doc({ Sid: "Read", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::b/raw/*"] }, { Sid: "Old", Action: ["sqs:SendMessage"], Resource: ["*"] });
      const after = doc({ Sid: "Read", Action: ["s3:GetObject"], Resource: ["*"] });
      const changes = diffPolicies(before, after);
      expect(changes.map((c) => [c.kind, c.label])).to.deep.equal([
        ["changed", "Read"],
        ["removed", "Old"],
      ]);
      expect(describeChange(changes[0].changes[0])).to.equal('`Resource` +`"*"` −`"arn:aws:s3:::b/raw/*"`');
      expect(changes[1].statement).to.deep.equal({ Sid: "Old", Action: ["sqs:SendMessage"], Resource: ["*"] });
    });

    it("finds no change when only the order differs", () => {
      const a = doc({ Sid: "X", Action: ["a:B", "a:A"], Resource: ["r"] }, { Sid: "Y", Action: ["c:D"], Resource: ["r"] });
      const b = doc({ Sid: "Y", Action: ["c:D"], Resource: ["r"] }, { Sid: "X", Action: ["a:A", "a:B"], Resource: ["r"] });
      expect(diffPolicies(a, b)).to.deep.equal([]);
    });
  });

  describe("helpers", () => {
    it("diffValues walks objects and arrays of objects, keeping scalar lists whole", () => {
      expect(diffValues({ a: { b: 1, c: [1, 2] }, d: [{ e: 1 }] }, { a: { b: 2, c: [2, 1, 3] }, d: [{ e: 1 }, { e: 2 }], "x-y.z": true })).to.deep.equal([
        { path: "a.b", before: 1, after: 2 },
        { path: "a.c", before: [1, 2], after: [2, 1, 3] },
        { path: "d[1]", before: undefined, after: { e: 2 } },
        { path: '["x-y.z"]', before: undefined, after: true },
      ]);
      expect(diffValues({ a: 1 }, { a: 1 })).to.deep.equal([]);
    });

    it("normalize drops cdktf metadata and asset hashes, not other content", () => {
      expect(normalize({ "//": { metadata: 1 }, f: "assets/fn/0123456789abcdef0123456789abcdef/archive.zip", h: "0123456789abcdef0123456789abcdef" })).to.deep.equal({
        f: "assets/fn/<hash>/archive.zip",
        h: "0123456789abcdef0123456789abcdef",
      });
    });

    it("itemsOf addresses resources, data sources, outputs and providers", () => {
      const items = itemsOf({ resource: { aws_s3_bucket: { a: {} } }, data: { aws_region: { current: {} } }, output: { arn: { value: 1 } }, provider: { aws: [{}] }, terraform: {} });
      expect([...items.keys()]).to.deep.equal(["aws_s3_bucket.a", "data.aws_region.current", "output.arn", "provider.aws", "terraform"]);
    });

    it("inlineValue shortens long values and cannot be broken by backticks", () => {
      expect(inlineValue("x".repeat(300))).to.have.length(122);
      expect(inlineValue("a`b")).to.equal('`` "a`b" ``');
      expect(inlineValue(undefined)).to.equal("(absent)");
      expect(describeChange({ path: "p", before: 1 })).to.equal("`p` removed (was `1`)");
      // Long strings are shown from just before their first difference.
      const long = "a".repeat(200);
      expect(describeChange({ path: "s", before: `${long}X`, after: `${long}Y` })).to.equal(`\`s\` \`"…${"a".repeat(30)}X"\` → \`"…${"a".repeat(30)}Y"\``);
    });
  });
});
