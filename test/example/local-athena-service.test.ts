// The shipped example's PMD on the local Athena: its rows, one per kept input row, equal the local engine's, and a
// line with an unclosed quote is dropped (the raw table's RegexSerDe gives it no fields), as the other engines drop it. The local Athena's
// mechanisms, on whatever the configuration has, are in test/local/athena-service.test.ts.
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { parquetRows } from "../support/parquet";
import { BUCKET, localAthenaHarness } from "../support/local-athena";
import { athenaQuery } from "../../core/athena-query";
import { loadConfig, scriptsDir, sqlPath } from "../../core/config";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { runTransformation } from "../../local/etl-engine";
import { generateMarketing } from "../../local/sample-data";

const config = loadConfig();
const TOKEN = "a".repeat(64);

describe("example: PMD on the local Athena", () => {
  const h = localAthenaHarness(config);
  const pmdStatement = (destination: string) => athenaQuery(config, "PMD").split(STAGING_URI_MARKER).join(destination);

  it("runs a job's generated statement as sent and writes the same rows as the local engine, dropping the same rows", async () => {
    await h.start();
    // The sample data plus rows each drop rule removes, and a row with an empty string column.
    const marketing = generateMarketing().trimEnd().split("\n");
    const width = marketing[0].split(",").length;
    const bad = [
      ["2/30/2013", ...Array(width - 1).fill("1")].join(","),
      ["13/1/2013", ...Array(width - 1).fill("1")].join(","),
      ["1/1/2013", "12x", ...Array(width - 2).fill("1")].join(","),
    ];
    const csv = [...marketing, ...bad].join("\n") + "\n";
    const rawPrefix = config.datasets.marketing.prefix;
    await h.put(`${rawPrefix}upload.csv`, csv);
    const destination = `s3://${BUCKET}/staging/etl-dev-PMD/${TOKEN}/`;
    const { QueryExecutionId } = await h.startQuery(pmdStatement(destination), TOKEN);
    const done = await h.waitForFinal(QueryExecutionId!);
    expect(done.Status?.State, JSON.stringify(done.Status)).to.equal("SUCCEEDED");
    expect(done.Statistics?.DataScannedInBytes).to.equal(Buffer.byteLength(csv));
    expect(done.Statistics?.EngineExecutionTimeInMillis).to.be.a("number");
    expect(done.Query).to.equal(pmdStatement(destination));

    const keys = await h.keysUnder(`staging/etl-dev-PMD/${TOKEN}/`);
    expect(keys).to.have.length(1);
    const athenaFile = join(h.work, "athena.parquet");
    const body = await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }));
    await writeFile(athenaFile, await body.Body!.transformToByteArray());

    const csvFile = join(h.work, "marketing.csv");
    await writeFile(csvFile, csv);
    const engineOut = join(h.work, "engine");
    const engine = await runTransformation({ inputs: [{ name: "marketing", path: csvFile, format: "csv", schema: config.datasets.marketing.schema }], sqlFile: sqlPath(config, config.jobs.PMD), outputDir: engineOut, scriptsDir: scriptsDir(config) });
    expect(engine.droppedRows.marketing).to.equal(bad.length);
    const expected = await parquetRows((await readdir(engineOut)).map((f) => join(engineOut, f)));
    const actual = await parquetRows([athenaFile]);
    expect(actual).to.have.length(marketing.length - 1);
    expect(actual).to.deep.equal(expected);
  });

  it("drops a line with an unclosed quote, as Spark and the local engine do (the raw table's RegexSerDe gives it no fields)", async () => {
    await h.start();
    const lines = generateMarketing().trimEnd().split("\n");
    lines[5] = lines[5].replace(/,[^,]*$/, ',"open');
    await h.put(`${config.datasets.marketing.prefix}a.csv`, lines.join("\n") + "\n");
    const { QueryExecutionId } = await h.startQuery(pmdStatement(`s3://${BUCKET}/staging/open/`));
    expect((await h.waitForFinal(QueryExecutionId!)).Status?.State).to.equal("SUCCEEDED");
    const [key] = await h.keysUnder("staging/open/");
    const file = join(h.work, "open.parquet");
    await writeFile(file, await (await h.s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const rows = await parquetRows([file]);
    expect(rows, "the header and the malformed line are not rows").to.have.length(lines.length - 2);
    expect(rows.filter((r) => r.some((v) => typeof v === "string" && v.includes("open")))).to.have.length(0);
  });
});
