import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { startLocalS3, type LocalS3 } from "../../local/s3";
import { runEtlJob } from "../../local/etl-job-run";
import { parseS3Uri, S3Staging } from "../../local/s3-staging";

const BUCKET = "staging-test";

describe("local/s3-staging", () => {
  let s3: LocalS3;
  let staging: S3Staging;
  let dir: string;
  before(async () => {
    s3 = await startLocalS3({ bucket: BUCKET });
    staging = new S3Staging(s3.client);
  });
  after(() => s3.close());
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "etl-staging-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const put = (Key: string, Body: string) => s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Buffer.from(Body) }));

  it("downloads each input's objects into its own folder, keeping relative paths; folder markers are skipped", async () => {
    await put("in/a/", "");
    await put("in/a/one.csv", "1");
    await put("in/a/sub/two.csv", "2");
    const [input] = await staging.downloadInputs([{ name: "orders", path: `s3://${BUCKET}/in/a/`, format: "csv" }], dir, "--etl_inputs");
    expect(input.path).to.equal(join(dir, "orders"));
    expect(await readFile(join(dir, "orders", "one.csv"), "utf8")).to.equal("1");
    expect(await readFile(join(dir, "orders", "sub", "two.csv"), "utf8")).to.equal("2");
  });

  it("fails an input with no objects, and a path that is not an S3 URI, naming them", async () => {
    const empty = await staging.downloadInputs([{ name: "none", path: `s3://${BUCKET}/missing/`, format: "csv" }], dir, "--etl_inputs").catch((e: Error) => e.message);
    expect(empty).to.equal(`input 'none': no objects at s3://${BUCKET}/missing/`);
    expect(() => parseS3Uri("/local/path", "--etl_output")).to.throw('--etl_output: not an S3 URI: "/local/path"');
  });

  it("replacePrefix overwrites: the old objects under the prefix are gone, the folder's files are there", async () => {
    await put("out/old-part.parquet", "old");
    await put("outside/keep.txt", "keep");
    await mkdir(join(dir, "nested"), { recursive: true });
    await writeFile(join(dir, "part-0.parquet"), "new");
    await writeFile(join(dir, "nested", "part-1.parquet"), "new1");
    await staging.replacePrefix(BUCKET, "out/", dir);
    expect(await staging.listKeys(BUCKET, "out/")).to.deep.equal(["out/nested/part-1.parquet", "out/part-0.parquet"]);
    expect(await staging.listKeys(BUCKET, "outside/")).to.deep.equal(["outside/keep.txt"]);
  });

  it("with the local S3's stored objects, links each listed object's file (no GetObject, no copy) with the same bytes", async () => {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "stored/a b/part.csv", Body: body }));
    const gets: string[] = [];
    const local = new S3Staging(s3.client, (bucket, key) => {
      gets.push(key);
      return s3.storedObject(bucket, key);
    });
    const sent: string[] = [];
    s3.client.middlewareStack.add((next, context) => async (args) => (sent.push(String(context.commandName)), next(args)), { step: "initialize", name: "recordCommands" });
    try {
      await local.downloadInputs([{ name: "orders", path: `s3://${BUCKET}/stored/`, format: "csv" }], dir, "--etl_inputs");
    } finally {
      s3.client.middlewareStack.remove("recordCommands");
    }
    expect(gets).to.deep.equal(["stored/a b/part.csv"]);
    expect(sent).to.deep.equal(["ListObjectsV2Command"]);
    expect(Buffer.compare(await readFile(join(dir, "orders", "a b", "part.csv")), body)).to.equal(0);
    expect((await stat(join(dir, "orders", "a b", "part.csv"))).ino).to.equal((await stat(s3.storedObject(BUCKET, "stored/a b/part.csv"))).ino);
    expect(await local.changedObjects()).to.deep.equal([]);
  });

  it("names a linked object the local S3 overwrote (in its file) after the download; later downloads copy", async () => {
    await put("over/part.csv", "first");
    const local = new S3Staging(s3.client, s3.storedObject);
    await local.downloadInputs([{ name: "orders", path: `s3://${BUCKET}/over/`, format: "csv" }], join(dir, "a"), "--etl_inputs");
    await put("over/part.csv", "second, longer");
    expect(await readFile(join(dir, "a", "orders", "part.csv"), "utf8"), "s3rver writes the same file").to.equal("second, longer");
    expect(await local.changedObjects()).to.deep.equal([`s3://${BUCKET}/over/part.csv`]);
    await local.downloadInputs([{ name: "orders", path: `s3://${BUCKET}/over/`, format: "csv" }], join(dir, "b"), "--etl_inputs");
    await put("over/part.csv", "third");
    expect(await readFile(join(dir, "b", "orders", "part.csv"), "utf8"), "a copy").to.equal("second, longer");
    expect(await local.changedObjects()).to.deep.equal([]);
  });

  it("runs a job again on copies when an input object is overwritten while the job reads it", async () => {
    await put("job/in/part.csv", "v1");
    const seen: string[] = [];
    const counts = await runEtlJob({
      s3: s3.client,
      storedObject: s3.storedObject,
      args: { "--etl_inputs": JSON.stringify([{ name: "orders", path: `s3://${BUCKET}/job/in/`, format: "csv" }]), "--etl_output": `s3://${BUCKET}/job/out/`, "--etl_sql": "x.sql" },
      scriptsDir: dir,
      label: "etl-staging-test",
      stillRunning: () => true,
      transformation: async (request) => {
        seen.push(await readFile(join(request.inputs[0].path, "part.csv"), "utf8"));
        if (seen.length === 1) await put("job/in/part.csv", "v2, uploaded during the job");
        await writeFile(join(request.outputDir, "part-0.txt"), seen[seen.length - 1]);
        return { rowsWritten: seen.length, rowsRead: {}, droppedRows: {}, files: [] };
      },
    });
    expect(seen).to.deep.equal(["v1", "v2, uploaded during the job"]);
    expect(counts.rowsWritten).to.equal(2);
    const out = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "job/out/part-0.txt" }));
    expect(await out.Body!.transformToString()).to.equal("v2, uploaded during the job");
  });

  it("falls back to GetObject (streamed) when the stored file is not there", async () => {
    await put("fallback/one.csv", "1,2,3");
    const local = new S3Staging(s3.client, () => join(dir, "no-such-file"));
    await local.downloadInputs([{ name: "orders", path: `s3://${BUCKET}/fallback/`, format: "csv" }], dir, "--etl_inputs");
    expect(await readFile(join(dir, "orders", "one.csv"), "utf8")).to.equal("1,2,3");
  });
});
