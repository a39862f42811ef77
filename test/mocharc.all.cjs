// `npm test`: every test file, in parallel on one worker more than the machine has cores, the slowest files first.
// The integration files spend much of their time waiting (on child processes, servers and the timers of the ASL they
// run): with one worker per core, a core idles through each such wait. Mocha hands the files to its workers in the
// order given (its default is by name), so a long file that comes late leaves one worker running it alone at the
// end. The slowest, by wall time each file's tests took in a whole `npm test`, are from the profile in BENCHMARKS.md
// ("Test loop", session 10).
const { existsSync, readdirSync } = require("node:fs");
const { availableParallelism } = require("node:os");
const { join } = require("node:path");

const SLOWEST_FIRST = [
  "test/e2e/three-datasets-copy.test.ts",
  "test/tools/synth-app.test.ts",
  "test/e2e/cli.test.ts",
  "test/local/runtime.test.ts",
  "test/example/e2e-cli.test.ts",
  "test/tools/launch.test.ts",
  "test/e2e/serve-aws-cli.test.ts",
  "test/local/athena-service.test.ts",
  "test/e2e/serve-engines-cli.test.ts",
  "test/stacks/bundle.test.ts",
  "test/local/etl-engine.test.ts",
  "test/functions/etl-runner/contract.test.ts",
  "test/e2e/native-glue.test.ts",
  "test/local/glue-service.test.ts",
  "test/tools/commands.test.ts",
  "test/local/sfn-integrations.test.ts",
  "test/local/sfn-service.test.ts",
  "test/tools/synth-hcl.test.ts",
  "test/bench/reap-all.test.ts",
  "test/local/emr-serverless-service.test.ts",
];

const root = join(__dirname, "..");
const missing = SLOWEST_FIRST.filter((file) => !existsSync(join(root, file)));
if (missing.length) throw new Error(`test/mocharc.all.cjs: SLOWEST_FIRST names files that do not exist: ${missing.join(", ")}`);
const all = readdirSync(join(root, "test"), { recursive: true })
  .map((file) => `test/${file.split("\\").join("/")}`)
  .filter((file) => file.endsWith(".test.ts"))
  .sort();

module.exports = {
  ...require("../.mocharc.json"),
  jobs: availableParallelism() + 1,
  spec: [...SLOWEST_FIRST, ...all.filter((file) => !SLOWEST_FIRST.includes(file))],
};
