import { expect } from "chai";
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyProject, removeProjectCopy } from "./project-copy";

describe("test/support/project-copy", () => {
  it("copies the project to its real path, a temporary folder reached through a link (as macOS's) resolved", () => {
    const scratch = mkdtempSync(join(tmpdir(), "etl-linked-tmp-"));
    const linked = join(scratch, "tmp");
    symlinkSync(tmpdir(), linked, "dir");
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = linked; // os.tmpdir() reads it on every call
    let root: string | undefined;
    try {
      root = copyProject();
      expect(root).to.equal(realpathSync(root)).and.not.include(linked);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
      if (root) removeProjectCopy(root);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
