// `npm run test:unit`: the tests that need no server and no child process (see test/unit-set.cjs), in mocha's
// parallel workers like `npm test` (test/setup.ts guards each worker; the main process only forks them).
module.exports = { ...require("../.mocharc.json"), spec: ["test/**/*.test.ts"], ignore: require("./unit-set.cjs").integration };
