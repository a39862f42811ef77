import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { definitionPath, loadConfig } from "../../../core/config";
import { describeRule, describeTask, escapeLabel, renderMermaid } from "../../../tools/diagram/mermaid";

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, "../../fixtures/asl-diagram", name), "utf8"));
const lines = (text: string) => text.split("\n");

/** Lines only in `a`, and lines only in `b` (as multisets). */
function changedLines(a: string, b: string): { removed: string[]; added: string[] } {
  const count = (text: string) => lines(text).reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const cb = count(b);
  const only = (x: Map<string, number>, y: Map<string, number>) => [...x].flatMap(([l, n]) => Array(Math.max(0, n - (y.get(l) ?? 0))).fill(l));
  return { removed: only(ca, cb), added: only(cb, ca) };
}

describe("tools/diagram/mermaid", () => {
  describe("renderMermaid on the Catch and Retry fixture", () => {
    const out = lines(renderMermaid(fixture("catch-retry.asl.json")));

    it("marks every Retry rule as a dotted self-loop with its errors, attempts, interval and backoff", () => {
      expect(out).to.include('  s_Load_data -.->|"retry Glue.ConcurrentRunsExceededException up to 4× (5 s, backoff 1.5)"| s_Load_data');
      // ASL defaults when the rule leaves them out.
      expect(out).to.include('  s_Load_data -.->|"retry States.Timeout up to 3× (1 s, backoff 2)"| s_Load_data');
    });

    it("draws every Catch rule as a dotted edge labelled with its errors, next to the Next edge", () => {
      expect(out).to.include('  s_Load_data -.->|"catch States.TaskFailed"| s_Load_data_2');
      expect(out).to.include('  s_Load_data -.->|"catch States.ALL"| s_Give_up');
      expect(out).to.include("  s_Load_data --> s_Each_file");
      expect(out).to.include('  s_Each_file -.->|"catch States.ALL"| s_Give_up');
    });

    it("labels Choice edges with their rules and the default", () => {
      expect(out).to.include('  s_Route -->|"($.mode == #quot;full#quot; and not $.skip is present)"| s_Load_data');
      expect(out).to.include('  s_Route -->|"$.count #gt;= $.limit"| s_Pause');
      expect(out).to.include('  s_Route -->|"default"| s_Give_up');
    });

    it("gives each state type its shape and a Map its subgraph with a start dot", () => {
      expect(out).to.include('  s_Route{"Route"}');
      expect(out).to.include('  s_Pause(["Pause<br/>wait 10 s"])');
      expect(out).to.include('  s_Give_up{{"Give up<br/>Fail LoadFailed"}}:::fail');
      const start = out.indexOf('  subgraph s_Each_file["Each file<br/>Map over $.files"]');
      expect(start).to.be.greaterThan(0);
      expect(out.slice(start + 1, start + 5)).to.deep.equal([
        '    s_Each_file__start((" "))',
        '    s_Check_file["Check file<br/>activity file-checker"]',
        '    s_Skip_file[/"Skip file<br/>Pass"/]',
        "  end",
      ]);
      expect(out).to.include("  s_Each_file__start --> s_Check_file");
    });

    it("keeps ids distinct when names sanitize alike, and clear of Mermaid keywords", () => {
      expect(out).to.include('  s_Load_data["Load data<br/>Glue job loader (sync)"]');
      expect(out).to.include('  s_Load_data_2["Load_data<br/>Lambda fallback-loader"]');
      expect(out).to.include('  s_end[/"end<br/>Pass"/]');
      // Only top-level End states lead to the end node; the Map's inner End states do not.
      expect(out.filter((l) => l.endsWith(" --> done"))).to.deep.equal(["  s_end --> done"]);
    });

    it("is deterministic", () => {
      expect(renderMermaid(fixture("catch-retry.asl.json"))).to.equal(out.join("\n"));
    });
  });

  describe("one changed state is one changed line", () => {
    // The active workflow (ETL_CONFIG, else etl.config.json), as its file is written.
    const workflow = () => JSON.parse(readFileSync(definitionPath(loadConfig()), "utf8"));
    /** Every States map of a definition (the top level, each branch, each Map's processor), to find a state in its scope. */
    const scopes = (machine: any): Array<Record<string, any>> => [
      machine.States,
      ...Object.values<any>(machine.States).flatMap((s) => [...(s.Branches ?? []), ...(s.ItemProcessor ?? s.Iterator ? [s.ItemProcessor ?? s.Iterator] : [])].flatMap(scopes)),
    ];
    /** The first state (and its scope) that `test` accepts, with a plain name (its diagram id is s_<name>). */
    const find = (d: any, test: (state: any) => boolean): [Record<string, any>, string] => {
      for (const scope of scopes(d)) for (const name of Object.keys(scope)) if (/^[A-Za-z0-9_]+$/.test(name) && test(scope[name])) return [scope, name];
      throw new Error("no such state in the workflow");
    };

    it("a changed Retry changes only its self-loop", () => {
      const changed = workflow();
      const [scope, name] = find(changed, (s) => s.Retry?.[0]?.MaxAttempts !== undefined && s.Retry[0].MaxAttempts !== 9);
      const before = scope[name].Retry[0].MaxAttempts;
      scope[name].Retry[0].MaxAttempts = 9;
      const { removed, added } = changedLines(renderMermaid(workflow()), renderMermaid(changed));
      expect(removed).to.have.length(1);
      expect(removed[0]).to.match(new RegExp(`^  s_${name} -\\.->\\|"retry .* up to ${before}× .*"\\| s_${name}$`));
      expect(added).to.deep.equal([removed[0].replace(`up to ${before}×`, "up to 9×")]);
    });

    it("a changed Task resource changes only its node", () => {
      const changed = workflow();
      const [scope, name] = find(changed, (s) => s.Type === "Task" && s.Resource !== "arn:aws:states:::sqs:sendMessage");
      scope[name].Resource = "arn:aws:states:::sqs:sendMessage";
      const { removed, added } = changedLines(renderMermaid(workflow()), renderMermaid(changed));
      expect(removed).to.have.length(1);
      expect(added).to.deep.equal([`  s_${name}["${name}<br/>sqs sendMessage"]`]);
    });

    it("a changed Catch target changes only that edge", () => {
      // A workflow may have no Catch (the shipped one: a failure ends the execution at the failed state): add one to
      // the same Task on both sides, each to another state of its scope.
      const withCatch = (index: number) => {
        const d = workflow();
        const [scope, name] = find(d, (s) => s.Type === "Task");
        const target = Object.keys(scope).filter((n) => n !== name && /^[A-Za-z0-9_]+$/.test(n))[index];
        scope[name].Catch = [{ ErrorEquals: ["States.ALL"], Next: target }];
        return { d, name, target };
      };
      const before = withCatch(0);
      const after = withCatch(1);
      expect(after.target, "a second state in the Task's scope").to.be.a("string");
      const { removed, added } = changedLines(renderMermaid(before.d), renderMermaid(after.d));
      expect(removed).to.deep.equal([`  s_${before.name} -.->|"catch States.ALL"| s_${before.target}`]);
      expect(added).to.deep.equal([`  s_${after.name} -.->|"catch States.ALL"| s_${after.target}`]);
    });
  });

  describe("describeTask", () => {
    const activities = {
      "arn:aws:states:us-east-1:1:activity:runner": { kind: "runner" as const },
      "arn:aws:states:us-east-1:1:activity:wait-orders": { kind: "wait" as const, dataset: "orders" },
    };

    it("labels a runner task with its job's engine when the engines are known", () => {
      const runner = { "arn:aws:states:us-east-1:1:activity:runner": { kind: "runner" as const, engineLabels: { "etl-dev-Clean": "Athena", "etl-dev-Load": "Glue" } } };
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner", Parameters: { JobName: "etl-dev-Clean" } }, runner)).to.equal("Athena job etl-dev-Clean");
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner", Parameters: { JobName: "etl-dev-Load" } }, runner)).to.equal("Glue job etl-dev-Load");
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner", Parameters: { "JobName.$": "$.job" } }, runner)).to.equal("ETL job (from $.job)");
    });

    it("names the Glue job a runner activity task runs, from a value or a path", () => {
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner", Parameters: { JobName: "etl-dev-Load" } }, activities)).to.equal("Glue job etl-dev-Load");
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner", Parameters: { "JobName.$": "$.job" } }, activities)).to.equal("Glue job (from $.job)");
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:runner" }, activities)).to.equal("Glue job (no JobName)");
    });

    it("names the dataset a wait activity task waits for", () => {
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:wait-orders" }, activities)).to.equal("wait for orders upload");
    });

    it("names service integrations and their pattern", () => {
      expect(describeTask({ Resource: "arn:aws:states:::sns:publish", Parameters: { TopicArn: "arn:aws:sns:us-east-1:1:alerts" } })).to.equal("SNS publish to alerts");
      expect(describeTask({ Resource: "arn:aws:states:::events:putEvents", Parameters: { Entries: [{ DetailType: "A" }, { DetailType: "B" }] } })).to.equal("EventBridge putEvents A, B");
      expect(describeTask({ Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters: { FunctionName: "arn:aws:lambda:us-east-1:1:function:f" } })).to.equal("Lambda f (waitForTaskToken)");
      expect(describeTask({ Resource: "arn:aws:states:::glue:startJobRun.sync", Parameters: { JobName: "etl-dev-Load" } })).to.equal("Glue job etl-dev-Load (sync)");
      expect(describeTask({ Resource: "arn:aws:states:::athena:startQueryExecution.sync", Parameters: { QueryString: "SELECT 1", WorkGroup: "etl-dev-etl" } })).to.equal("Athena query in etl-dev-etl (sync)");
      expect(describeTask({ Resource: "arn:aws:states:::emr-serverless:startJobRun", Parameters: { ApplicationId: "00app", Name: "Load" } })).to.equal("EMR Serverless job run Load on 00app");
      expect(describeTask({ Resource: "arn:aws:states:::events:putEvents.waitForTaskToken", Parameters: { Entries: [{ DetailType: "CountLines" }] } })).to.equal("EventBridge putEvents CountLines (waitForTaskToken)");
      expect(describeTask({ Resource: "arn:aws:states:::dynamodb:putItem" })).to.equal("dynamodb putItem");
    });

    it("falls back to the activity name or the raw resource", () => {
      expect(describeTask({ Resource: "arn:aws:states:us-east-1:1:activity:other" }, activities)).to.equal("activity other");
      expect(describeTask({ Resource: "something-else" })).to.equal("something-else");
      expect(describeTask({})).to.equal("(no Resource)");
    });
  });

  describe("describeRule", () => {
    it("writes comparisons, negated type tests, paths and JSONata conditions", () => {
      expect(describeRule({ Variable: "$.n", NumericLessThan: 3 })).to.equal("$.n < 3");
      expect(describeRule({ Variable: "$.s", StringMatches: "a*" })).to.equal('$.s matches "a*"');
      expect(describeRule({ Variable: "$.t", TimestampEqualsPath: "$.u" })).to.equal("$.t == $.u");
      expect(describeRule({ Variable: "$.x", IsNull: false })).to.equal("$.x is not null");
      expect(describeRule({ Or: [{ Variable: "$.a", BooleanEquals: true }, { Variable: "$.b", IsPresent: true }] })).to.equal("($.a == true or $.b is present)");
      expect(describeRule({ Condition: "{% $states.input.n > 1 %}" })).to.equal("{% $states.input.n > 1 %}");
    });
  });

  it("escapes characters that would break or restyle a Mermaid label", () => {
    expect(escapeLabel('say "hi" <b> #1 $$.Execution\nnext')).to.equal("say #quot;hi#quot; #lt;b#gt; #35;1 #36;#36;.Execution next");
  });

  it("rejects a document that is not ASL", () => {
    expect(() => renderMermaid({ States: {} })).to.throw(/'StartAt' and 'States' are required/);
  });
});
