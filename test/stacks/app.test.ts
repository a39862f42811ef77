import { expect } from "chai";
import { jobsOn } from "../../core/topology";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { buildApp, stackIds } from "../../stacks/app";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "../../core/config";
import { stackWorkingDir } from "../../stacks/etl-stack";
import { buildAppCheaply, resources, synthConfig, synthFile, variant } from "./synth";
import { activeRawConfig, parseVariant } from "../support/workflow";

/** The active configuration with a test-owned environment `prod` (more Glue workers, a year of logs). */
const withProd = () => {
  const raw = activeRawConfig();
  raw.environments = { ...raw.environments, prod: { glue: { numberOfWorkers: 4 }, logRetentionDays: 365 } };
  return parseVariant(raw, { environment: "prod" });
};

describe("stacks/app", () => {
  it("names the stacks <name>-<environment> in deploy order", () => {
    const { app, glue, stateMachine, runner } = buildAppCheaply(variant(() => undefined), join(tmpdir(), "etl-never-written"));
    expect([glue, stateMachine, runner].map((s) => s.node.id)).to.deep.equal(["glue-dev", "state-machine-dev", "runner-dev"]);
    expect(app.node.children.map((c) => c.node.id)).to.deep.equal(["glue-dev", "state-machine-dev", "runner-dev"]);
    expect(stackIds(withProd())).to.deep.equal({ glue: "glue-prod", stateMachine: "state-machine-prod", runner: "runner-prod" });
  });

  it("configures the AWS provider with the region and the tags plus Environment in every stack", () => {
    const app = synthFile();
    for (const stack of [app.glue, app.stateMachine, app.runner]) {
      const [aws] = stack.provider.aws;
      expect(aws.region).to.equal("us-east-1");
      expect(aws.default_tags).to.deep.equal([{ tags: { Project: "etl-orchestrator", ManagedBy: "cdktf", Environment: "dev" } }]);
    }
  });

  it("wires the stacks through remote state: state-machine reads glue; runner reads glue and state-machine", () => {
    const app = synthFile();
    const remotes = (stack: any) => Object.keys(stack.data?.terraform_remote_state ?? {}).sort();
    expect(remotes(app.glue)).to.deep.equal([]);
    expect(remotes(app.stateMachine)).to.deep.equal(["cross-stack-reference-input-glue-dev"]);
    expect(remotes(app.runner)).to.deep.equal(["cross-stack-reference-input-glue-dev", "cross-stack-reference-input-state-machine-dev"]);
  });

  it("uses the local backend by default, and a folder given as backend.path, as paths relative to the stack's folder", () => {
    const glue = synthFile().glue;
    expect(Object.keys(glue.terraform.backend)).to.deep.equal(["local"]);
    // cdktf runs terraform in cdktf.out/stacks/<stack>/; the default state is terraform.<stack>.tfstate at the project root.
    expect(glue.terraform.backend.local.path).to.equal("../../../terraform.glue-dev.tfstate");
    const app = synthConfig(variant((raw) => (raw.backend = { type: "local", path: "state" })));
    const path = app.runner.terraform.backend.local.path;
    expect(isAbsolute(path), path).to.equal(false);
    expect(resolve(stackWorkingDir("runner-dev"), path)).to.equal(join(app.config.rootDir, "state", "runner-dev.tfstate"));
    // Downstream stacks read upstream state at the same place.
    expect(app.runner.data!.terraform_remote_state["cross-stack-reference-input-glue-dev"].config.path).to.equal(app.glue.terraform.backend.local.path);
    const absolute = synthConfig(variant((raw) => (raw.backend = { type: "local", path: "/var/state" })));
    expect(absolute.glue.terraform.backend.local.path).to.equal("/var/state/glue-dev.tfstate");
  });

  it("names the AWS provider by its registry address", () => {
    const app = synthFile();
    for (const stack of [app.glue, app.stateMachine, app.runner]) expect(stack.terraform.required_providers.aws.source).to.equal("hashicorp/aws");
  });

  it("stores each stack's state in S3 at <keyPrefix><stack id>.tfstate, encrypted, with S3 locking", () => {
    const app = synthConfig(variant((raw) => (raw.backend = { type: "s3", bucket: "my-tf-state", keyPrefix: "etl/" })));
    expect(app.glue.terraform.backend.s3).to.deep.equal({ bucket: "my-tf-state", key: "etl/glue-dev.tfstate", region: "us-east-1", encrypt: true, use_lockfile: true });
    expect(app.runner.terraform.backend.s3.key).to.equal("etl/runner-dev.tfstate");
    // Downstream stacks read upstream state from the same backend.
    expect(app.runner.data!.terraform_remote_state["cross-stack-reference-input-state-machine-dev"].config).to.include({ bucket: "my-tf-state", key: "etl/state-machine-dev.tfstate" });
  });

  it("applies an environment's overrides", () => {
    const prod = synthConfig(withProd());
    const jobs = Object.values(resources(prod.glue, "aws_glue_job"));
    // One Glue job per job on Glue, named for the environment.
    expect(jobs.map((j) => j.name).sort()).to.deep.equal(jobsOn(prod.config, "glue").map((id) => `${prod.config.project}-prod-${id}`).sort());
    // The environment's worker count, except where a job sets its own.
    for (const id of jobsOn(prod.config, "glue"))
      expect(jobs.find((j) => j.name === `${prod.config.project}-prod-${id}`)!.number_of_workers, id).to.equal((prod.config.jobs[id] as { numberOfWorkers?: number }).numberOfWorkers ?? 4);
    expect(Object.values(resources(prod.runner, "aws_cloudwatch_log_group"))[0].retention_in_days).to.equal(365);
  });

  describe("a bad configuration file", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "etl-config-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("fails before any stack is built, naming the file, the field and the value", () => {
      const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8"));
      raw.glue.workerType = "G.3X";
      raw.runner.timeoutSeconds = 60;
      const file = join(dir, "etl.config.json");
      writeFileSync(file, JSON.stringify(raw));
      expect(() => buildApp(loadConfig(file), { outdir: join(dir, "out") }))
        .to.throw(ConfigError)
        .with.property("message")
        .that.includes(`${file}: invalid configuration`)
        .and.includes('glue.workerType: ')
        .and.includes('(got "G.3X")')
        .and.includes("runner.timeoutSeconds: at least 90 s, to outlive the 60 s activity long-poll (got 60)");
    });
  });
});
