// Posts a pull-request comment, or updates the one posted before: it is found by a hidden marker on its
// first line, so each kind of report (synth diff, plan) stays one comment however often CI runs.
// Called from actions/github-script: `await require("./tools/ci/upsert-comment.cjs")({ github, context, marker, file })`.
const { existsSync, readFileSync } = require("node:fs");

/** GitHub rejects comment bodies over 65,536 characters. */
const MAX_BODY = 65_000;

module.exports = async function upsertComment({ github, context, marker, file }) {
  if (!/^<!-- [\w:.-]+ -->$/.test(marker ?? "")) throw new Error(`marker must be an HTML comment such as "<!-- ci:report -->", got ${JSON.stringify(marker)}`);
  let text = existsSync(file) ? readFileSync(file, "utf8") : `No report: ${file} was not written; see the job log.\n`;
  if (text.length > MAX_BODY) text = `${text.slice(0, MAX_BODY)}\n\n… cut; the job summary has the rest.\n`;
  const body = `${marker}\n${text}`;
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const existing = comments.find((c) => c.user?.type === "Bot" && c.body?.startsWith(marker));
  if (existing) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
    return { action: "updated", id: existing.id };
  }
  const created = await github.rest.issues.createComment({ owner, repo, issue_number, body });
  return { action: "created", id: created.data.id };
};
