// The publish step's copies: CopyObject up to 5 GiB, UploadPartCopy above (S3's CopyObject refuses larger objects).
// Sizes come from the listing, so the SDK mock stands in for objects of any size without their bytes.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import type { JobSpecs } from "../../../functions/etl-runner/job-specs";
import { MAX_COPY_OBJECT_BYTES, Publisher } from "../../../functions/etl-runner/publish";
import { awsError } from "../fakes";

const TARGET = { stagingUri: "s3://lake/staging/etl-dev-J/", outputUri: "s3://lake/out/j/" };
const TASK = "t".repeat(64);
const GiB = 1024 ** 3;

describe("etl-runner/publish: copies", () => {
  function world(staged: Record<string, number>) {
    const client = new S3Client({ region: "us-east-1" });
    const s3 = mockClient(client);
    // Answered by one default behaviour that dispatches on the command's class, not one `s3.on(Command)` each: every
    // `on` adds a sinon fake that each call is deep-compared against, which for the 5 TB case's 10,000 part copies was
    // most of this file's CPU (1.5 s). A test's own `s3.on(...)` still takes precedence over it.
    const answers = new Map<unknown, (input: any) => any>([
      [ListObjectsV2Command, ({ Prefix }) => ({
        Contents: Prefix === `staging/etl-dev-J/${TASK}/` ? Object.entries(staged).map(([name, Size]) => ({ Key: `${Prefix}${name}`, Size })) : [],
      })],
      [GetObjectCommand, () => Promise.reject(awsError("NoSuchKey", "no", 404))],
      [CreateMultipartUploadCommand, () => ({ UploadId: "up-1" })],
      [UploadPartCopyCommand, ({ PartNumber }) => ({ CopyPartResult: { ETag: `"etag-${PartNumber}"` } })],
      [CompleteMultipartUploadCommand, () => ({})],
      [CopyObjectCommand, () => ({})],
      [PutObjectCommand, () => ({})],
      [DeleteObjectsCommand, () => ({})],
      [AbortMultipartUploadCommand, () => ({})],
    ]);
    s3.send.callsFake(async (command) => {
      const answer = answers.get(command.constructor);
      if (!answer) throw new Error(`unexpected S3 call ${command.constructor.name}`);
      return answer(command.input);
    });
    const publisher = new Publisher(() => client, undefined as unknown as JobSpecs);
    const calls = <T>(command: new (input: any) => T) => s3.commandCalls(command as any).map((c) => c.args[0].input as any);
    return { s3, publisher, calls };
  }

  it("copies an object of up to 5 GiB with CopyObject, and a larger one in 512 MiB parts with UploadPartCopy", async () => {
    const w = world({ "small.parquet": MAX_COPY_OBJECT_BYTES, "big.parquet": MAX_COPY_OBJECT_BYTES + 1 });
    expect(await w.publisher.publish(TARGET, TASK)).to.deep.equal({ published: 2 });
    expect(w.calls(CopyObjectCommand).map((c) => c.Key)).to.deep.equal(["out/j/small.parquet"]);
    expect(w.calls(CreateMultipartUploadCommand)).to.deep.equal([{ Bucket: "lake", Key: "out/j/big.parquet" }]);
    const parts = w.calls(UploadPartCopyCommand).sort((a, b) => a.PartNumber - b.PartNumber);
    expect(parts).to.have.length(11);
    expect(parts.every((p) => p.UploadId === "up-1" && p.CopySource === `lake/staging/etl-dev-J/${TASK}/big.parquet`)).to.equal(true);
    expect(parts[0].CopySourceRange).to.equal(`bytes=0-${512 * 1024 ** 2 - 1}`);
    expect(parts[10].CopySourceRange).to.equal(`bytes=${10 * 512 * 1024 ** 2}-${MAX_COPY_OBJECT_BYTES}`);
    expect(w.calls(CompleteMultipartUploadCommand)).to.deep.equal([
      { Bucket: "lake", Key: "out/j/big.parquet", UploadId: "up-1", MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: `"etag-${p.PartNumber}"` })) } },
    ]);
    expect(w.calls(AbortMultipartUploadCommand)).to.deep.equal([]);
  });

  it("keeps within 10,000 parts for the largest objects (5 TB)", async () => {
    const w = world({ "huge.parquet": 5 * 1000 * GiB });
    await w.publisher.publish(TARGET, TASK);
    const parts = w.calls(UploadPartCopyCommand);
    expect(parts.length).to.be.at.most(10_000);
    const last = parts.reduce((a, b) => (a.PartNumber > b.PartNumber ? a : b));
    expect(last.CopySourceRange).to.match(new RegExp(`-${5 * 1000 * GiB - 1}$`));
  });

  it("aborts the multipart upload when a part fails, and reports the part's error (the next cycle publishes again)", async () => {
    const w = world({ "big.parquet": 6 * GiB });
    w.s3.on(UploadPartCopyCommand, { PartNumber: 3 }).rejects(awsError("InternalError", "try again", 500));
    const error = await w.publisher.publish(TARGET, TASK).catch((e: Error) => e);
    expect(error).to.have.property("name", "InternalError");
    expect(w.calls(AbortMultipartUploadCommand)).to.deep.equal([{ Bucket: "lake", Key: "out/j/big.parquet", UploadId: "up-1" }]);
    expect(w.calls(CompleteMultipartUploadCommand)).to.deep.equal([]);
    expect(w.calls(PutObjectCommand), "no publish marker").to.deep.equal([]);
  });
});
