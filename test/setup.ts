// Loaded by mocha before every test file (see .mocharc.json).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.AWS_REGION ??= "us-east-1";
// No test may reach AWS: fake credentials, and every real endpoint is overridden per test.
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";

// `npm run test:unit` (ETL_TEST_UNIT=1) runs only tests that start no server and no child process; a test in
// that set that tries either fails at once, so the fast set cannot quietly grow slow.
if (process.env.ETL_TEST_UNIT === "1") {
  const refuse = (what: string) => () => {
    throw new Error(`${what} in a unit test: move this test out of the unit set (test/unit-set.cjs)`);
  };
  /* eslint-disable @typescript-eslint/no-require-imports */
  const net = require("node:net") as typeof import("node:net");
  const childProcess = require("node:child_process") as typeof import("node:child_process");
  net.Server.prototype.listen = refuse("a server listening") as never;
  const fork = childProcess.fork;
  for (const name of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"] as const) {
    (childProcess as Record<string, unknown>)[name] = refuse(`child_process.${name}`);
  }
  // A parallel run's main process runs no test: it only forks mocha's workers, each of which loads this guard. A
  // worker has mocha's MOCHA_WORKER_ID and an IPC channel (a mocha a test starts inherits the variable only).
  const mochaWorker = require.resolve("mocha/lib/nodejs/worker.cjs");
  if (process.env.MOCHA_WORKER_ID === undefined || process.send === undefined) {
    childProcess.fork = ((modulePath: string, ...rest: never[]) =>
      modulePath === mochaWorker ? fork(modulePath, ...rest) : refuse("child_process.fork")()) as typeof fork;
  }
}
