// Preloaded by the synth section (node --require bench/synth-phases.cjs <the app command's script>): prints the
// performance marks of the launcher (tools/launch.cjs) and main.ts, and the time of exit, as JSON on stdout.
// Plain JavaScript, so that timing the synth loads nothing the synth itself does not.
"use strict";
const { performance } = require("node:perf_hooks");

process.once("exit", () => {
  const marks = Object.fromEntries(performance.getEntriesByType("mark").map((mark) => [mark.name, mark.startTime]));
  process.stdout.write(JSON.stringify({ ...marks, exit: performance.now() }));
});
