// `npm run test:unit`: the tests that need no server and no child process (see test/unit-set.cjs), in mocha's
// parallel workers like `npm test` (test/setup.ts guards each worker; the main process only forks them), in npm
// test's order (test/mocharc.all.cjs: the slowest files first, so local/etl-engine, a third of the set's CPU, does
// not start last and run alone at the end).
module.exports = { ...require("../.mocharc.json"), spec: require("./mocharc.all.cjs").spec, ignore: require("./unit-set.cjs").integration };
