// Which tests `npm run test:unit` leaves out: those that start a server (dynalite, s3rver, the local AWS services)
// or a child process (the CLI, esbuild, git, python3). Every other test is a unit test; test/setup.ts makes a unit
// test that starts either fail, naming this file.
module.exports = {
  integration: [
    "test/e2e/**",
    "test/example/{e2e-*,local-athena-service}.test.ts",
    "test/asl/failure-path.test.ts",
    "test/bench/{call-counter,reap-all,stats}.test.ts",
    "test/functions/*/{arrivals-table,contract,runs-table,release,sfn-client,start,uploads,wait-task,wake-events,worker}.test.ts",
    "test/glue-scripts/etl_common.test.ts",
    "test/local/{athena-service,aws-json-server,emr-serverless-service,eventbridge-service,glue-service,kicks,runtime,s3,s3-staging,sfn-service,sfn-integrations,sfn-native-engines,sfn-redrive}.test.ts",
    "test/stacks/bundle.test.ts",
    "test/support/project-copy.test.ts",
    "test/tools/{commands,diagram,launch,synth-app,synth-diff,synth-hcl}.test.ts",
    "test/unit-set.test.ts",
  ],
  // Unit tests that read none of the configuration (etl.config.json or ETL_CONFIG / ETL_ENV, the ASL, schemas and
  // scripts it names): they pass or fail the same under any configuration, so `npm run test:config` leaves them out.
  // test/config-set.test.ts fails naming a file here that reads it, or imports a file that does.
  configFree: [
    "test/asl/{heartbeat-check,loader}.test.ts",
    "test/bench/{machine,results,sections/test-loop}.test.ts",
    "test/core/{build-cache,build-inputs,cli-args,sfn-integrations}.test.ts",
    "test/functions/data-arrival/{config,events,handler}.test.ts",
    "test/functions/etl-runner/{check,config,events,handler,publish,runner}.test.ts",
    "test/functions/shared/{concurrency,dynamo,env,kick,logger,sfn}.test.ts",
    "test/local/{duckdb-instance,edge,env,etl-engine,input-copies,sample-data,strict-lines,strict-lines-wasm}.test.ts",
    "test/stacks/constructs/{checkov-skip,engine-constructs,engine-grants,lambda-event-rule,nodejs-function-policies,nodejs-function,secure-bucket-grants,secure-bucket}.test.ts",
    "test/stacks/schema-file.test.ts",
    "test/tools/{app-records,entry-points}.test.ts",
    "test/tools/ci/upsert-comment.test.ts",
    "test/tools/synth-hcl/repair.test.ts",
  ],
};
