// aws-local-stepfunctions requires asl-validator as it loads (about 0.08 s of CPU: ajv, its formats, the schemas),
// to check each definition it is given. The service gives it only definitions that passed that check before with
// noValidate (local/sfn-service.ts libraryMachine), so a run with the build cache never calls it: the library gets a
// stand-in that loads the real validator at its first call, and passes the call on (a failure to load then throws
// from that call). Import this module before the library; a validator already loaded is left as it is.
import Module from "node:module";
import { dirname } from "node:path";

/** The validator the library requires: resolved from the library (its own copy) and from here (a bundled app's). */
const library = require.resolve("asl-validator", { paths: [dirname(require.resolve("aws-local-stepfunctions"))] });
const files = new Set([library, require.resolve("asl-validator")]);
const standIns = new Map<string, Module>();

for (const file of files) {
  if (require.cache[file]) continue;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = function validator(...args: unknown[]) {
    if (!real) {
      if (require.cache[file] === standIn) delete require.cache[file];
      real = require(file) as (...args: unknown[]) => unknown;
    }
    return real(...args);
  };
  require.cache[file] = standIn;
  standIns.set(file, standIn);
}

/** Whether the library's asl-validator is loaded (for the tests: a stand-in not yet called leaves it unloaded). */
export const validatorLoaded = (): boolean => require.cache[library] !== undefined && require.cache[library] !== standIns.get(library);
