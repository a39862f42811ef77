import { expect } from "chai";
import { defineCommand, integerOption, runCommand, UsageError } from "../../core/cli-args";

const command = defineCommand({
  command: "npm run thing --",
  summary: "Does the thing.",
  options: {
    out: { type: "string", short: "o", value: "DIR", required: true, description: "where it goes" },
    tag: { type: "string", value: "T", multiple: true, description: "a tag\nsecond line" },
    dry: { type: "boolean", description: "change nothing" },
  },
  epilogue: "Exit codes: 0 fine.",
});

async function run(argv: string[], main: () => number | void = () => 7) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(command, argv, main, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("core/cli-args", () => {
  it("takes one declared positional argument, named in the usage; missing or extra ones are usage errors", () => {
    const follow = defineCommand({ command: "npm run follow --", summary: "Follows.", positional: { name: "<ARN>", description: "what to follow" }, options: { every: { type: "string", value: "MS", description: "pause" } } });
    expect(follow.parse(["arn:x", "--every", "5"])).to.deep.equal({ every: "5", positional: "arn:x" });
    expect(follow.parse(["--every", "5", "arn:x"])).to.deep.include({ positional: "arn:x" });
    expect(follow.usage.split("\n")[0]).to.equal("Usage: npm run follow -- <ARN> [--every MS]");
    expect(follow.usage).to.match(/\n {2}<ARN> +what to follow\n/);
    expect(() => follow.parse(["--every", "5"])).to.throw(UsageError, "<ARN> is required");
    expect(() => follow.parse(["a", "b"])).to.throw(UsageError, "unexpected argument 'b'");
    // A command that declares none still refuses them.
    expect(() => command.parse(["--out", "d", "stray"])).to.throw(UsageError, "unexpected argument 'stray'");
  });

  it("parses the declared options, repeated ones as arrays", () => {
    expect(command.parse(["--out", "d", "--tag", "a", "--tag=b", "--dry"])).to.deep.equal({ out: "d", tag: ["a", "b"], dry: true });
    expect(command.parse(["-o", "d"])).to.deep.equal({ out: "d" });
  });

  it("generates the usage from the declaration: synopsis, every option with its value, notes and --help", () => {
    const lines = command.usage.split("\n");
    expect(lines[0]).to.equal("Usage: npm run thing -- --out DIR [--tag T] [--dry]");
    expect(command.usage).to.contain("Does the thing.").and.contain("Exit codes: 0 fine.");
    expect(lines.find((l) => l.startsWith("  -o, --out"))).to.match(/^ {2}-o, --out DIR +where it goes \(required\)$/);
    const tag = lines.findIndex((l) => l.startsWith("  --tag T"));
    expect(lines[tag]).to.contain("a tag");
    expect(lines[tag + 1].trim()).to.equal("second line (may be repeated)");
    expect(lines[tag + 1].indexOf("second")).to.equal(lines[tag].indexOf("a tag"));
    expect(command.usage).to.match(/-h, --help +show this help/);
  });

  it("names the bad argument in one line: unknown option, missing value, value on a flag, positional, missing required", () => {
    const message = (argv: string[]) => {
      try {
        command.parse(argv);
      } catch (e) {
        expect(e).to.be.instanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(message(["--out", "d", "--bogus"])).to.equal("unknown option '--bogus'");
    expect(message(["--out"])).to.equal("--out needs a value");
    expect(message(["-o"])).to.equal("--out needs a value");
    expect(message(["--out", "d", "--dry=yes"])).to.equal("--dry takes no value");
    expect(message(["--out", "d", "extra"])).to.equal("unexpected argument 'extra' (this command takes options only)");
    expect(message(["--dry"])).to.equal("--out DIR is required");
  });

  it("--help wins over a missing required option", () => {
    expect(command.parse(["--help"])).to.equal("help");
    expect(command.parse(["-h"])).to.equal("help");
  });

  it("runCommand: --help prints the usage (0); a usage error prints one line (2); otherwise main's code", async () => {
    expect(await run(["--help"])).to.deep.equal({ code: 0, out: command.usage, err: "" });
    const bad = await run(["--out", "d", "--bogus"]);
    expect(bad.code).to.equal(2);
    expect(bad.err.split("\n")).to.have.length(1);
    expect(bad.err).to.contain("--bogus").and.contain("Usage: npm run thing --");
    expect((await run(["--out", "d"])).code).to.equal(7);
    expect((await run(["--out", "d"], () => undefined)).code).to.equal(0);
    const fromMain = await run(["--out", "d"], () => {
      throw new UsageError("--out: not a folder");
    });
    expect([fromMain.code, fromMain.err.startsWith("error: --out: not a folder")]).to.deep.equal([2, true]);
    const other = await runCommand(command, ["--out", "d"], () => {
      throw new Error("boom");
    }).then(() => undefined, (e: Error) => e.message);
    expect(other).to.equal("boom");
  });

  it("integerOption names the flag and the value", () => {
    expect(integerOption("n", undefined)).to.equal(undefined);
    expect(integerOption("n", "12")).to.equal(12);
    expect(() => integerOption("n", "1.5")).to.throw(UsageError, '--n: expected a non-negative integer, got "1.5"');
    expect(() => integerOption("n", "-1")).to.throw('--n: expected a non-negative integer, got "-1"');
    expect(() => integerOption("n", "0", { min: 1 })).to.throw('--n: expected an integer of at least 1, got "0"');
    expect(() => integerOption("wait", "11", { max: 10, unit: "milliseconds" })).to.throw("--wait: at most 10 milliseconds, got 11");
  });

  it("rejects a command that redeclares --help or -h", () => {
    expect(() => defineCommand({ command: "x", summary: "", options: { help: { type: "boolean", description: "" } } })).to.throw("reserved");
    expect(() => defineCommand({ command: "x", summary: "", options: { host: { type: "string", short: "h", description: "" } } })).to.throw("reserved");
  });
});
