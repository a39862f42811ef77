// `npm run test:config`: the configuration-driven part of `npm test`, the unit set (no server, no child process;
// test/unit-set.cjs) without the shipped example's own results (test/example/) and without the unit tests that read
// no configuration (unit-set.cjs: configFree). It reads whatever configuration is active and must pass after any
// valid change to it: the three-datasets copy test runs it on the fixture applied to a copy of the project
// (test/e2e/three-datasets-copy.test.ts). Serial: that run is already one of npm test's two workers, where two more
// workers would only add their start-up.
const unit = require("./mocharc.unit.cjs");
module.exports = { ...unit, parallel: false, ignore: [...unit.ignore, "test/example/**", ...require("./unit-set.cjs").configFree] };
