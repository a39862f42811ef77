// etl_common.py cannot run Spark here; these tests compile every script and run its pure helpers with python3,
// and pin that its parsing rules are the local engine's.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { snakeCase } from "../../local/csv";
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

  it("reads plain spark-submit arguments (EMR Serverless): the job spec's pairs plus the runner's, naming what is missing", () => {
    const argv = ["--etl_inputs", "[]", "--etl_sql", "j.sql", "--etl_output", "s3://b/staging/j/t/", "--etl_task_id", "t"];
    expect(python(`print(json.dumps(e.parse_job_arguments(${JSON.stringify(argv)})))`)).to.deep.equal({ etl_inputs: "[]", etl_sql: "j.sql", etl_output: "s3://b/staging/j/t/", etl_task_id: "t" });
    expect(pythonError(`e.parse_job_arguments(["--etl_inputs", "[]", "--etl_sql"])`)).to.match(/expected --name value pairs/);
    expect(pythonError(`e.parse_job_arguments(["--etl_inputs", "[]"])`)).to.equal("job arguments: missing --etl_output, --etl_sql");
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
    expect(error).to.include("s3://b/raw/m/").and.include("'marketing'").and.include("'Mailing list adds '").and.include("'Events'");
  });

  it("checks a schema's columns, naming the bad field", () => {
    expect(pythonError(`e.check_schema({"columns": [{"source": "A", "name": "a", "type": "int"}]}, "x.json")`)).to.include("x.json: columns[0].type").and.include("'int'");
    expect(pythonError(`e.check_schema({"columns": [{"name": "a", "type": "bigint"}]}, "x.json")`)).to.include("columns[0].source is missing");
    expect(pythonError(`e.check_schema({}, "x.json")`)).to.include("x.json");
  });
});
