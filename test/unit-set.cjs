// Which tests `npm run test:unit` leaves out: those that start a server (dynalite, s3rver, the local AWS services)
// or a child process (the CLI, esbuild, git, python3). Every other test is a unit test; test/setup.ts makes a unit
// test that starts either fail, naming this file.
module.exports = {
  integration: [
    "test/e2e/**",
    "test/example/{e2e-*,local-athena-service}.test.ts",
    "test/asl/failure-path.test.ts",
    "test/bench/{call-counter,stats}.test.ts",
    "test/functions/*/{arrivals-table,contract,runs-table,release,sfn-client,start,uploads,wait-task,wake-events,worker}.test.ts",
    "test/glue-scripts/etl_common.test.ts",
    "test/local/{athena-service,aws-json-server,emr-serverless-service,eventbridge-service,glue-service,kicks,runtime,s3,s3-staging,sfn-service,sfn-integrations,sfn-native-engines,sfn-redrive}.test.ts",
    "test/stacks/bundle.test.ts",
    "test/tools/{commands,diagram,launch,synth-app,synth-diff,synth-hcl}.test.ts",
    "test/unit-set.test.ts",
  ],
};
