// These tests compile every script and run etl_common.py's pure helpers with plain python3 (no pyspark), and pin
// that its parsing rules are the local engine's. npm run test:spark runs the jobs themselves on Spark.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig, scriptsDir } from "../../core/config";
import { jobArguments } from "../../core/job-arguments";
import { COUNTS_OBJECT, parseCountsObject, parseQualityLimits, runCounts } from "../../core/quality";
import { duplicateColumnError, readCsvHeader, snakeCase } from "../../local/csv";
import { QUALITY_CASES, QUALITY_FIXTURE } from "../quality-cases";
import { unclosedQuoteLines, VALUE_PATTERNS } from "../../local/etl-engine";
import { FirstBadByte, notUtf8Error, Utf8Check } from "../../local/utf8-lines";
import { isUtf8 } from "node:buffer";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");

// One python3 with etl_common imported serves every snippet of this file: it forks a child per snippet, which runs
// it as `python3 -c` would (its own process, so one snippet's patches of `e` never reach another) without paying
// the interpreter's start-up (about 0.1 s of CPU) forty times.
const SERVER = `
import json, os, sys, tempfile, traceback
sys.path.insert(0, ${JSON.stringify(SCRIPTS_DIR)})
import etl_common
scratch = tempfile.mkdtemp(prefix="etl-common-test-")
out_file, err_file = os.path.join(scratch, "out"), os.path.join(scratch, "err")
for line in sys.stdin:
    code = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(err_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        status = 0
        try:
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    with open(out_file, encoding="utf8") as out, open(err_file, encoding="utf8") as err:
        print(json.dumps({"status": status, "stdout": out.read(), "stderr": err.read()}), flush=True)
for name in (out_file, err_file):
    if os.path.exists(name):
        os.remove(name)
os.rmdir(scratch)
`;

let server: { child: ChildProcessWithoutNullStreams; answers: AsyncIterator<string>; ended: Promise<never> } | undefined;

/** Runs Python code with etl_common importable (as `python3 -c`); returns its stdout parsed as JSON. */
async function python(code: string): Promise<unknown> {
  if (!server) {
    const child = spawn("python3", ["-c", SERVER], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" }, stdio: "pipe" });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.stdin.on("error", () => undefined); // a write after it ended: the exit below says why
    const ended = new Promise<never>((_, reject) => {
      child.on("error", reject);
      child.on("exit", (status) => reject(new Error(`the python3 serving etl_common's tests exited ${status}: ${stderr}`)));
    });
    ended.catch(() => undefined); // read by the next call, if any
    server = { child, answers: createInterface({ input: child.stdout })[Symbol.asyncIterator](), ended };
  }
  server.child.stdin.write(`${JSON.stringify(`import json, sys\nsys.path.insert(0, ${JSON.stringify(SCRIPTS_DIR)})\nimport etl_common as e\n${code}`)}\n`);
  const answer = await Promise.race([server.answers.next(), server.ended]);
  if (answer.done) await server.ended; // its output closed: the exit says why
  const { status, stdout, stderr } = JSON.parse(answer.value) as { status: number; stdout: string; stderr: string };
  if (status !== 0) throw new Error(`python3 exited ${status}: ${stderr}`);
  return JSON.parse(stdout);
}

/** Python's error message for a call expected to raise ValueError. */
async function pythonError(call: string): Promise<string> {
  return (await python(`try:\n    ${call}\n    print(json.dumps(None))\nexcept ValueError as error:\n    print(json.dumps(str(error)))`)) as string;
}

describe("glue-scripts/etl_common.py", () => {
  after(async () => {
    if (!server) return;
    const { child } = server;
    server = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    await exited;
  });

  it("every script compiles as Python 3", async () => {
    // The scripts folder of the active configuration: etl_common.py and every configured job's script.
    const config = loadConfig();
    const dir = scriptsDir(config);
    const scripts = readdirSync(dir).filter((f) => f.endsWith(".py"));
    expect(scripts).to.include.members(["etl_common.py", ...Object.values(config.jobs).map((j) => j.script)]);
    const compile = `import ast\nfor name in ${JSON.stringify(scripts)}:\n    ast.parse(open(${JSON.stringify(dir)} + "/" + name).read(), name, feature_version=(3, 11))\nprint("true")`;
    expect(await python(compile)).to.equal(true);
    expect(await python(`ast = __import__("ast")\nast.parse("def f(:\\n pass")\nprint("true")`).then(() => undefined, (e: Error) => e)).to.be.instanceOf(Error);
  });

  it("reads plain spark-submit arguments (EMR Serverless): the job spec's pairs plus the runner's, naming what is missing", async () => {
    const argv = ["--etl_inputs", "[]", "--etl_sql", "j.sql", "--etl_output", "s3://b/staging/j/t/", "--etl_task_id", "t"];
    expect(await python(`print(json.dumps(e.parse_job_arguments(${JSON.stringify(argv)})))`)).to.deep.equal({ etl_inputs: "[]", etl_sql: "j.sql", etl_output: "s3://b/staging/j/t/", etl_task_id: "t" });
    // A flag without its value counts as empty, so it is named as missing.
    expect(await pythonError(`e.parse_job_arguments(["--etl_inputs", "[]", "--etl_sql"])`)).to.match(/^missing job argument\(s\) --etl_output, --etl_sql; got/);
    expect(await pythonError(`e.parse_job_arguments(["--etl_inputs", "[]"])`)).to.match(/^missing job argument\(s\) --etl_output, --etl_sql; got/);
  });

  it("writes the counts object the runner reads (core/quality.ts COUNTS_OBJECT, runCounts and parseCountsObject), for every case of the gate table", async () => {
    expect(await python("print(json.dumps(e.COUNTS_OBJECT))")).to.equal(COUNTS_OBJECT);
    // Every case in one Python process (a process costs more than all the cases).
    const objects = await python(`print(json.dumps([e.counts_object(c, "t1") for c in ${JSON.stringify(QUALITY_CASES.map((c) => c.counts))}]))`) as Array<Record<string, unknown>>;
    expect(objects).to.have.length(QUALITY_CASES.length);
    for (const [i, c] of QUALITY_CASES.entries()) {
      const object = objects[i];
      expect(object, c.name).to.deep.equal({ taskId: "t1", ...runCounts(c.counts) });
      expect(parseCountsObject(JSON.stringify(object), "x")).to.deep.equal({ taskId: "t1", ...runCounts(c.counts) });
    }
  });

  it("writes the counts object after the output: at --etl_counts when given (a Glue job's, in its staging folder), else in the output folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etl-common-counts-"));
    try {
      writeFileSync(join(dir, "job.sql"), "SELECT * FROM a");
      // A stand-in for Spark that records what is written where, in order.
      const written = await python(`
written = []
e.write_text = lambda spark, path, text: written.append([path, json.loads(text)])
class Frame:
    write = property(lambda self: self)
    def createOrReplaceTempView(self, name): pass
    def count(self): return 3
    def cache(self): return self
    def unpersist(self): pass
    def mode(self, mode): return self
    def option(self, key, value): return self
    def parquet(self, path): written.append([path, "parquet"])
class Spark:
    conf = type("Conf", (), {"set": lambda self, key, value: None})()
    read = type("Read", (), {"parquet": lambda self, path: Frame()})()
    def sql(self, query): return Frame()
e.start_session = lambda name, args: (Spark(), lambda: None)
e.output_nulls = lambda result, columns: {}
inputs = json.dumps([{"name": "a", "path": "s3://b/in/", "format": "parquet"}])
e.main(["--etl_inputs", inputs, "--etl_output", "s3://b/out/", "--etl_sql", ${JSON.stringify(join(dir, "job.sql"))}, "--etl_task_id", "t1", "--etl_counts", "s3://b/staging/j/${COUNTS_OBJECT}"])
e.main(["--etl_inputs", inputs, "--etl_output", "s3://b/out/", "--etl_sql", ${JSON.stringify(join(dir, "job.sql"))}, "--etl_task_id", "t2"])
print(json.dumps(written))`);
      const counts = (taskId: string) => ({ taskId, rowsRead: { a: 3 }, rowsDropped: { a: 0 }, rowsWritten: 3 });
      expect(written).to.deep.equal([
        ["s3://b/out/", "parquet"],
        [`s3://b/staging/j/${COUNTS_OBJECT}`, counts("t1")],
        ["s3://b/out/", "parquet"],
        [`s3://b/out/${COUNTS_OBJECT}`, counts("t2")],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names columns as the local engine does", async () => {
    const names = ["Mailing list adds ", "  New   visitors\tSEO", "Date", "Forecasted Monthly Revenue"];
    expect(await python(`print(json.dumps([e.snake_case(n) for n in ${JSON.stringify(names)}]))`)).to.deep.equal(names.map(snakeCase));
    expect(names.map(snakeCase)).to.deep.equal(["mailing_list_adds", "new_visitors_seo", "date", "forecasted_monthly_revenue"]);
  });

  it("escapes a path for Hadoop's comma-separated input paths (StringUtils.escapeString): a comma and a backslash", async () => {
    const paths = ["s3://b/raw/x, y.csv", "/d/a\\b,c.csv", "/d/plain.csv"];
    expect(await python(`print(json.dumps([e.hadoop_escaped(p) for p in ${JSON.stringify(paths)}]))`)).to.deep.equal(["s3://b/raw/x\\, y.csv", "/d/a\\\\b\\,c.csv", "/d/plain.csv"]);
  });

  it("escapes a path as a Hadoop glob matching only itself (\\ * ? [ ] { }), before the comma escape for an input path list", async () => {
    const paths = ["/d/a\\b[1]{x}*?.csv", "/d/x, y.csv", "/d/plain.csv"];
    expect(await python(`print(json.dumps([[e.glob_escaped(p), e.hadoop_escaped(e.glob_escaped(p))] for p in ${JSON.stringify(paths)}]))`)).to.deep.equal([
      ["/d/a\\\\b\\[1\\]\\{x\\}\\*\\?.csv", "/d/a\\\\\\\\b\\\\[1\\\\]\\\\{x\\\\}\\\\*\\\\?.csv"],
      ["/d/x, y.csv", "/d/x\\, y.csv"],
      ["/d/plain.csv", "/d/plain.csv"],
    ]);
  });

  it("uses the local engine's value patterns", async () => {
    const patterns = await python(`print(json.dumps({"date": e.DATE_PATTERN, "bigint": e.BIGINT_PATTERN, "double": e.DOUBLE_PATTERN}))`);
    expect(patterns).to.deep.equal(Object.fromEntries(Object.entries(VALUE_PATTERNS).map(([k, v]) => [k, `^${v}$`])));
  });

  it("drops the same lines with an unclosed quote as the local engine, and reads records line by line", async () => {
    const lines = ['a,b,"unterminated', 'a,"b, c",d', 'a,"say ""hi""",c', '"', '""', 'a,b"c', "plain", "", 'a,"""', 'x,"y"z"'];
    const python_ = await python(`print(json.dumps([e.unclosed_quote(l) for l in ${JSON.stringify(lines)}]))`) as boolean[];
    const local = new Set(unclosedQuoteLines(Buffer.from(lines.join("\n"))).map((r) => r.line - 1));
    expect(python_).to.deep.equal(lines.map((_, i) => local.has(i)));
    expect(python_).to.deep.equal([true, false, false, true, false, true, false, false, true, true]);
    const source = readFileSync(join(SCRIPTS_DIR, "etl_common.py"), "utf8");
    expect(source).to.include('.option("multiLine", False)').and.include("quotes % 2 == 1");
  });

  it("finds a file's first byte that is not UTF-8 where the local engine does (line, offset, byte), in chunks cut anywhere, and words the refusal alike", async () => {
    const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
    const files = [
      bytes("Name\na\nb", [0xff], "c\n"),
      bytes("Name\r\nx\ré\r\ny", [0xe0, 0x80], "z\r\n"), // CR LF and a lone CR; E0 needs A0-BF next
      bytes("N\n€\n𝄞\n", [0xed, 0xa0, 0x80], "\n"), // a surrogate
      bytes("N\n", [0xc0, 0xaf], "\n"), // an overlong form
      bytes("N\n", [0xf4, 0x90, 0x80, 0x80], "\n"), // past U+10FFFF
      bytes("N\r\n\r\na", [0xf0, 0x9f, 0x98]), // a character cut by the end of the file
      bytes("N\n", [0x80], "\n"), // a lone continuation byte
      bytes("N\n€𝄞é\r\r\n\n"), // all UTF-8
    ];
    const local = files.map((file) =>
      Array.from({ length: file.length + 1 }, (_, cut) => {
        const check = new Utf8Check();
        const first = new FirstBadByte();
        for (const part of [file.subarray(0, cut), file.subarray(cut)]) check.push(part), first.push(part);
        const bad = first.end();
        return { valid: check.end(), bad: bad && [bad.line, bad.offset, bad.byte] };
      }),
    );
    const cuts = files.map((f) => f.length + 1);
    const spark = (await python(
      `files = [bytes(b) for b in ${JSON.stringify(files.map((f) => [...f]))}]\n` +
        `print(json.dumps([[list(e.first_bad_byte([f[:cut], f[cut:]]) or []) or None for cut in range(len(f) + 1)] for f in files]))`,
    )) as Array<Array<number[] | null>>;
    for (const [i, file] of files.entries()) {
      for (let cut = 0; cut < cuts[i]; cut++) {
        expect(local[i][cut].valid, `file ${i} cut at ${cut}`).to.equal(isUtf8(file));
        expect(local[i][cut].bad ?? null, `file ${i} cut at ${cut}`).to.deep.equal(spark[i][cut]);
      }
    }
    expect(local.map((f) => f[0].bad ?? null)).to.deep.equal([[3, 8, 0xff], [4, 13, 0xe0], [4, 11, 0xed], [2, 2, 0xc0], [2, 2, 0xf4], [3, 6, 0xf0], [2, 2, 0x80], null]);
    const message = await python(`print(json.dumps(e.not_utf8_error("/d/x.csv", "sales", 4, 13, 0xe0)))`);
    expect(message).to.equal(notUtf8Error("/d/x.csv", "sales", { line: 4, offset: 13, byte: 0xe0 }));
  });

  it("parses --etl_inputs and names the bad field", async () => {
    const good = JSON.stringify([{ name: "sales", path: "s3://b/raw/sales/", format: "csv", schema: "sales.json" }, { name: "marketing", path: "s3://b/p/", format: "parquet" }]);
    expect(await python(`print(json.dumps([i.__dict__ for i in e.parse_inputs(${JSON.stringify(good)})]))`)).to.deep.equal([
      { name: "sales", path: "s3://b/raw/sales/", format: "csv", schema: "sales.json" },
      { name: "marketing", path: "s3://b/p/", format: "parquet", schema: null },
    ]);
    expect(await pythonError(`e.parse_inputs("not json")`)).to.include("--etl_inputs: invalid JSON");
    expect(await pythonError(`e.parse_inputs("[]")`)).to.include("non-empty");
    expect(await pythonError(`e.parse_inputs('[{"name": "Sales", "path": "p", "format": "csv", "schema": "s.json"}]')`)).to.include("--etl_inputs[0].name").and.include("'Sales'");
    expect(await pythonError(`e.parse_inputs('[{"name": "s", "path": "p", "format": "json"}]')`)).to.include("--etl_inputs[0].format").and.include("'json'");
    expect(await pythonError(`e.parse_inputs('[{"name": "s", "path": "p", "format": "csv"}]')`)).to.include("--etl_inputs[0].schema");
  });

  it("maps header positions by snake_case name and names every missing column and the file", async () => {
    const columns = [{ source: "Date", name: "date", type: "date" }, { source: "Mailing list adds ", name: "mailing_list_adds", type: "bigint" }, { source: "Events", name: "events", type: "string" }];
    expect(await python(`print(json.dumps(e.column_positions(["Events", "Mailing list adds", "Date"], ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")))`)).to.deep.equal({ date: 2, mailing_list_adds: 1, events: 0 });
    const error = await pythonError(`e.column_positions(["Date"], ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")`);
    expect(error).to.equal(`s3://b/raw/m/: input 'marketing' lacks required column(s) "Mailing list adds ", "Events" (header: ["Date"])`);
  });

  it("reads job arguments as --name value or --name=value, ignores Glue's own, and names the missing ones", async () => {
    const args = ["--JOB_NAME", "etl-dev-PSD", "--etl_inputs=[1]", "--job-bookmark-option", "job-bookmark-disable", "--etl_output", "s3://b/o/", "--etl_sql", "a.sql", "--flag"];
    expect(await python(`print(json.dumps(e.parse_job_arguments(${JSON.stringify(args)})))`)).to.deep.equal({
      JOB_NAME: "etl-dev-PSD",
      etl_inputs: "[1]",
      "job-bookmark-option": "job-bookmark-disable",
      etl_output: "s3://b/o/",
      etl_sql: "a.sql",
      flag: "",
    });
    expect(await pythonError(`e.parse_job_arguments(["--etl_sql", "a.sql", "--etl_output="])`)).to.include("--etl_inputs, --etl_output").and.not.include("--etl_sql,");
  });

  it("parses a header line as the local engine does, with the same messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etl-common-header-"));
    try {
      const lines = ['Date,"Lead, Name","say ""hi""",', "\ufeffDate,Events", '"Date,Events', 'Date,"Events"x', 'Da"te,Events', "  "];
      const files = lines.map((line, i) => {
        const file = join(dir, `${i}.csv`);
        writeFileSync(file, `${line}\r\n1,2\n`);
        return file;
      });
      // Every line in one Python process: its header, or its error message.
      const parsed = await python(
        `def header(line, file):\n    try:\n        return e.parse_header(line, file)\n    except ValueError as error:\n        return str(error)\nprint(json.dumps([header(l, f) for l, f in ${JSON.stringify(lines.map((line, i) => [line, files[i]]))}]))`,
      ) as unknown[];
      expect(parsed).to.have.length(lines.length);
      for (const [i, line] of lines.entries()) {
        const local = await readCsvHeader(files[i]).then((h) => h, (e: Error) => e.message);
        expect(parsed[i], line).to.deep.equal(local);
      }
      expect(await readCsvHeader(join(dir, "0.csv"))).to.deep.equal(["Date", "Lead, Name", 'say "hi"', ""]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("checks a schema's columns, naming the bad field", async () => {
    expect(await pythonError(`e.check_schema({"columns": [{"source": "A", "name": "a", "type": "int"}]}, "x.json")`)).to.include("x.json: columns[0].type").and.include("'int'");
    expect(await pythonError(`e.check_schema({"columns": [{"name": "a", "type": "bigint"}]}, "x.json")`)).to.include("columns[0].source is missing");
    expect(await pythonError(`e.check_schema({}, "x.json")`)).to.include("x.json");
  });

  describe("data-quality gate (the shared table test/fixtures/quality-gates.json)", () => {
    const FIXTURE = QUALITY_FIXTURE;

    it("check_quality gives every case's answer, and DataQualityError carries it", async () => {
      const results = await python(
        `cases = json.load(open(${JSON.stringify(FIXTURE)}))["cases"]\nout = []\nfor c in cases:\n    try:\n        e.enforce_quality(c["counts"], c["limits"])\n        raised = None\n    except e.DataQualityError as error:\n        raised = type(error).__name__ + ": " + str(error)\n    out.append({"name": c["name"], "error": e.check_quality(c["counts"], c["limits"]), "raised": raised})\nprint(json.dumps(out))`,
      ) as Array<{ name: string; error: string | null; raised: string | null }>;
      const cases = (JSON.parse(readFileSync(FIXTURE, "utf8")) as { cases: Array<{ name: string; error: string | null }> }).cases;
      expect(results.map((r) => r.name)).to.deep.equal(cases.map((c) => c.name));
      for (const [i, c] of cases.entries()) {
        expect(results[i].error, c.name).to.equal(c.error);
        // Glue reports an uncaught exception as "<class>: <message>", what the runner maps to DataQualityError.
        expect(results[i].raised, c.name).to.equal(c.error === null ? null : `DataQualityError: ${c.error}`);
      }
    });

    it("parses --etl_quality as the local engine does, for every job of the configuration", async () => {
      const config = loadConfig();
      for (const id of Object.keys(config.jobs)) {
        const text = jobArguments(config, id, "bucket")["--etl_quality"];
        expect(await python(`print(json.dumps(e.parse_quality(${JSON.stringify(text)})))`), id).to.deep.equal(parseQualityLimits(text));
      }
      expect(await python(`print(json.dumps(e.parse_quality(None)))`)).to.deep.equal(parseQualityLimits(undefined));
      expect(await pythonError(`e.parse_quality('{"inputs": {"sales": {"maxDroppedFraction": 2}}}')`)).to.include("inputs.sales.maxDroppedFraction");
      expect(await pythonError(`e.parse_quality('{"minOutputRows": -1}')`)).to.include("minOutputRows");
    });

    it("run_job checks the gate before it writes the output", () => {
      const source = readFileSync(join(SCRIPTS_DIR, "etl_common.py"), "utf8");
      const runJob = source.slice(source.indexOf("def run_job("), source.indexOf("def output_nulls("));
      expect(runJob.indexOf("enforce_quality(counts, limits)")).to.be.greaterThan(0).and.below(runJob.indexOf("result.write"));
    });
  });

  it("reads the header line as written (quoted fields, a byte order mark), not Spark's deduplicated names", async () => {
    expect(await python(`print(json.dumps(e.parse_header('\\ufeffDate,"Lead, Name",Date,"say ""hi"""', "p")))`)).to.deep.equal(["Date", "Lead, Name", "Date", 'say "hi"']);
    const source = readFileSync(join(SCRIPTS_DIR, "etl_common.py"), "utf8");
    const registerCsv = source.slice(source.indexOf("def register_csv("), source.indexOf("def run_job("));
    expect(registerCsv).to.include("first_line(spark, path)").and.include("parse_header(line").and.not.include(".columns");
  });

  it("refuses a required column named twice, with the local engine's message, and a binary header without its bytes", async () => {
    const columns = [{ source: "Date", name: "date", type: "date" }, { source: "Events", name: "events", type: "string" }];
    const header = ["Date", "Events", "Other", "other", " date "];
    const error = await pythonError(`e.column_positions(${JSON.stringify(header)}, ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")`);
    expect(error).to.equal(duplicateColumnError(header, columns, "marketing", "s3://b/raw/m/"));
    expect(error).to.include("'date' twice, at positions 1 and 5");
    // Columns outside the schema may repeat.
    expect(await python(`print(json.dumps(e.column_positions(["Date", "x", "x", "Events"], ${JSON.stringify(columns)}, "m", "p")))`)).to.deep.equal({ date: 0, events: 3 });
    const binary = await pythonError(`e.column_positions(["\\x1f\\ufffd\\x08\\x00", "Date"], ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")`);
    expect(binary).to.include("s3://b/raw/m/").and.include("not CSV text").and.not.include("\x1f");
  });
});
