import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const upsertComment: (args: { github: unknown; context: unknown; marker: string; file: string }) => Promise<{ action: string; id: number }> = require("../../../tools/ci/upsert-comment.cjs");

/** A stand-in for github-script's Octokit client, recording the calls. */
function fakeGithub(existing: Array<{ id: number; body: string; user: { type: string } }>) {
  const calls: Array<[string, Record<string, unknown>]> = [];
  const rest = {
    issues: {
      listComments: "listComments",
      updateComment: async (args: Record<string, unknown>) => void calls.push(["update", args]),
      createComment: async (args: Record<string, unknown>) => (calls.push(["create", args]), { data: { id: 99 } }),
    },
  };
  const paginate = async (method: unknown, args: Record<string, unknown>) => {
    expect(method).to.equal("listComments");
    expect(args).to.deep.include({ owner: "o", repo: "r", issue_number: 7 });
    return existing;
  };
  return { github: { rest, paginate }, calls };
}

const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 } };
const MARKER = "<!-- etl-ci:synth-diff -->";

describe("tools/ci/upsert-comment", () => {
  let tmp: string;
  let file: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "upsert-"));
    file = join(tmp, "report.md");
    writeFileSync(file, "## Report\n");
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("creates the comment, marker first, when there is none", async () => {
    const { github, calls } = fakeGithub([{ id: 1, body: "a human's comment", user: { type: "User" } }]);
    expect(await upsertComment({ github, context, marker: MARKER, file })).to.deep.equal({ action: "created", id: 99 });
    expect(calls).to.deep.equal([["create", { owner: "o", repo: "r", issue_number: 7, body: `${MARKER}\n## Report\n` }]]);
  });

  it("updates the bot's comment that carries the marker, and no other", async () => {
    const { github, calls } = fakeGithub([
      { id: 1, body: `${MARKER}\nquoted by a human`, user: { type: "User" } },
      { id: 2, body: "<!-- etl-ci:cdktf-plan -->\nplan", user: { type: "Bot" } },
      { id: 3, body: `${MARKER}\nold`, user: { type: "Bot" } },
    ]);
    expect(await upsertComment({ github, context, marker: MARKER, file })).to.deep.equal({ action: "updated", id: 3 });
    expect(calls).to.deep.equal([["update", { owner: "o", repo: "r", comment_id: 3, body: `${MARKER}\n## Report\n` }]]);
  });

  it("still reports when the report file is missing, and cuts an oversized one", async () => {
    const { github, calls } = fakeGithub([]);
    await upsertComment({ github, context, marker: MARKER, file: join(tmp, "none.md") });
    expect(calls[0][1].body).to.equal(`${MARKER}\nNo report: ${join(tmp, "none.md")} was not written; see the job log.\n`);
    writeFileSync(file, "x".repeat(70_000));
    await upsertComment({ github, context, marker: MARKER, file });
    expect((calls[1][1].body as string).length).to.be.lessThan(65_536);
    expect(calls[1][1].body).to.match(/… cut; the job summary has the rest\.\n$/);
  });

  it("rejects a marker that is not a hidden HTML comment", async () => {
    const { github, calls } = fakeGithub([]);
    try {
      await upsertComment({ github, context, marker: "synth-diff", file });
      expect.fail("no error");
    } catch (e) {
      expect((e as Error).message).to.equal('marker must be an HTML comment such as "<!-- ci:report -->", got "synth-diff"');
    }
    expect(calls).to.deep.equal([]);
  });
});
