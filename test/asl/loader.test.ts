import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AslError, allStates, loadStateMachine, validationCacheKey } from "../../asl/loader";
import { readCache, removeCache, writeCache } from "../../core/build-cache";

const VALUES = { RunnerActivityArn: "arn:aws:states:us-east-1:123456789012:activity:etl-dev-etl-runner", Subject: 'say "hi"' };

describe("asl/loader", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "etl-asl-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const error = (fn: () => unknown): AslError => {
    try {
      fn();
    } catch (e) {
      expect(e).to.be.instanceOf(AslError);
      return e as AslError;
    }
    throw new Error("expected an AslError");
  };

  const machine = (run: object) => JSON.stringify({ StartAt: "Run", States: { Run: { Type: "Task", Resource: "${RunnerActivityArn}", TimeoutSeconds: 60, ...run, End: true } } }, null, 2);

  it("substitutes placeholders (JSON-escaped) and returns the definition and its JSON", () => {
    const loaded = loadStateMachine(file("ok.asl.json", machine({ Comment: "${Subject}" })), VALUES);
    const run = (loaded.definition.States as any).Run;
    expect(run.Resource).to.equal(VALUES.RunnerActivityArn);
    expect(run.Comment).to.equal('say "hi"');
    expect(JSON.parse(loaded.json)).to.deep.equal(loaded.definition);
  });

  it("never lets a remembered valid definition excuse an invalid one, which is refused again, alike", () => {
    loadStateMachine(file("valid.asl.json", machine({})), VALUES);
    const invalid = file("invalid.asl.json", machine({ Next: "Nowhere" }));
    const messages = [0, 1].map(() => error(() => loadStateMachine(invalid, VALUES)).message);
    expect(messages[0]).to.include("Nowhere");
    expect(messages[1]).to.equal(messages[0]);
    // The refusal is what the cache keeps for that definition.
    const definition = JSON.stringify(JSON.parse(machine({ Next: "Nowhere" }).replace("${RunnerActivityArn}", VALUES.RunnerActivityArn)));
    expect(JSON.parse(readCache(validationCacheKey(definition))!.toString()).join("\n")).to.include("Nowhere");
  });

  it("takes the validator's answer on the very same definition from the build cache, a refusal too; not with ETL_BUILD_CACHE=off, nor an unreadable one", () => {
    const path = file("remembered.asl.json", machine({ Comment: "remembered" }));
    const { json } = loadStateMachine(path, VALUES);
    const key = validationCacheKey(json);
    try {
      // What the cache says is what the load reports: a planted refusal of this valid definition.
      writeCache(key, JSON.stringify(["PLANTED: a refusal the validator did not give"]));
      expect(error(() => loadStateMachine(path, VALUES)).message).to.match(/remembered\.asl\.json: invalid Amazon States Language\n {2}- PLANTED: a refusal the validator did not give$/);
      process.env.ETL_BUILD_CACHE = "off";
      expect(loadStateMachine(path, VALUES).json).to.equal(json);
      delete process.env.ETL_BUILD_CACHE;
      for (const unreadable of ["not JSON", "{}", "[1]"]) {
        writeCache(key, unreadable);
        expect(loadStateMachine(path, VALUES).json, unreadable).to.equal(json);
        expect(readCache(key)!.toString(), `${unreadable}: written anew`).to.equal("[]");
      }
    } finally {
      delete process.env.ETL_BUILD_CACHE;
      removeCache(key);
    }
  });

  it("reports invalid JSON with the file, line and column", () => {
    const e = error(() => loadStateMachine(file("bad-json.asl.json", '{\n  "StartAt": "Run",\n  "States": {,}\n}'), VALUES));
    expect(e.message).to.match(/bad-json\.asl\.json: invalid JSON at line 3, column 14/);
  });

  it("names an unknown placeholder with its position and lists the known ones", () => {
    const e = error(() => loadStateMachine(file("unknown.asl.json", machine({ Comment: "${NoSuchThing}" })), VALUES));
    expect(e.message).to.include("unknown.asl.json: unknown placeholder ${NoSuchThing} at line");
    expect(e.message).to.include("Known placeholders: ${RunnerActivityArn}, ${Subject}");
  });

  it("reports invalid ASL with the validator's messages", () => {
    const text = JSON.stringify({ StartAt: "Missing", States: { Run: { Type: "Task", Resource: "${RunnerActivityArn}", End: true } } });
    const e = error(() => loadStateMachine(file("invalid.asl.json", text), VALUES));
    expect(e.message).to.include("invalid.asl.json: invalid Amazon States Language\n");
    expect(e.message).to.include("  - MISSING_TRANSITION_TARGET: Missing 'StartAt'|'Next'|'Default' target: Missing");
    expect(e.message).to.include("  - MISSING_TRANSITION_TARGET: State Run is not reachable");
  });

  it("names a file it cannot read", () => {
    expect(error(() => loadStateMachine(join(dir, "absent.asl.json"), VALUES)).message).to.match(/absent\.asl\.json: cannot read the state machine definition/);
  });

  it("lists states inside Parallel branches", () => {
    const definition = {
      StartAt: "P",
      States: { P: { Type: "Parallel", Branches: [{ StartAt: "A", States: { A: { Type: "Pass", End: true } } }], End: true } },
    };
    expect(allStates(definition).map(([name]) => name)).to.deep.equal(["P", "A"]);
  });
});
