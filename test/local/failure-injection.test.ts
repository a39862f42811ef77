import { expect } from "chai";
import { resourceNames } from "../../core/config";
import { InjectedFailures, jobIdsNamed } from "../../local/failure-injection";
import { InputError } from "../../local/inputs";
import { workflowShape } from "../support/workflow";

describe("local/failure-injection", () => {
  const { config, jobs } = workflowShape();
  const names = resourceNames(config);
  const [first, second] = jobs;

  it("finds jobs by id or by deployed name, once each", () => {
    expect(jobIdsNamed(config, [first, names.glueJob(second), names.glueJob(first)], "--fail-job")).to.deep.equal([first, second]);
    expect(jobIdsNamed(config, [], "--fail-job")).to.deep.equal([]);
  });

  it("rejects an unknown job naming the option and listing the known jobs by id and name", () => {
    let error: unknown;
    try {
      jobIdsNamed(config, [first, "NOPE"], "--fail-job-once");
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.match(/^--fail-job-once: unknown job NOPE; known: /);
    for (const id of jobs) expect((error as Error).message).to.contain(`${id} (${names.glueJob(id)})`);
    expect(() => new InjectedFailures(config, { once: ["NOPE"] })).to.throw(InputError, /^failJobsOnce: unknown job NOPE/);
    expect(() => new InjectedFailures(config, { always: ["NOPE"] })).to.throw(InputError, /^failJobs: unknown job NOPE/);
  });

  it("fails every run of an always-failing job, and only the first run of a once-failing job", () => {
    const failures = new InjectedFailures(config, { always: [names.glueJob(first)], once: [second] });
    for (let run = 0; run < 3; run++) expect(failures.failure(first)).to.equal(`Injected failure: job ${names.glueJob(first)} is in failJobs`);
    expect(failures.failure(second)).to.equal(`Injected failure: the first run of job ${names.glueJob(second)} fails (failJobsOnce)`);
    expect(failures.failure(second)).to.equal(undefined);
    expect(failures.failure(undefined)).to.equal(undefined);
  });

  it("a job named once by id and once by name still fails only its first run", () => {
    const failures = new InjectedFailures(config, { once: [first, names.glueJob(first)] });
    expect(failures.failure(first)).to.be.a("string");
    expect(failures.failure(first)).to.equal(undefined);
    for (const other of jobs.slice(1)) expect(failures.failure(other)).to.equal(undefined);
  });
});
