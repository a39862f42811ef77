import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { expect } from "chai";
import { loadStateMachine } from "../../asl/loader";
import { athenaQuery } from "../../core/athena-query";
import { catalogTables } from "../../core/catalog";
import { loadConfig, scriptsDir } from "../../core/config";
import { jobArguments } from "../../core/job-arguments";
import { STAGING_URI_MARKER } from "../../core/job-spec";
import { startLocalAthena } from "../../local/athena-service";
import { startLocalEmrServerless } from "../../local/emr-serverless-service";
import { startLocalS3 } from "../../local/s3";
import { LocalStepFunctions } from "../../local/sfn-service";
import { sampleCsv } from "../support/samples";
import { workflowShape } from "../support/workflow";

const BUCKET = "data-lake-test";
const config = loadConfig();
// A job reading one raw dataset (on Athena, if the configuration has one): both engines run its statement or arguments.
const readsOneDataset = (id: string) => config.jobs[id].inputs.length === 1 && config.jobs[id].inputs[0].dataset !== undefined;
const job = workflowShape(config).jobsOn("athena").find(readsOneDataset) ?? workflowShape(config).jobs.find(readsOneDataset)!;
const dataset = config.jobs[job].inputs[0].dataset!;

describe("local SFN: native Athena and EMR Serverless .sync against the local engines", () => {
  it("athena .sync and emr-serverless .sync succeed, and failures are caught as States.TaskFailed", async () => {
    const s3 = await startLocalS3({ bucket: BUCKET });
    const sfnRef: { sfn?: LocalStepFunctions } = {};
    const athena = await startLocalAthena({ s3: s3.client, catalog: { database: config.glue.databaseName, bucket: BUCKET, tables: catalogTables(config) }, workGroups: ["wg"], transitionMs: 10, onStateChange: (e) => sfnRef.sfn?.serviceEvent(e as never) });
    const emr = await startLocalEmrServerless({ s3: s3.client, scriptsDir: scriptsDir(config), transitionMs: 10, onStateChange: (e) => sfnRef.sfn?.serviceEvent(e as never), injectedFailure: (r) => (r.name === "bad" ? "Injected failure" : undefined) });
    const app = emr.emr.createApplication("spark", "emr-7.9.0").applicationId;
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${config.datasets[dataset].prefix}m.csv`, Body: sampleCsv(config, dataset, { days: 365 }) }));
    const args = jobArguments(config, job, BUCKET);
    const spark = (name: string, out: string) => ({
      Type: "Task", Resource: "arn:aws:states:::emr-serverless:startJobRun.sync",
      Parameters: { ApplicationId: app, ExecutionRoleArn: "arn:aws:iam::000000000000:role/job", Name: name, JobDriver: { SparkSubmit: { EntryPoint: "s3://a/p.py", EntryPointArguments: ["--etl_inputs", args["--etl_inputs"], "--etl_sql", args["--etl_sql"], "--etl_output", out] } } },
    });
    const definition = {
      StartAt: "Query",
      States: {
        Query: { Type: "Task", Resource: "arn:aws:states:::athena:startQueryExecution.sync", Parameters: { QueryString: athenaQuery(config, job).split(STAGING_URI_MARKER).join(`s3://${BUCKET}/staging/q1/`), WorkGroup: "wg", QueryExecutionContext: { Database: config.glue.databaseName } }, ResultPath: "$.query", Next: "BadQuery" },
        BadQuery: { Type: "Task", Resource: "arn:aws:states:::athena:startQueryExecution.sync", Parameters: { QueryString: "SELECT * FROM no_such_table", WorkGroup: "wg" }, ResultPath: "$.badQuery", Catch: [{ ErrorEquals: ["States.TaskFailed"], ResultPath: "$.badQueryError", Next: "Spark" }], Next: "Spark" },
        Spark: { ...spark("good", `s3://${BUCKET}/staging/emr1/`), ResultPath: "$.spark", Next: "BadSpark" },
        BadSpark: { ...spark("bad", `s3://${BUCKET}/staging/emr2/`), ResultPath: "$.badSpark", Catch: [{ ErrorEquals: ["States.TaskFailed"], ResultPath: "$.badSparkError", Next: "Done" }], Next: "Done" },
        Done: { Type: "Succeed" },
      },
    };
    const file = join(mkdtempSync(join(tmpdir(), "sfn-native-")), "m.asl.json");
    writeFileSync(file, JSON.stringify(definition));
    const sfn = await LocalStepFunctions.start({ stateMachine: loadStateMachine(file, {}), serviceEndpoints: { athena: athena.endpoint, emrServerless: emr.endpoint }, syncRecheckMs: 600_000 });
    sfnRef.sfn = sfn;
    const client = new SFNClient({ endpoint: sfn.endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    const t0 = Date.now();
    try {
      const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, input: "{}" }));
      const d = await sfn.waitForExecution(executionArn!);
      expect(d.status, `${d.error}: ${d.cause}`).to.equal("SUCCEEDED");
      const out = JSON.parse(d.output!);
      expect(out.query.QueryExecution.Status.State).to.equal("SUCCEEDED");
      expect(out.badQueryError.Error).to.equal("States.TaskFailed");
      expect(out.spark.JobRun.State).to.equal("SUCCESS");
      expect(out.badSparkError.Error).to.equal("States.TaskFailed");
      // Event-driven: done long before the 10-minute re-check a lost event would need (the work alone can take
      // tens of seconds on a loaded machine).
      expect(Date.now() - t0).to.be.below(150_000);
      const staged = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "staging/q1/" }));
      expect((staged.Contents ?? []).map((o) => o.Key).some((k) => k!.endsWith(".parquet"))).to.equal(true);
    } finally {
      client.destroy();
      await sfn.close();
      await athena.close();
      await emr.close();
      await s3.close();
    }
  });
});
