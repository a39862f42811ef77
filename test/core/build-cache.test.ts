// core/build-cache.ts: a cache folder that cannot be written costs rebuilds, said once on stderr with the folder.
import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { CACHE_DIR, readCache, writeCache } from "../../core/build-cache";

describe("core/build-cache: writeCache", () => {
  const blocker = `test-not-a-folder-${randomUUID().slice(0, 8)}`;
  after(() => rmSync(join(CACHE_DIR, blocker), { force: true }));

  it("writes an entry; where it cannot, warns once per process naming the folder, and reads nothing back", () => {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(join(CACHE_DIR, blocker), ""); // a file where the entries' folder would be
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      writeCache(`${blocker}/a`, "1");
      writeCache(`${blocker}/b`, "2");
    } finally {
      process.stderr.write = write;
    }
    expect(written, written.join("")).to.have.length(1);
    expect(written[0]).to.match(new RegExp(`^build cache: cannot write ${join(CACHE_DIR, blocker)} \\((EEXIST|ENOTDIR)\\)`));
    expect(readCache(`${blocker}/a`)).to.equal(undefined);
  });
});
