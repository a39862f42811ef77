// These tests compile every script and run etl_common.py's pure helpers with plain python3 (no pyspark), and pin
// that its parsing rules are the local engine's. npm run test:spark runs the jobs themselves on Spark.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { readCsvHeader, snakeCase } from "../../local/csv";
import { unclosedQuoteLines, VALUE_PATTERNS } from "../../local/etl-engine";

const SCRIPTS_DIR = join(__dirname, "..", "..", "glue-scripts");

/** Runs Python code with etl_common importable; returns its stdout parsed as JSON. */
function python(code: string): unknown {
  const out = execFileSync("python3", ["-c", `import json, sys\nsys.path.insert(0, ${JSON.stringify(SCRIPTS_DIR)})\nimport etl_common as e\n${code}`], {
    encoding: "utf8",
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    stdio: "pipe",
  });
  return JSON.parse(out);
}

/** Python's error message for a call expected to raise ValueError. */
function pythonError(call: string): string {
  return python(`try:\n    ${call}\n    print(json.dumps(None))\nexcept ValueError as error:\n    print(json.dumps(str(error)))`) as string;
}

describe("glue-scripts/etl_common.py", () => {
  it("every script compiles as Python 3", () => {
    const scripts = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".py"));
    expect(scripts).to.include.members(["etl_common.py", "process_sales_data.py", "process_marketing_data.py", "join_marketing_and_sales_data.py"]);
    const compile = `import ast\nfor name in ${JSON.stringify(scripts)}:\n    ast.parse(open(${JSON.stringify(SCRIPTS_DIR)} + "/" + name).read(), name, feature_version=(3, 11))\nprint("true")`;
    expect(python(compile)).to.equal(true);
    expect(() => python(`ast = __import__("ast")\nast.parse("def f(:\\n pass")\nprint("true")`)).to.throw();
  });

  it("names columns as the local engine does", () => {
    const names = ["Mailing list adds ", "  New   visitors\tSEO", "Date", "Forecasted Monthly Revenue"];
    expect(python(`print(json.dumps([e.snake_case(n) for n in ${JSON.stringify(names)}]))`)).to.deep.equal(names.map(snakeCase));
    expect(names.map(snakeCase)).to.deep.equal(["mailing_list_adds", "new_visitors_seo", "date", "forecasted_monthly_revenue"]);
  });

  it("uses the local engine's value patterns", () => {
    const patterns = python(`print(json.dumps({"date": e.DATE_PATTERN, "bigint": e.BIGINT_PATTERN, "double": e.DOUBLE_PATTERN}))`);
    expect(patterns).to.deep.equal(Object.fromEntries(Object.entries(VALUE_PATTERNS).map(([k, v]) => [k, `^${v}$`])));
  });

  it("drops the same lines with an unclosed quote as the local engine, and reads records line by line", () => {
    const lines = ['a,b,"unterminated', 'a,"b, c",d', 'a,"say ""hi""",c', '"', '""', 'a,b"c', "plain", "", 'a,"""', 'x,"y"z"'];
    const python_ = python(`print(json.dumps([e.unclosed_quote(l) for l in ${JSON.stringify(lines)}]))`) as boolean[];
    const local = new Set(unclosedQuoteLines(Buffer.from(lines.join("\n"))).map((r) => r.line - 1));
    expect(python_).to.deep.equal(lines.map((_, i) => local.has(i)));
    expect(python_).to.deep.equal([true, false, false, true, false, true, false, false, true, true]);
    const source = readFileSync(join(SCRIPTS_DIR, "etl_common.py"), "utf8");
    expect(source).to.include('.option("multiLine", False)').and.include("quotes % 2 == 1");
  });

  it("parses --etl_inputs and names the bad field", () => {
    const good = JSON.stringify([{ name: "sales", path: "s3://b/raw/sales/", format: "csv", schema: "sales.json" }, { name: "marketing", path: "s3://b/p/", format: "parquet" }]);
    expect(python(`print(json.dumps([i.__dict__ for i in e.parse_inputs(${JSON.stringify(good)})]))`)).to.deep.equal([
      { name: "sales", path: "s3://b/raw/sales/", format: "csv", schema: "sales.json" },
      { name: "marketing", path: "s3://b/p/", format: "parquet", schema: null },
    ]);
    expect(pythonError(`e.parse_inputs("not json")`)).to.include("--etl_inputs: invalid JSON");
    expect(pythonError(`e.parse_inputs("[]")`)).to.include("non-empty");
    expect(pythonError(`e.parse_inputs('[{"name": "Sales", "path": "p", "format": "csv", "schema": "s.json"}]')`)).to.include("--etl_inputs[0].name").and.include("'Sales'");
    expect(pythonError(`e.parse_inputs('[{"name": "s", "path": "p", "format": "json"}]')`)).to.include("--etl_inputs[0].format").and.include("'json'");
    expect(pythonError(`e.parse_inputs('[{"name": "s", "path": "p", "format": "csv"}]')`)).to.include("--etl_inputs[0].schema");
  });

  it("maps header positions by snake_case name and names every missing column and the file", () => {
    const columns = [{ source: "Date", name: "date", type: "date" }, { source: "Mailing list adds ", name: "mailing_list_adds", type: "bigint" }, { source: "Events", name: "events", type: "string" }];
    expect(python(`print(json.dumps(e.column_positions(["Events", "Mailing list adds", "Date"], ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")))`)).to.deep.equal({ date: 2, mailing_list_adds: 1, events: 0 });
    const error = pythonError(`e.column_positions(["Date"], ${JSON.stringify(columns)}, "marketing", "s3://b/raw/m/")`);
    expect(error).to.equal(`s3://b/raw/m/: input 'marketing' lacks required column(s) "Mailing list adds ", "Events" (header: ["Date"])`);
  });

  it("reads job arguments as --name value or --name=value, ignores Glue's own, and names the missing ones", () => {
    const args = ["--JOB_NAME", "etl-dev-PSD", "--etl_inputs=[1]", "--job-bookmark-option", "job-bookmark-disable", "--etl_output", "s3://b/o/", "--etl_sql", "a.sql", "--flag"];
    expect(python(`print(json.dumps(e.parse_job_arguments(${JSON.stringify(args)})))`)).to.deep.equal({
      JOB_NAME: "etl-dev-PSD",
      etl_inputs: "[1]",
      "job-bookmark-option": "job-bookmark-disable",
      etl_output: "s3://b/o/",
      etl_sql: "a.sql",
      flag: "",
    });
    expect(pythonError(`e.parse_job_arguments(["--etl_sql", "a.sql", "--etl_output="])`)).to.include("--etl_inputs, --etl_output").and.not.include("--etl_sql,");
  });

  it("parses a header line as the local engine does, with the same messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etl-common-header-"));
    try {
      const lines = ['Date,"Lead, Name","say ""hi""",', "\ufeffDate,Events", '"Date,Events', 'Date,"Events"x', 'Da"te,Events', "  "];
      for (const [i, line] of lines.entries()) {
        const file = join(dir, `${i}.csv`);
        writeFileSync(file, `${line}\r\n1,2\n`);
        const local = await readCsvHeader(file).then((h) => h, (e: Error) => e.message);
        const call = `e.parse_header(${JSON.stringify(line)}, ${JSON.stringify(file)})`;
        expect(python(`try:\n    print(json.dumps(${call}))\nexcept ValueError as error:\n    print(json.dumps(str(error)))`), line).to.deep.equal(local);
      }
      expect(await readCsvHeader(join(dir, "0.csv"))).to.deep.equal(["Date", "Lead, Name", 'say "hi"', ""]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("checks a schema's columns, naming the bad field", () => {
    expect(pythonError(`e.check_schema({"columns": [{"source": "A", "name": "a", "type": "int"}]}, "x.json")`)).to.include("x.json: columns[0].type").and.include("'int'");
    expect(pythonError(`e.check_schema({"columns": [{"name": "a", "type": "bigint"}]}, "x.json")`)).to.include("columns[0].source is missing");
    expect(pythonError(`e.check_schema({}, "x.json")`)).to.include("x.json");
  });
});
