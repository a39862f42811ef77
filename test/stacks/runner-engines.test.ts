// The runner stack per engine: state-change rules and IAM exist exactly for the engines the jobs use, every engine
// action is scoped to that engine's resources, and an engine no job uses gets nothing.
import { EmrserverlessApplication } from "@cdktf/provider-aws/lib/emrserverless-application";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { App } from "cdktf";
import { expect } from "chai";
import { ATHENA_RESULTS_PREFIX } from "../../core/job-specs";
import { COUNTS_OBJECT } from "../../core/quality";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineName } from "../../core/job-spec";
import type { EtlConfig } from "../../core/config";
import { resourceNames } from "../../core/config";
import { stackIds } from "../../stacks/app";
import { GlueStack } from "../../stacks/glue-stack";
import { serviceTrustPolicy } from "../../stacks/iam-policy";
import { RunnerStack } from "../../stacks/runner-stack";
import { StateMachineStack } from "../../stacks/state-machine-stack";
import { workflowShape } from "../support/workflow";
import { withCheapStackTraces } from "./stack-traces";
import { resources, resourceWith, variant, type TfJson } from "./synth";

/** Each engine's actions (Athena reads the catalog with the caller's credentials). */
const ENGINE_ACTIONS: Record<EngineName, RegExp> = {
  glue: /^glue:(StartJobRun|GetJobRuns?|BatchStopJobRun)$/,
  athena: /^(athena:|glue:Get(Database|Tables?|Partitions?)$)/,
  "emr-serverless": /^(emr-serverless:|iam:PassRole$)/,
};

/** The three stacks of `config`, with an EMR Serverless application and job role standing in for the glue stack's. */
function synthRunner(config: EtlConfig, withEmr = true): { runner: TfJson; emrAppRef: string; emrRoleRef: string } {
  const outdir = mkdtempSync(join(tmpdir(), "etl-runner-engines-"));
  try {
    const ids = stackIds(config);
    withCheapStackTraces(() => {
      const app = new App({ outdir });
      const glue = new GlueStack(app, ids.glue, { config });
      const stateMachine = new StateMachineStack(app, ids.stateMachine, { config, dataLake: glue.dataLake });
      const application = new EmrserverlessApplication(glue, "test-emr-application", { name: resourceNames(config).emrApplication, releaseLabel: config.emrServerless.releaseLabel, type: "spark" });
      const role = new IamRole(glue, "test-emr-job-role", { name: resourceNames(config).emrJobRole, assumeRolePolicy: serviceTrustPolicy("emr-serverless.amazonaws.com") });
      new RunnerStack(app, ids.runner, {
        config,
        runnerActivity: stateMachine.runnerActivity,
        stateMachine: stateMachine.stateMachine,
        jobs: glue.jobs,
        dataLake: glue.dataLake.bucket,
        artifacts: glue.artifacts.bucket,
        ...(withEmr ? { emrServerless: { applicationId: application.id, applicationArn: application.arn, jobRoleArn: role.arn } } : {}),
      });
      app.synth();
    });
    const runner = JSON.parse(readFileSync(join(outdir, "stacks", ids.runner, "cdk.tf.json"), "utf8")) as TfJson;
    return { runner, emrAppRef: "test-emr-application", emrRoleRef: "test-emr-job-role" };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const statementsOf = (runner: TfJson) => Object.values(resources(runner, "aws_iam_role_policy")).flatMap((p) => JSON.parse(p.policy).Statement as any[]);
const rulePatterns = (runner: TfJson) => Object.values(resources(runner, "aws_cloudwatch_event_rule")).flatMap((r) => (r.event_pattern ? [JSON.parse(r.event_pattern)] : []));
const actionsOf = (runner: TfJson, engine: EngineName) => statementsOf(runner).filter((s) => s.Action.some((a: string) => ENGINE_ACTIONS[engine].test(a)));
const shape = workflowShape();
/** The active configuration with every job on Glue but those in `engines` (Glue's worker settings dropped there). */
const withEngines = (engines: Record<string, EngineName>) =>
  variant((raw) => {
    for (const id of shape.jobs) {
      const engine = engines[id] ?? "glue";
      raw.jobs[id].engine = engine;
      if (engine !== "glue") for (const field of ["workerType", "numberOfWorkers"]) delete raw.jobs[id][field];
    }
  });
/** A job reading a raw dataset, and one reading only other jobs' outputs. */
const datasetJob = shape.datasetJobs[0];
const joinJob = shape.joinJobs[0];

describe("runner stack per engine", () => {
  const scenarios: Array<[string, Record<string, EngineName>]> = [
    ["every job on Glue", {}],
    [`${datasetJob} on Athena`, { [datasetJob]: "athena" }],
    [`${joinJob} on EMR Serverless`, { [joinJob]: "emr-serverless" }],
    ["all three engines", { [datasetJob]: "athena", [joinJob]: "emr-serverless" }],
    [
      "no job on Glue (the dataset jobs on Athena, the others on EMR Serverless)",
      Object.fromEntries(shape.jobs.map((id): [string, EngineName] => [id, shape.datasetJobs.includes(id) ? "athena" : "emr-serverless"])),
    ],
  ];
  for (const [label, engines] of scenarios) {
    describe(label, () => {
      const config = withEngines(engines);
      const names = resourceNames(config);
      const jobsOn = (engine: EngineName) => Object.keys(config.jobs).filter((id) => config.jobs[id].engine === engine);
      let runner: TfJson;
      before(() => ({ runner } = synthRunner(config)));

      it("grants each engine's actions only when a job uses it, never on a '*' resource", () => {
        for (const engine of ["glue", "athena", "emr-serverless"] as const) {
          const statements = actionsOf(runner, engine);
          if (jobsOn(engine).length === 0) expect(statements, `${engine} is used by no job`).to.deep.equal([]);
          else expect(statements, `${engine} actions`).to.not.be.empty;
          for (const s of statements) for (const resource of s.Resource) expect(resource, `${s.Sid} ${resource}`).to.not.match(/^\*$|:\*$/);
        }
        for (const s of statementsOf(runner))
          if (s.Action.some((a: string) => /^(athena|emr-serverless|glue|iam|s3):/.test(a))) expect(s.Resource, s.Sid).to.not.include("*");
      });

      it("scopes Glue to the jobs on Glue, and wakes on their state changes only", () => {
        const glueJobs = jobsOn("glue");
        const glueRule = rulePatterns(runner).find((p) => p.source[0] === "aws.glue");
        if (glueJobs.length === 0) {
          expect(glueRule).to.equal(undefined);
          return;
        }
        const run = statementsOf(runner).find((s) => s.Sid === "RunProjectJobs");
        expect(run.Resource).to.have.length(glueJobs.length);
        for (const id of glueJobs) expect(run.Resource.some((arn: string) => arn.includes(`aws_glue_jobjob-${id}arn`)), id).to.equal(true);
        expect(glueRule!.detail.jobName).to.deep.equal(glueJobs.map(names.glueJob));
      });

      it("scopes Athena to the workgroup ARN and wakes on that workgroup's query state changes", () => {
        const athenaRule = rulePatterns(runner).find((p) => p.source[0] === "aws.athena");
        if (jobsOn("athena").length === 0) {
          expect(athenaRule).to.equal(undefined);
          expect(statementsOf(runner).find((s) => s.Sid === "ReadCatalogForAthena")).to.equal(undefined);
          return;
        }
        expect(athenaRule).to.deep.equal({ source: ["aws.athena"], "detail-type": ["Athena Query State Change"], detail: { workgroupName: [`${names.prefix}-etl`] } });
        const queries = statementsOf(runner).find((s) => s.Sid === "RunAthenaQueries");
        expect(queries.Resource).to.have.length(1);
        expect(queries.Resource[0]).to.equal(`arn:\${data.aws_partition.partition.partition}:athena:${config.region}:\${data.aws_caller_identity.account.account_id}:workgroup/${names.athenaWorkGroup}`);
        const catalog = statementsOf(runner).find((s) => s.Sid === "ReadCatalogForAthena");
        const database = config.glue.databaseName;
        expect(catalog.Resource.map((r: string) => r.replace(new RegExp(`^.*:glue:${config.region}:[^:]+:`), ""))).to.deep.equal(["catalog", `database/${database}`, `table/${database}/*`]);
        // Inputs: exactly the raw datasets and job outputs the Athena jobs read.
        const inputs = jobsOn("athena").flatMap((id) => config.jobs[id].inputs.map((i) => (i.dataset ? config.datasets[i.dataset].prefix : config.jobs[i.job!].output)));
        const read = statementsOf(runner).find((s) => s.Sid === "ReadAthenaInputs");
        expect(read.Resource.map((r: string) => r.replace(/^.*\}\//, ""))).to.have.members([...new Set(inputs)].map((p) => `${p}*`));
        // Results: by default under the prefix the glue stack's workgroup writes to (one constant for both stacks).
        const results = statementsOf(runner).find((s) => s.Sid === "WriteAthenaResults");
        expect(results.Resource.map((r: string) => r.replace(/^.*\}\//, ""))).to.deep.equal([`${ATHENA_RESULTS_PREFIX}*`]);
      });

      it("scopes EMR Serverless to the application and its job runs, and passes only the job role to EMR Serverless", () => {
        const emrRule = rulePatterns(runner).find((p) => p.source[0] === "aws.emr-serverless");
        if (jobsOn("emr-serverless").length === 0) {
          expect(emrRule).to.equal(undefined);
          return;
        }
        const app = /cross-stack-output-aws_emrserverless_applicationtest-emr-application(arn|id)\}$/;
        expect(emrRule!["detail-type"]).to.deep.equal(["EMR Serverless Job Run State Change"]);
        expect(emrRule!.detail.applicationId).to.have.length(1);
        expect(emrRule!.detail.applicationId[0]).to.match(app);
        const runs = statementsOf(runner).find((s) => s.Sid === "RunEmrServerlessJobs");
        expect(runs.Action).to.have.members(["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun"]);
        expect(runs.Resource).to.have.length(2);
        expect(runs.Resource[0]).to.match(app);
        expect(runs.Resource[1]).to.equal(`${runs.Resource[0]}/jobruns/*`);
        const pass = statementsOf(runner).find((s) => s.Sid === "PassEmrJobRole");
        expect(pass.Action).to.deep.equal(["iam:PassRole"]);
        expect(pass.Resource).to.have.length(1);
        expect(pass.Resource[0]).to.match(/cross-stack-output-aws_iam_roletest-emr-job-rolearn\}$/);
        expect(pass.Condition).to.deep.equal({ StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } });
      });

      it("reads only the specs, and writes only the output and staging folders, of the jobs not on Glue", () => {
        const staged = [...jobsOn("athena"), ...jobsOn("emr-serverless")];
        const fn = resourceWith(runner, "aws_lambda_function", "function_name", names.runnerFunction);
        const env = fn.environment.variables;
        expect(JSON.parse(env.JOB_ENGINES)).to.deep.equal(Object.fromEntries(Object.entries(config.jobs).map(([id, j]) => [names.glueJob(id), j.engine])));
        const specs = statementsOf(runner).find((s) => s.Sid === "ReadJobSpecs");
        const publish = statementsOf(runner).find((s) => s.Sid === "PublishJobOutputs");
        const list = statementsOf(runner).find((s) => s.Sid === "ListJobFolders");
        if (staged.length === 0) {
          expect(env.JOB_SPECS_URI).to.equal(undefined);
          expect([specs, publish, list]).to.deep.equal([undefined, undefined, undefined]);
          // S3: only the counts object each Glue job writes in its staging folder, beside its output.
          const s3 = statementsOf(runner).filter((s) => s.Action.some((a: string) => a.startsWith("s3:")));
          expect(s3.map((s) => [s.Sid, s.Action])).to.deep.equal([["ReadGlueJobCounts", ["s3:GetObject"]]]);
          expect(s3[0].Resource).to.have.length(jobsOn("glue").length);
          for (const [i, id] of jobsOn("glue").entries()) expect(s3[0].Resource[i]).to.match(new RegExp(`\\}/${config.dataLake.stagingPrefix}${names.glueJob(id)}/${COUNTS_OBJECT}$`));
          return;
        }
        expect(env.JOB_SPECS_URI).to.match(
          new RegExp(`^s3://\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stackIds(config).glue}\\.outputs\\..+\\}/${config.artifacts.scriptsPrefix}jobs/$`),
        );
        const keyOf = (arn: string) => arn.replace(/^.*\}\//, "");
        expect(specs.Action).to.deep.equal(["s3:GetObject"]);
        expect(specs.Resource.map(keyOf)).to.have.members(staged.map((id) => `glue-scripts/jobs/${names.glueJob(id)}.json`));
        const folders = staged.flatMap((id) => [`${config.jobs[id].output}*`, `staging/${names.glueJob(id)}/*`]);
        expect(publish.Action).to.have.members(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]);
        expect(publish.Resource.map(keyOf)).to.have.members(folders);
        expect(list.Action).to.deep.equal(["s3:ListBucket"]);
        expect(list.Condition.StringLike["s3:prefix"]).to.include.members(folders);
        // Nothing the runner does not publish: no job on Glue has its output or staging folder here.
        for (const id of jobsOn("glue")) if (!staged.some((s) => config.jobs[s].inputs.some((i) => i.job === id))) expect(publish.Resource.map(keyOf)).to.not.include(`${config.jobs[id].output}*`);
      });
    });
  }

  it("refuses a job on EMR Serverless without the application, naming the job", () => {
    expect(() => synthRunner(withEngines({ [joinJob]: "emr-serverless" }), false)).to.throw(new RegExp(`${joinJob} run on emr-serverless, which needs the EMR Serverless application`));
  });
});
