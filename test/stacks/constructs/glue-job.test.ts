import { expect } from "chai";
import { synthScope } from "../stack-traces";
import type { Construct } from "constructs";
import { resourceNames } from "../../../core/config";
import { GlueJob, type GlueJobProps } from "../../../stacks/constructs/glue-job";
import type { PolicyStatement } from "../../../stacks/iam-policy";
import { workflowShape } from "../../support/workflow";

const { config, jobs } = workflowShape();
const names = resourceNames(config);
const jobName = names.glueJob(jobs[0]);

const props = (overrides: Partial<GlueJobProps> = {}): GlueJobProps => ({
  jobName,
  roleArn: "arn:aws:iam::123456789012:role/glue-job",
  scriptLocation: "s3://artifacts/scripts/job.py",
  glueVersion: config.glue.version,
  ...overrides,
});
const synthJobs = (build: (scope: Construct) => void) => JSON.parse(synthScope(build)).resource.aws_glue_job as Record<string, any>;

describe("GlueJob", () => {
  it("defaults to 2 G.1X workers, Glue's 48-hour timeout, one run at a time and no Glue retries; the resource takes the construct's address", () => {
    const out = synthJobs((scope) => void new GlueJob(scope, "job", props()));
    expect(Object.keys(out)).to.deep.equal(["job"]);
    expect(out.job).to.deep.include({ name: jobName, glue_version: config.glue.version, worker_type: "G.1X", number_of_workers: 2, timeout: 2880, max_retries: 0 });
    expect(out.job.execution_property).to.deep.equal({ max_concurrent_runs: 1 });
    expect(out.job.command).to.deep.equal({ name: "glueetl", python_version: "3", script_location: "s3://artifacts/scripts/job.py" });
    expect(out.job.default_arguments).to.deep.equal({ "--job-language": "python", "--enable-metrics": "true", "--enable-continuous-cloudwatch-log": "true" });
    expect(out.job).to.not.have.property("security_configuration");
  });

  it("passes the job's files, temp folder, arguments and settings through", () => {
    const out = synthJobs(
      (scope) =>
        void new GlueJob(scope, "job", {
          ...props(),
          workerType: "G.2X",
          numberOfWorkers: 5,
          timeoutMinutes: 30,
          maxConcurrentRuns: 3,
          securityConfiguration: "sec",
          extraPyFiles: ["s3://a/common.py"],
          extraFiles: ["s3://a/job.sql", "s3://a/schemas/x.json"],
          tempDir: "s3://a/tmp/",
          arguments: { "--etl_output": "s3://lake/out/" },
        }),
    );
    expect(out.job).to.deep.include({ worker_type: "G.2X", number_of_workers: 5, timeout: 30, security_configuration: "sec" });
    expect(out.job.execution_property).to.deep.equal({ max_concurrent_runs: 3 });
    expect(out.job.default_arguments).to.deep.include({
      "--etl_output": "s3://lake/out/",
      "--extra-py-files": "s3://a/common.py",
      "--extra-files": "s3://a/job.sql,s3://a/schemas/x.json",
      "--TempDir": "s3://a/tmp/",
    });
  });

  it("refuses a bad name, version, worker type, worker count, timeout, concurrency and argument key, naming the value", () => {
    const cases: Array<[Partial<GlueJobProps>, RegExp]> = [
      [{ jobName: "has space" }, /jobName 'has space'/],
      [{ glueVersion: "five" }, /glueVersion 'five'/],
      [{ workerType: "G.3X" as GlueJobProps["workerType"] }, /workerType 'G.3X' must be one of/],
      [{ numberOfWorkers: 1 }, /numberOfWorkers 1 must be an integer of at least 2/],
      [{ timeoutMinutes: 0 }, /timeoutMinutes 0 must be an integer from 1 to 10080/],
      [{ timeoutMinutes: 10081 }, /timeoutMinutes 10081/],
      [{ maxConcurrentRuns: 0 }, /maxConcurrentRuns 0/],
      [{ arguments: { etl_output: "x" } }, /arguments etl_output: keys start with '--'/],
      [{ arguments: { "--TempDir": "s3://x/" } }, /arguments --TempDir: .*set by props/],
    ];
    for (const [overrides, message] of cases) {
      expect(() => synthScope((scope) => void new GlueJob(scope, "job", props(overrides))), JSON.stringify(overrides)).to.throw(message);
    }
  });

  it("grantStartAndMonitor grants starting, reading and stopping runs of this job only; grants of several jobs share one statement", () => {
    const granted: Array<[string, PolicyStatement[]]> = [];
    const grantee = { addToRolePolicy: (id: string, statements: PolicyStatement[]) => granted.push([id, statements]) };
    let arns: string[] = [];
    synthScope((scope) => {
      const a = new GlueJob(scope, "a", props({ jobName: "a" }));
      const b = new GlueJob(scope, "b", props({ jobName: "b" }));
      a.grantStartAndMonitor(grantee);
      b.grantStartAndMonitor(grantee);
      arns = [a.jobArn, b.jobArn];
    });
    expect(granted.map(([id]) => id)).to.deep.equal(["glue-jobs", "glue-jobs"]);
    const [[, first], [, second]] = granted;
    expect(first).to.deep.equal([{ Sid: "RunProjectJobs", Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], Resource: [arns[0]] }]);
    expect(second[0].Resource).to.deep.equal([arns[1]]);
    expect(second[0].Sid, "same Sid, so a merging grantee (NodejsFunction) keeps one statement").to.equal(first[0].Sid);
  });
});
