import { expect } from "chai";
import { checkIntegrationState, integrationStatements, parseResource, SUPPORTED_RESOURCES, type IntegrationIamContext } from "../../core/sfn-integrations";

const ctx: IntegrationIamContext = {
  arn: (service, resource) => `arn:aws:${service}:eu-west-1:111122223333:${resource}`,
  globalArn: (service, resource) => `arn:aws:${service}:::${resource}`,
  roleArn: (name) => `arn:aws:iam::111122223333:role/${name}`,
  databaseName: "etl_db",
  athenaBucketArns: ["arn:aws:s3:::lake"],
};

const iam = (states: Record<string, Record<string, unknown>>) => integrationStatements(Object.entries(states), (r) => r.includes(":activity:"), ctx);
const task = (Resource: string, Parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ Type: "Task", Resource, Parameters, End: true, ...extra });
const noWildcard = (statements: ReturnType<typeof iam>) => statements.filter((s) => !s.Action.includes("lakeformation:GetDataAccess")).flatMap((s) => s.Resource).filter((r) => r === "*");

describe("core/sfn-integrations (state-by-state IAM)", () => {
  it("accepts exactly the listed resources and patterns", () => {
    expect(SUPPORTED_RESOURCES).to.have.members([
      "arn:aws:states:::glue:startJobRun",
      "arn:aws:states:::glue:startJobRun.sync",
      "arn:aws:states:::athena:startQueryExecution",
      "arn:aws:states:::athena:startQueryExecution.sync",
      "arn:aws:states:::emr-serverless:startJobRun",
      "arn:aws:states:::emr-serverless:startJobRun.sync",
      "arn:aws:states:::lambda:invoke",
      "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "arn:aws:states:::events:putEvents",
      "arn:aws:states:::events:putEvents.waitForTaskToken",
      "arn:aws:states:::sns:publish",
    ]);
    for (const refused of ["arn:aws:states:::glue:startJobRun.waitForTaskToken", "arn:aws:states:::sns:publish.sync", "arn:aws:states:::dynamodb:putItem", "arn:aws:states:::lambda:invoke.sync", "arn:aws:lambda:us-east-1:1:function:f"]) {
      expect(parseResource(refused), refused).to.equal(undefined);
      expect(() => checkIntegrationState("S", task(refused, {}))).to.throw(/state 'S': Resource '.*' is neither .*Supported: arn:aws:states:::glue:startJobRun, /);
    }
  });

  it("glue:startJobRun.sync: StartJobRun, GetJobRun, GetJobRuns, BatchStopJobRun on the job; request-response: StartJobRun only", () => {
    const sync = iam({ "Run LoadOrders": task("arn:aws:states:::glue:startJobRun.sync", { JobName: "etl-dev-LoadOrders" }) });
    expect(sync).to.deep.equal([{ Sid: "RunLoadOrders", Action: ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], Resource: ["arn:aws:glue:eu-west-1:111122223333:job/etl-dev-LoadOrders"] }]);
    const rr = iam({ Start: task("arn:aws:states:::glue:startJobRun", { JobName: "etl-dev-LoadOrders" }) });
    expect(rr).to.deep.equal([{ Sid: "Start", Action: ["glue:StartJobRun"], Resource: ["arn:aws:glue:eu-west-1:111122223333:job/etl-dev-LoadOrders"] }]);
  });

  it("athena:startQueryExecution: the workgroup and catalog, the project's buckets and database, nothing wider where AWS allows narrower", () => {
    const sync = iam({ Q: task("arn:aws:states:::athena:startQueryExecution.sync", { QueryString: "SELECT 1", WorkGroup: "etl-dev-etl", ResultConfiguration: { OutputLocation: "s3://results/q/" } }) });
    expect(sync.map((s) => s.Sid)).to.deep.equal(["Q1", "Q2", "Q3", "Q4"]);
    expect(sync[0]).to.deep.include({
      Action: ["athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution", "athena:GetDataCatalog"],
      Resource: ["arn:aws:athena:eu-west-1:111122223333:workgroup/etl-dev-etl", "arn:aws:athena:eu-west-1:111122223333:datacatalog/AwsDataCatalog"],
    });
    expect(sync[1].Resource).to.deep.equal(["arn:aws:s3:::lake", "arn:aws:s3:::lake/*", "arn:aws:s3:::results", "arn:aws:s3:::results/*"]);
    expect(sync[2].Resource).to.deep.equal(["arn:aws:glue:eu-west-1:111122223333:catalog", "arn:aws:glue:eu-west-1:111122223333:database/etl_db", "arn:aws:glue:eu-west-1:111122223333:table/etl_db/*"]);
    expect(sync[3]).to.deep.include({ Action: ["lakeformation:GetDataAccess"], Resource: ["*"] }); // no resource-level permissions
    expect(noWildcard(sync)).to.deep.equal([]);
    const rr = iam({ Q: task("arn:aws:states:::athena:startQueryExecution", { QueryString: "SELECT 1", WorkGroup: "wg" }) });
    expect(rr[0].Action).to.deep.equal(["athena:StartQueryExecution", "athena:GetDataCatalog"]);
  });

  it("emr-serverless:startJobRun.sync: the application, its job runs, the managed rule, and PassRole of the job role to EMR Serverless only", () => {
    const sync = iam({ Spark: task("arn:aws:states:::emr-serverless:startJobRun.sync", { ApplicationId: "00app", ExecutionRoleArn: "arn:aws:iam::111122223333:role/job", JobDriver: {} }) });
    const app = "arn:aws:emr-serverless:eu-west-1:111122223333:/applications/00app";
    expect(sync.map(({ Sid, ...s }) => s)).to.deep.equal([
      { Action: ["emr-serverless:StartJobRun"], Resource: [app] },
      { Action: ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"], Resource: [`${app}/jobruns/*`] },
      { Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"], Resource: ["arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForEMRServerlessJobRule"] },
      { Action: ["iam:PassRole"], Resource: ["arn:aws:iam::111122223333:role/job"], Condition: { StringEquals: { "iam:PassedToService": "emr-serverless.amazonaws.com" } } },
    ]);
    const rr = iam({ Spark: task("arn:aws:states:::emr-serverless:startJobRun", { ApplicationId: "00app", ExecutionRoleArn: "job", JobDriver: {} }) });
    expect(rr.map((s) => s.Action[0])).to.deep.equal(["emr-serverless:StartJobRun", "iam:PassRole"]);
    expect(rr[1].Resource).to.deep.equal(["arn:aws:iam::111122223333:role/job"]);
  });

  it("lambda:invoke (and .waitForTaskToken): InvokeFunction on the function and its versions only", () => {
    const statements = iam({
      Call: task("arn:aws:states:::lambda:invoke", { FunctionName: "tool", Payload: {} }),
      Hand: task("arn:aws:states:::lambda:invoke.waitForTaskToken", { FunctionName: "arn:aws:lambda:eu-west-1:111122223333:function:other:prod", Payload: { "token.$": "$$.Task.Token" } }),
    });
    expect(statements).to.deep.equal([
      { Sid: "Call", Action: ["lambda:InvokeFunction"], Resource: ["arn:aws:lambda:eu-west-1:111122223333:function:tool", "arn:aws:lambda:eu-west-1:111122223333:function:tool:*"] },
      { Sid: "Hand", Action: ["lambda:InvokeFunction"], Resource: ["arn:aws:lambda:eu-west-1:111122223333:function:other", "arn:aws:lambda:eu-west-1:111122223333:function:other:*"] },
    ]);
  });

  it("events:putEvents (and .waitForTaskToken): the buses the entries name, limited to their sources", () => {
    const statements = iam({
      Kick: task("arn:aws:states:::events:putEvents.waitForTaskToken", { Entries: [{ Source: "etl.dev.workflow", DetailType: "X", Detail: { "token.$": "$$.Task.Token" } }, { Source: "etl.tool", EventBusName: "tools", DetailType: "Y", Detail: {} }] }),
    });
    expect(statements).to.deep.equal([
      {
        Sid: "Kick",
        Action: ["events:PutEvents"],
        Resource: ["arn:aws:events:eu-west-1:111122223333:event-bus/default", "arn:aws:events:eu-west-1:111122223333:event-bus/tools"],
        Condition: { StringEquals: { "events:source": ["etl.dev.workflow", "etl.tool"] } },
      },
    ]);
  });

  it("removing a state removes its statements; activities get none", () => {
    const states = {
      A: task("arn:aws:states:::glue:startJobRun.sync", { JobName: "a" }),
      B: task("arn:aws:states:::sns:publish", { TopicArn: "arn:aws:sns:eu-west-1:111122223333:t", Message: "m" }),
      Act: task("arn:aws:states:eu-west-1:111122223333:activity:x", {}),
    };
    expect(iam(states).map((s) => s.Sid)).to.deep.equal(["A", "B"]);
    const { A: _, ...withoutA } = states;
    expect(iam(withoutA).map((s) => s.Sid)).to.deep.equal(["B"]);
  });

  it("refuses what IAM cannot be scoped to, and a callback that never hands out its token, naming the state and field", () => {
    expect(() => iam({ G: task("arn:aws:states:::glue:startJobRun.sync", { "JobName.$": "$.job" }) })).to.throw(/state 'G': Parameters\.JobName\.\$ is a path; give JobName as a literal/);
    expect(() => iam({ G: task("arn:aws:states:::glue:startJobRun.sync", {}) })).to.throw(/state 'G': Parameters\.JobName is required as a literal string/);
    expect(() => iam({ L: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Arguments: { FunctionName: "{% $states.input.fn %}" }, End: true } })).to.throw(/state 'L': Arguments\.FunctionName is required as a literal/);
    expect(() => iam({ E: task("arn:aws:states:::events:putEvents", { Entries: [{ "Source.$": "$.s" }] }) })).to.throw(/state 'E': Parameters\.Entries\[0\]\.Source\.\$ is a path/);
    expect(() => iam({ W: task("arn:aws:states:::events:putEvents.waitForTaskToken", { Entries: [{ Source: "s", Detail: {} }] }) })).to.throw(/state 'W': a \.waitForTaskToken task must pass the task token/);
  });
});
