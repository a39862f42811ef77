// The workflow and the catalog schemas against the configuration (asl/consistency.ts). The mechanism tests read
// the active configuration (ETL_CONFIG) and the three-datasets fixture, and miscopy their branches.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { catalogCheckKey, checkCatalogSchemas, checkWorkflowConsistency, compareColumns, loadWorkflow } from "../../asl/consistency";
import { AslError, allStates, loadStateMachine } from "../../asl/loader";
import { workflowPlaceholders } from "../../asl/placeholders";
import { ConfigError, DEFAULT_CONFIG_FILE, definitionPath, parseConfig, PROJECT_ROOT, schemaPath, scriptsDir, sqlPath, type EtlConfig } from "../../core/config";
import { localWorkflowArns } from "../../local/arns";
import { InputError, runLocalWorkflow } from "../../local/runtime";
import { buildAppCheaply, FIXTURE_CONFIG } from "../stacks/synth";

const ACTIVE_CONFIG = process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE;

/** A configuration file with `change` applied to its raw JSON; `rootDir` other than the file's keeps its scripts. */
function configFrom(file: string, change: (raw: any) => void = () => undefined, rootDir = dirname(file)): EtlConfig {
  const raw = JSON.parse(readFileSync(file, "utf8"));
  if (rootDir !== dirname(file)) raw.scriptsDir = join(dirname(file), raw.scriptsDir ?? "glue-scripts");
  change(raw);
  return parseConfig(raw, { source: file, rootDir, environment: file === ACTIVE_CONFIG ? process.env.ETL_ENV || undefined : undefined });
}

type Raw = { States: Record<string, any> };
const rawDefinition = (config: EtlConfig): Raw => JSON.parse(readFileSync(definitionPath(config), "utf8"));
const waitTaskOf = (raw: Raw, dataset: string) => allStates(raw as Record<string, unknown>).find(([, s]) => s.Resource === `\${WaitActivityArn.${dataset}}`)!;
const runnerTaskOf = (raw: Raw, job: string) => allStates(raw as Record<string, unknown>).find(([, s]) => s.Parameters?.JobName === `\${JobName.${job}}`)!;
/** Puts a kick (an events:putEvents state, as older workflows had) right before `state`; returns its name. */
function addKickBefore(raw: Raw, state: string, detailType: "WaitTaskScheduled" | "RunnerTaskScheduled", detail: Record<string, string>): string {
  const containers: Array<{ StartAt?: string; States: Record<string, any> }> = [raw];
  for (const [, s] of allStates(raw as Record<string, unknown>)) containers.push(...(s.Branches ?? []));
  const owner = containers.find((c) => c.States[state])!;
  const kick = `Kick${state}`;
  for (const s of Object.values(owner.States)) if (s.Next === state) s.Next = kick;
  if (owner.StartAt === state) owner.StartAt = kick;
  owner.States[kick] = {
    Type: "Task",
    Resource: "arn:aws:states:::events:putEvents",
    Parameters: { Entries: [{ Source: "${EventSource}", DetailType: detailType, Detail: { ...detail, "executionArn.$": "$$.Execution.Id" } }] },
    ResultPath: null,
    Next: state,
  };
  return kick;
}

describe("asl/consistency: the workflow against the configuration", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "etl-consistency-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Checks `raw` (an ASL definition with placeholders) against `config`; returns the error message, or "" when it passes. */
  function problems(config: EtlConfig, raw: Raw): string {
    const file = join(mkdtempSync(join(dir, "asl-")), "workflow.asl.json");
    writeFileSync(file, JSON.stringify(raw, null, 2));
    const values = workflowPlaceholders(config, localWorkflowArns(config));
    try {
      checkWorkflowConsistency(config, loadStateMachine(file, values), values);
      return "";
    } catch (e) {
      expect(e).to.be.instanceOf(AslError);
      return (e as Error).message;
    }
  }

  for (const [label, file] of [
    ["the active configuration", ACTIVE_CONFIG],
    ["the three-datasets fixture", FIXTURE_CONFIG],
  ] as const) {
    describe(label, () => {
      const config = configFrom(file);
      const datasets = Object.keys(config.datasets);
      const jobs = Object.keys(config.jobs);

      it("passes as shipped", () => {
        expect(problems(config, rawDefinition(config))).to.equal("");
        expect(() => loadWorkflow(config, localWorkflowArns(config))).not.to.throw();
      });

      it("names the state and field of a wait task whose dataset parameter names another dataset", () => {
        const raw = rawDefinition(config);
        const [name, wait] = waitTaskOf(raw, datasets.at(-1)!);
        const other = datasets.length > 1 ? datasets[0] : "someone_else";
        wait.Parameters.dataset = other;
        expect(problems(config, raw)).to.include(
          `state '${name}', Parameters.dataset: is "${other}", but its Resource is \${WaitActivityArn.${datasets.at(-1)}}: expected "${datasets.at(-1)}"`,
        );
      });

      it("has no kicks as shipped, and still accepts a kick that names the task right after it", () => {
        const raw = rawDefinition(config);
        expect(allStates(raw as Record<string, unknown>).filter(([, s]) => s.Resource === "arn:aws:states:::events:putEvents")).to.deep.equal([]);
        addKickBefore(raw, waitTaskOf(raw, datasets[0])[0], "WaitTaskScheduled", { dataset: datasets[0] });
        addKickBefore(raw, runnerTaskOf(raw, jobs[0])[0], "RunnerTaskScheduled", { job: jobs[0] });
        expect(problems(config, raw)).to.equal("");
      });

      it("names a kick whose Detail.dataset is not the dataset of the wait task it precedes", () => {
        const raw = rawDefinition(config);
        const dataset = datasets.at(-1)!;
        const [waitName] = waitTaskOf(raw, dataset);
        const other = datasets.find((d) => d !== dataset);
        const kickName = addKickBefore(raw, waitName, "WaitTaskScheduled", { dataset: other ?? "not_configured" });
        const message = problems(config, raw);
        if (other) {
          expect(message).to.include(`state '${kickName}', Parameters.Entries[0].Detail.dataset: names dataset "${other}", but the next state '${waitName}' is the wait task of dataset "${dataset}"`);
        } else {
          expect(message).to.include(`state '${kickName}', Parameters.Entries[0].Detail.dataset: "not_configured" is not a configured dataset`);
        }
      });

      it("names a kick whose Detail.job is not the job of the runner task it precedes", () => {
        const raw = rawDefinition(config);
        const job = jobs.at(-1)!;
        const [runnerName] = runnerTaskOf(raw, job);
        const other = jobs.find((j) => j !== job);
        const kickName = addKickBefore(raw, runnerName, "RunnerTaskScheduled", { job: other ?? "NOPE" });
        const message = problems(config, raw);
        if (other) {
          expect(message).to.include(`state '${kickName}', Parameters.Entries[0].Detail.job: names job "${other}", but the next state '${runnerName}' is the runner task of job "${job}"`);
        } else {
          expect(message).to.include(`state '${kickName}', Parameters.Entries[0].Detail.job: "NOPE" is not a configured job`);
        }
      });

      it("names a kick that names a dataset or job the configuration does not have", () => {
        const raw = rawDefinition(config);
        const kickName = addKickBefore(raw, runnerTaskOf(raw, jobs[0])[0], "RunnerTaskScheduled", { job: "NOPE" });
        expect(problems(config, raw)).to.include(`state '${kickName}', Parameters.Entries[0].Detail.job: "NOPE" is not a configured job; known: ${jobs.join(", ")}`);
      });

      it("refuses a runner task whose JobName is not a job placeholder, naming the state", () => {
        const raw = rawDefinition(config);
        const [name, runner] = runnerTaskOf(raw, jobs[0]);
        runner.Parameters.JobName = "etl-dev-SOMETHING";
        let message = problems(config, raw);
        expect(message).to.include(`state '${name}', Parameters.JobName: is "etl-dev-SOMETHING"; a runner task names its job with one of \${JobName.${jobs[0]}}`);
        expect(message).to.include(`job '${jobs[0]}': no runner task`);
        delete runner.Parameters.JobName;
        runner.Parameters["JobName.$"] = "$.job";
        message = problems(config, raw);
        expect(message).to.include(`state '${name}', Parameters.JobName: is the path "$.job" (not a literal)`);
      });

      it("refuses two wait tasks on one dataset's activity (a copied branch still pointing at the original's)", () => {
        const raw = rawDefinition(config);
        const [first, last] = [datasets[0], datasets.at(-1)!];
        const [firstName] = waitTaskOf(raw, first);
        const [lastName, wait] = waitTaskOf(raw, last);
        wait.Resource = `\${WaitActivityArn.${first}}`;
        wait.Parameters.dataset = first;
        const message = problems(config, raw);
        if (first === last) {
          expect(message).to.equal("");
          return;
        }
        expect(message).to.include(`dataset '${first}': 2 Task states have Resource \${WaitActivityArn.${first}} ('${firstName}', '${lastName}')`);
        expect(message).to.include(`dataset '${last}': no Task state has Resource \${WaitActivityArn.${last}}`);
      });

      it("refuses a configured dataset and a configured job that no task uses (activities nothing would poll)", () => {
        const template = configFrom(file);
        const firstDataset = template.datasets[datasets[0]];
        const extended = configFrom(file, (raw) => {
          raw.datasets.unused_data = { prefix: `${template.dataLake.rawPrefix}unused-data/`, schema: firstDataset.schema };
          raw.jobs.UNUSED = { script: template.jobs[jobs[0]].script, inputs: [{ name: "unused_data", dataset: "unused_data" }], output: "processed/unused/" };
        });
        const message = problems(extended, rawDefinition(extended));
        expect(message).to.include("dataset 'unused_data': no Task state has Resource ${WaitActivityArn.unused_data}, so nothing would wait for its uploads and its activity would never be polled");
        expect(message).to.include("job 'UNUSED': no runner task (Resource ${RunnerActivityArn}) has Parameters.JobName ${JobName.UNUSED}, nor does a glue:startJobRun task name it, so the job would never run");
      });

      it("counts a glue:startJobRun task as running its job (no runner task needed), only for a job on Glue", () => {
        const glueJob = jobs.find((j) => config.jobs[j].engine === "glue");
        if (!glueJob) return;
        const raw = rawDefinition(config);
        const [runner, task] = runnerTaskOf(raw, glueJob);
        task.Resource = "arn:aws:states:::glue:startJobRun.sync";
        expect(problems(config, raw)).to.equal("");
        const otherEngine = configFrom(file, (r) => (r.jobs[glueJob].engine = "athena"));
        expect(problems(otherEngine, raw)).to.include(`state '${runner}', Parameters.JobName: \${JobName.${glueJob}} runs on athena, so it has no Glue job to start`);
      });
    });
  }

  describe("a miscopied fixture branch fails the synth and a local run, naming the state", () => {
    let config: EtlConfig;
    let waitName: string;
    before(() => {
      const fixture = configFrom(FIXTURE_CONFIG);
      const raw = rawDefinition(fixture);
      const datasets = Object.keys(fixture.datasets);
      const [name, wait] = waitTaskOf(raw, datasets.at(-1)!);
      waitName = name;
      wait.Parameters.dataset = datasets[0];
      const root = mkdtempSync(join(dir, "miscopied-"));
      const definition = join(root, fixture.stateMachine.definition);
      mkdirSync(dirname(definition), { recursive: true });
      writeFileSync(definition, JSON.stringify(raw, null, 2));
      config = configFrom(FIXTURE_CONFIG, () => undefined, root);
    });

    it("cdktf synth (the state machine stack)", () => {
      expect(() => buildAppCheaply(config, join(dir, "cdktf.out"))).to.throw(AslError, `state '${waitName}', Parameters.dataset`);
    });

    it("npm start (the local runtime), before any input is read or server started", async () => {
      const events: string[] = [];
      const inputs = { [Object.keys(config.datasets)[0]]: join(dir, "absent.csv") };
      const error = await runLocalWorkflow({ config, inputs, outDir: join(dir, "out"), onProgress: (e) => events.push(e.type) }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(events).to.deep.equal([]);
      expect(error).to.be.instanceOf(InputError);
      expect(error!.message).to.include(`state '${waitName}', Parameters.dataset`);
    });
  });
});

describe("asl/consistency: catalog schemas against the jobs' SQL", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "etl-catalog-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The fixture with its scripts folder copied, so its SQL and schemas can be changed. */
  function fixtureCopy(): EtlConfig {
    const root = mkdtempSync(join(dir, "fixture-"));
    const source = configFrom(FIXTURE_CONFIG);
    cpSync(scriptsDir(source), join(root, "glue-scripts"), { recursive: true });
    cpSync(dirname(definitionPath(source)), join(root, "asl"), { recursive: true });
    return parseConfig(JSON.parse(readFileSync(FIXTURE_CONFIG, "utf8")), { source: "fixture copy", rootDir: root });
  }
  const failure = async (config: EtlConfig) => {
    const error = await checkCatalogSchemas(config).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error, "expected the check to fail").to.be.instanceOf(ConfigError);
    return error!.message;
  };
  const catalogJob = (config: EtlConfig) => Object.entries(config.jobs).find(([, j]) => j.catalogSchema)!;

  it("passes for the active configuration and the fixture (derived afresh, not from the build cache)", async () => {
    const cache = process.env.ETL_BUILD_CACHE;
    process.env.ETL_BUILD_CACHE = "off";
    try {
      await checkCatalogSchemas(configFrom(ACTIVE_CONFIG));
      await checkCatalogSchemas(configFrom(FIXTURE_CONFIG));
    } finally {
      if (cache === undefined) delete process.env.ETL_BUILD_CACHE;
      else process.env.ETL_BUILD_CACHE = cache;
    }
  });

  it("remembers a configuration that passed, and checks again once a SQL or schema file changes", async () => {
    const config = fixtureCopy();
    await checkCatalogSchemas(config);
    const [, job] = catalogJob(config);
    const file = schemaPath(config, job.catalogSchema!);
    const schema = JSON.parse(readFileSync(file, "utf8"));
    schema.columns.push({ name: "added_later", type: "bigint" });
    writeFileSync(file, JSON.stringify(schema));
    expect(await failure(config)).to.include("missing column(s) added_later");
  });

  it("remembers it once for every copy of the same files (a test's copy of the project adds no entry), not for a changed one", () => {
    const copy = fixtureCopy();
    expect(catalogCheckKey(copy)).to.equal(catalogCheckKey(configFrom(FIXTURE_CONFIG)));
    const [, job] = catalogJob(copy);
    writeFileSync(sqlPath(copy, job), `${readFileSync(sqlPath(copy, job), "utf8")}\n-- edited\n`);
    expect(catalogCheckKey(copy)).to.not.equal(catalogCheckKey(configFrom(FIXTURE_CONFIG)));
  });

  it("checks again once the configuration changes, every file unchanged: an input renamed its SQL does not name", async () => {
    const config = fixtureCopy();
    await checkCatalogSchemas(config); // passes, and is remembered
    const [id, job] = Object.entries(config.jobs)[0];
    const raw = JSON.parse(readFileSync(FIXTURE_CONFIG, "utf8"));
    raw.jobs[id].inputs[0].name = `${job.inputs[0].name}_renamed`;
    const renamed = parseConfig(raw, { source: "fixture copy", rootDir: config.rootDir });
    expect(await failure(renamed)).to.include(`jobs.${id}: its SQL`).and.to.include(job.inputs[0].name);
  });

  it("keys a pass by the check's own code too: a stricter check does not find the older one's pass", () => {
    const config = configFrom(FIXTURE_CONFIG);
    const code = readFileSync(join(PROJECT_ROOT, "asl", "consistency.ts"));
    expect(catalogCheckKey(config)).to.equal(catalogCheckKey(config, code));
    expect(catalogCheckKey(config, `${code}\n// stricter\n`)).to.not.equal(catalogCheckKey(config));
  });

  it("names the missing and the extra columns of a stale catalog schema", async () => {
    const config = fixtureCopy();
    const [id, job] = catalogJob(config);
    const file = schemaPath(config, job.catalogSchema!);
    const schema = JSON.parse(readFileSync(file, "utf8"));
    const dropped = schema.columns.pop().name;
    schema.columns.push({ name: "no_such_output", type: "bigint" });
    writeFileSync(file, JSON.stringify(schema));
    const message = await failure(config);
    expect(message).to.include(`jobs.${id}.catalogSchema:`);
    expect(message).to.include("missing column(s) no_such_output (in the catalog schema, not in the output)");
    expect(message).to.include(`extra column(s) ${dropped} (in the output, not in the catalog schema)`);
  });

  it("follows a column through an upstream job's SQL: a column a join gains is an extra column of its catalog schema", async () => {
    const config = fixtureCopy();
    const [id, job] = Object.entries(config.jobs).find(([, j]) => j.catalogSchema && j.inputs.some((i) => i.job))!;
    const upstream = job.inputs.find((i) => i.job)!;
    const upstreamSql = sqlPath(config, config.jobs[upstream.job!]);
    // The upstream job gains a column; a join selecting * would pass it on, one naming its columns not.
    const sql = readFileSync(sqlPath(config, job), "utf8");
    writeFileSync(sqlPath(config, job), sql.replace(/^SELECT /m, "SELECT gained_column, "));
    writeFileSync(upstreamSql, readFileSync(upstreamSql, "utf8").replace(/^SELECT /m, "SELECT 1 AS gained_column, "));
    const message = await failure(config);
    expect(message).to.include(`jobs.${id}.catalogSchema:`);
    expect(message).to.include("extra column(s) gained_column");
  });

  it("names a column whose type differs from the catalog schema", async () => {
    const config = fixtureCopy();
    const [id, job] = catalogJob(config);
    const file = schemaPath(config, job.catalogSchema!);
    const schema = JSON.parse(readFileSync(file, "utf8"));
    const column = schema.columns.find((c: { type: string }) => c.type === "bigint");
    column.type = "string";
    writeFileSync(file, JSON.stringify(schema));
    expect(await failure(config)).to.include(`jobs.${id}.catalogSchema:`).and.to.match(new RegExp(`column ${column.name}: the catalog schema says string, the output has (BIGINT|HUGEINT)`));
  });

  it("names the job and SQL file whose SQL does not run on its inputs' columns", async () => {
    const config = fixtureCopy();
    const [id, job] = Object.entries(config.jobs)[0];
    writeFileSync(sqlPath(config, job), "SELECT no_such_column FROM " + job.inputs[0].name);
    const message = await failure(config);
    expect(message).to.include(`jobs.${id}: its SQL`).and.to.include("does not run on its inputs' columns").and.to.include("no_such_column");
  });

  it("npm start (the local runtime) refuses a stale catalog schema before any server starts, naming the columns", async () => {
    const config = fixtureCopy();
    const [id, job] = catalogJob(config);
    const file = schemaPath(config, job.catalogSchema!);
    const schema = JSON.parse(readFileSync(file, "utf8"));
    schema.columns.push({ name: "stale_column", type: "double" });
    writeFileSync(file, JSON.stringify(schema));
    const events: string[] = [];
    const error = await runLocalWorkflow({ config, outDir: join(dir, "out"), onProgress: (e) => events.push(e.type) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(events).to.deep.equal([]);
    expect(error).to.be.instanceOf(InputError);
    expect(error!.message).to.include(`jobs.${id}.catalogSchema:`).and.include("missing column(s) stale_column");
  });

  it("compareColumns: integer and decimal results count as bigint and double; other types are named", () => {
    const expected = [
      { name: "n", type: "bigint" },
      { name: "x", type: "double" },
      { name: "t", type: "string" },
    ];
    expect(compareColumns(expected, [{ name: "n", type: "HUGEINT" }, { name: "x", type: "DECIMAL(18,3)" }, { name: "t", type: "VARCHAR" }])).to.deep.equal([]);
    expect(compareColumns(expected, [{ name: "n", type: "TIMESTAMP" }, { name: "x", type: "DOUBLE" }, { name: "u", type: "VARCHAR" }])).to.deep.equal([
      "missing column(s) t (in the catalog schema, not in the output)",
      "extra column(s) u (in the output, not in the catalog schema)",
      "column n: the catalog schema says bigint, the output has TIMESTAMP",
    ]);
  });
});
