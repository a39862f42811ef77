import { expect } from "chai";
import { bindCountsAsExecuted, bindRawRows, boundRawRows, rawFilePositions, rawRows, type AthenaRawInput, type RawFile } from "../../core/athena-inputs";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { athenaCountsQuery, athenaQuery, athenaRawInputs } from "../../core/athena-query";
import { loadConfig } from "../../core/config";
import { duplicateColumnError } from "../../core/csv-header";
import { escapeRegExp } from "../../core/regex";
import { workflowShape } from "../support/workflow";

const config = loadConfig();
const shape = workflowShape(config);
// Every job that reads a raw dataset: the statements are generated the same way whatever its engine.
const jobs = shape.datasetJobs;
const BUCKET = "data-lake-test";

/** A file of `raw` whose header lists the columns in `order` (indexes into the table's columns). */
const fileIn = (raw: AthenaRawInput, name: string, order: number[]): RawFile => ({ uri: `${raw.uri}${name}`, positions: raw.columns.map((_, j) => order.indexOf(j)) });
const headerOf = (raw: AthenaRawInput, order: number[]) => order.map((j) => raw.columns[j].source);

describe("core/athena-inputs", () => {
  it("the generated statements read each raw table through its unbound rows expression, which the runner replaces", () => {
    for (const job of jobs)
      for (const raw of athenaRawInputs(config, job, BUCKET)) {
        expect(athenaQuery(config, job)).to.include(rawRows(raw));
        // Twice in the counts statement: the lines read, and the view.
        expect(athenaCountsQuery(config, job).split(rawRows(raw)).length - 1).to.equal(2);
        expect(raw.uri).to.equal(`s3://${BUCKET}/${config.datasets[config.jobs[job].inputs.find((i) => i.name === raw.input)!.dataset!].prefix}`);
      }
  });

  it("a file's header gives each column's field; a required column named twice or missing, or another width, is refused naming the file", () => {
    for (const raw of jobs.flatMap((job) => athenaRawInputs(config, job, BUCKET))) {
      const n = raw.columns.length;
      const identity = raw.columns.map((_, j) => j);
      const reversed = [...identity].reverse();
      const path = `${raw.uri}part-1.csv`;
      expect(rawFilePositions(raw, headerOf(raw, identity), path)).to.deep.equal(identity);
      // Reversed and re-spelled (case, spaces): matched by snake_case, as the other engines match headers.
      const spelled = headerOf(raw, reversed).map((h) => ` ${h.toUpperCase()} `);
      expect(rawFilePositions(raw, spelled, path)).to.deep.equal(reversed);

      const twice = [...headerOf(raw, identity).slice(0, n - 1), raw.columns[0].source.toUpperCase()];
      const duplicate = duplicateColumnError(twice, raw.columns, raw.input, path)!;
      expect(duplicate).to.include(`at positions 1 and ${n}`).and.include(path);
      expect(() => rawFilePositions(raw, twice, path)).to.throw(duplicate);

      if (n > 1) {
        const missing = headerOf(raw, identity).slice(1);
        expect(() => rawFilePositions(raw, missing, path)).to.throw(`${path}: input '${raw.input}' lacks required column(s) ${JSON.stringify(raw.columns[0].source)}`);
      }
      const wider = [...headerOf(raw, identity), "Notes"];
      expect(() => rawFilePositions(raw, wider, path)).to.throw(new RegExp(`^${escapeRegExp(path)}: input '${raw.input}': the header has ${n + 1} columns, the schema ${n}: on Athena every file of table ${raw.table} holds exactly the schema's columns, in any order .*; remove column\\(s\\) "Notes"$`));
    }
  });

  it("binds the rows to the run's files: one column order reads by its positions, several choose each row's order by its \"$path\"", () => {
    const [job] = jobs;
    const [raw] = athenaRawInputs(config, job, BUCKET);
    const identity = raw.columns.map((_, j) => j);
    const reversed = [...identity].reverse();
    const statement = athenaQuery(config, job);

    const one = bindRawRows(statement, [raw], { [raw.table]: [fileIn(raw, "a.csv", identity), fileIn(raw, "b.csv.gz", identity)] });
    expect(one).to.not.include(rawRows(raw));
    expect(one).to.include(`FROM "${raw.database}"."${raw.table}" WHERE "$path" IN ('${raw.uri}a.csv', '${raw.uri}b.csv.gz'))`);
    expect(one).to.not.include("CASE \"$path\"");

    const mixedFiles = [fileIn(raw, "a.csv", identity), fileIn(raw, "part/b.csv", reversed), fileIn(raw, "c.csv", identity), fileIn(raw, "part/d.csv", reversed), fileIn(raw, "part/e.csv", reversed)];
    const mixed = bindRawRows(statement, [raw], { [raw.table]: mixedFiles });
    // The table's scan keeps only the files checked, at its top level (Athena prunes the folder's other files by it);
    // one WHEN per column order but the largest (order 1, three files), whose files are the ELSE.
    const table = `"${raw.database}"."${raw.table}"`;
    const all = mixedFiles.map((f) => `'${f.uri}'`).join(", ");
    expect(mixed).to.include(`CASE WHEN "$path" IN ('${raw.uri}a.csv', '${raw.uri}c.csv') THEN 0 ELSE 1 END AS "etl_column_order" FROM ${table} WHERE "$path" IN (${all})))`);
    expect(mixed).to.not.include(`"etl_column_order" IS NOT NULL`);
    // Each file of the ELSE order named once, the others twice.
    for (const file of mixedFiles) expect(mixed.split(`'${file.uri}'`).length - 1, file.uri).to.equal(file.uri.includes("part/") ? 1 : 2);
    // Three orders, two of one file each: the first of the largest is the ELSE, the others chosen in order.
    const three = bindRawRows(statement, [raw], { [raw.table]: [fileIn(raw, "a.csv", identity), fileIn(raw, "b.csv", reversed), fileIn(raw, "c.csv", reversed), ...(raw.columns.length > 2 ? [fileIn(raw, "d.csv", [1, 0, ...identity.slice(2)])] : [])] });
    expect(three).to.include(`CASE WHEN "$path" IN ('${raw.uri}a.csv') THEN 0 ${raw.columns.length > 2 ? `WHEN "$path" IN ('${raw.uri}d.csv') THEN 2 ` : ""}ELSE 1 END`);
    if (raw.columns.length > 1) {
      const [first, last] = [raw.columns[0].name, raw.columns[raw.columns.length - 1].name];
      expect(mixed).to.include(`CASE "etl_column_order" WHEN 0 THEN "${first}" WHEN 1 THEN "${last}" END AS "${first}"`);
    }
    // A quote in a key is escaped, as every literal.
    expect(bindRawRows(statement, [raw], { [raw.table]: [fileIn(raw, "it's.csv", identity)] })).to.include(`'${raw.uri}it''s.csv'`);
  });

  it("the counts of a run an earlier runner started: bound as its executed job statement, found by aligning it with the spec's", () => {
    for (const job of jobs) {
      const raws = athenaRawInputs(config, job, BUCKET);
      const destination = `s3://${BUCKET}/staging/${job}/task/`;
      const template = athenaQuery(config, job).split(STAGING_URI_MARKER).join(destination);
      const files = Object.fromEntries(
        raws.map((raw) => {
          const order = raw.columns.map((_, j) => j);
          return [raw.table, [fileIn(raw, "a.csv", order), fileIn(raw, "b.csv", [...order].reverse())]];
        }),
      );
      const executed = bindRawRows(template, raws, files);
      const bound = boundRawRows(template, executed, raws)!;
      for (const raw of raws) expect(bound[raw.table]).to.equal(rawRows(raw, files[raw.table]));
      expect(bindCountsAsExecuted(athenaCountsQuery(config, job), template, executed, raws)).to.equal(bindRawRows(athenaCountsQuery(config, job), raws, files));
      // Whatever form that runner bound the rows in: the text it put in place of each table's rows.
      const earlierForm = raws.reduce((statement, raw) => statement.split(rawRows(raw)).join(`(SELECT 'earlier ${raw.table}')`), template);
      const counts = bindCountsAsExecuted(athenaCountsQuery(config, job), template, earlierForm, raws)!;
      for (const raw of raws) expect(counts).to.include(`(SELECT 'earlier ${raw.table}')`).and.not.include(rawRows(raw));
      // A run started before statements were bound at all (its statement as generated): the counts read every file too.
      expect(bindCountsAsExecuted(athenaCountsQuery(config, job), template, template, raws)).to.equal(athenaCountsQuery(config, job));
      // A statement that is not the template bound (the job redeployed with other SQL meanwhile): no counts statement.
      expect(bindCountsAsExecuted(athenaCountsQuery(config, job), template, executed.replace("UNLOAD (", "UNLOAD ( "), raws)).to.equal(undefined);
    }
  });

  it("two inputs of one dataset share the table's binding", () => {
    const [job] = jobs;
    const [raw] = athenaRawInputs(config, job, BUCKET);
    const twin: AthenaRawInput = { ...raw, input: `${raw.input}_again` };
    const template = `SELECT * FROM ${rawRows(raw)} JOIN ${rawRows(twin)}`;
    const files = { [raw.table]: [fileIn(raw, "a.csv", raw.columns.map((_, j) => j))] };
    const executed = bindRawRows(template, [raw, twin], files);
    expect(executed).to.equal(`SELECT * FROM ${rawRows(raw, files[raw.table])} JOIN ${rawRows(raw, files[raw.table])}`);
  });
});
