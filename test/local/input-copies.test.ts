import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { startInputCopies, undelayedInputs, type InputCopies } from "../../local/input-copies";

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

describe("local/input-copies", () => {
  let dir: string;
  const open: InputCopies[] = [];
  const start = (...args: Parameters<typeof startInputCopies>) => {
    const copies = startInputCopies(...args);
    open.push(copies);
    return copies;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "input-copies-test-"));
  });
  afterEach(async () => {
    for (const copies of open.splice(0)) await copies.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("copies a file of at least minBytes on a worker thread: the same bytes, their MD5 and size, in another folder; the file untouched", async () => {
    const file = join(dir, "sales.csv");
    // Over one read chunk (1 MiB), with multi-byte characters.
    await writeFile(file, "Date,Name\n" + "1/2/2020,Zoë\n".repeat(120_000));
    const before = await stat(file, { bigint: true });
    const bytes = await readFile(file);
    const copies = start([file], { minBytes: 1 << 20 });
    const copy = await copies.take(file);
    expect(copy).to.deep.include({ md5: md5(bytes), size: bytes.length });
    expect(dirname(copy!.path)).to.not.equal(dir);
    expect((await readFile(copy!.path)).equals(bytes)).to.equal(true);
    const after = await stat(file, { bigint: true });
    expect([after.ino, after.size, after.mtimeNs, after.ctimeNs]).to.deep.equal([before.ino, before.size, before.mtimeNs, before.ctimeNs]);
    // Handed over once.
    expect(await copies.take(file)).to.equal(undefined);
  });

  it("copies nothing below minBytes, nor a path it was not given or a missing one", async () => {
    const small = join(dir, "small.csv");
    await writeFile(small, "a,b\n1,2\n");
    const copies = start([small, join(dir, "missing.csv")], { minBytes: 1024 });
    expect(await copies.take(small)).to.equal(undefined);
    expect(await copies.take(join(dir, "missing.csv"))).to.equal(undefined);
    expect(await copies.take(join(dir, "other.csv"))).to.equal(undefined);
  });

  it("copies each data file of a folder of parts and leaves out the files a reader skips; and a file given beside the folder", async () => {
    const folder = join(dir, "parts");
    await mkdir(join(folder, "day=1"), { recursive: true });
    const parts = { "day=1/part-0.csv": "a\n1\n", "part-1.csv.gz": "not really gzip", _SUCCESS: "", ".part-1.csv.crc": "x" };
    for (const [name, text] of Object.entries(parts)) await writeFile(join(folder, name), text);
    const file = join(dir, "beside.csv");
    await writeFile(file, "b\n2\n");
    const copies = start([file, folder], { minBytes: 0 });
    expect(await copies.take(file)).to.deep.include({ md5: md5(Buffer.from("b\n2\n")), size: 4 });
    for (const name of ["day=1/part-0.csv", "part-1.csv.gz"]) {
      const copy = await copies.take(join(folder, name));
      expect(copy, name).to.deep.include({ md5: md5(Buffer.from(parts[name as keyof typeof parts])), size: parts[name as keyof typeof parts].length });
    }
    expect(await copies.take(join(folder, "_SUCCESS"))).to.equal(undefined);
    expect(await copies.take(join(folder, ".part-1.csv.crc"))).to.equal(undefined);
  });

  it("gives no copy of a file changed since it was read: appended, or replaced by another of the same size and modification time", async () => {
    const appended = join(dir, "appended.csv");
    const replaced = join(dir, "replaced.csv");
    const last = join(dir, "last.csv");
    for (const file of [appended, replaced, last]) await writeFile(file, "a,b\n1,2\n");
    const copies = start([appended, replaced, last], { minBytes: 0 });
    // The worker copies in order: once the last copy is made, the other two are.
    expect(await copies.take(last)).to.not.equal(undefined);
    await appendFile(appended, "3,4\n");
    const twin = join(dir, "twin.csv");
    await writeFile(twin, "a,b\n9,9\n");
    const { atime, mtime } = await stat(replaced);
    await utimes(twin, atime, mtime);
    await rename(twin, replaced);
    expect(await copies.take(appended)).to.equal(undefined);
    expect(await copies.take(replaced)).to.equal(undefined);
    // The user's files are as the test left them.
    expect(await readFile(appended, "utf8")).to.equal("a,b\n1,2\n3,4\n");
    expect(await readFile(replaced, "utf8")).to.equal("a,b\n9,9\n");
  });

  it("close stops the workers and removes the copies not taken; a take after it gives none; close twice is fine", async () => {
    const first = join(dir, "first.csv");
    const second = join(dir, "second.csv");
    await writeFile(first, "a\n1\n");
    await writeFile(second, "a\n2\n");
    const copies = start([first, second], { minBytes: 0 });
    const copy = await copies.take(first);
    expect(copy).to.not.equal(undefined);
    await copies.close();
    expect(existsSync(dirname(copy!.path))).to.equal(false);
    expect(await copies.take(second)).to.equal(undefined);
    await copies.close();
    expect(await readFile(first, "utf8")).to.equal("a\n1\n");
  });

  it("copies ahead only the inputs uploaded without a delay", () => {
    expect(undelayedInputs({ sales: "/s.csv", marketing: "/m.csv", extra: "/e.csv" }, { sales: 0, marketing: 5000 })).to.deep.equal(["/s.csv", "/e.csv"]);
    expect(undelayedInputs({ sales: "/s.csv" })).to.deep.equal(["/s.csv"]);
  });
});
