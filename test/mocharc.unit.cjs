// `npm run test:unit`: the tests that need no server and no child process (see test/unit-set.cjs).
module.exports = { ...require("../.mocharc.json"), parallel: false, spec: ["test/**/*.test.ts"], ignore: require("./unit-set.cjs").integration };
