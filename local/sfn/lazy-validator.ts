// aws-local-stepfunctions requires asl-validator as it loads (about 0.08 s of CPU: ajv, its formats, the schemas),
// to check each definition it is given. The service gives it only definitions that passed that check before with
// noValidate (local/sfn-service.ts libraryMachine), so a run with the build cache never calls it: the library gets a
// stand-in that loads the real validator at its first call, and passes the call on (a failure to load then throws
// from that call). Import this module before the library; a validator already loaded is left as it is.
import Module from "node:module";
import { dirname } from "node:path";

/**
 * The validator the library requires: its own copy, resolved from the library (a bundled app requires that same file:
 * tools/app-build.ts externalFromImporter).
 */
const library = require.resolve("asl-validator", { paths: [dirname(require.resolve("aws-local-stepfunctions"))] });
/** The stand-in put in the library's place (undefined when the validator was loaded before this module). */
let standIn: Module | undefined;

if (!require.cache[library]) {
  let real: ((...args: unknown[]) => unknown) | undefined;
  const placeholder = new Module(library);
  placeholder.filename = library;
  placeholder.loaded = true;
  placeholder.exports = function validator(...args: unknown[]) {
    if (!real) {
      if (require.cache[library] === placeholder) delete require.cache[library];
      real = require(library) as (...args: unknown[]) => unknown;
    }
    return real(...args);
  };
  require.cache[library] = standIn = placeholder;
}

/** Whether the library's asl-validator is loaded (for the tests: a stand-in not yet called leaves it unloaded). */
export const validatorLoaded = (): boolean => require.cache[library] !== undefined && require.cache[library] !== standIn;
