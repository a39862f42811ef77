// Test helper (not a test file): cdktf stacks built and synthesized with cheap stack traces. It imports only cdktf,
// so the construct tests (which read no configuration) can use it without test/stacks/synth.ts's imports.
import { Testing } from "cdktf";

/**
 * Runs `build` (constructing and synthesizing cdktf stacks) with cheap stack traces. cdktf captures a whole stack
 * trace for every token it creates, for its own error messages (none reaches the synthesized output): mapping those
 * frames through tsx's source maps was about a third of a synthesis's CPU, and formatting them, unmapped, most of
 * what was left (measured per capture in the unit tests: ~230 us mapped, ~80 us unmapped, ~40 us unformatted; ~19,000
 * captures in `npm run test:unit`). So source maps are off and a trace captured meanwhile is left empty. An error
 * `build` throws still has its whole mapped stack: V8 formats it when it is read, after this. What is lost is the
 * "Object creation stack" cdktf puts in an error it builds about a token (a resolution error: where the bad token
 * was made); to see it, run the tests with ETL_TEST_STACK_TRACES=1, which runs `build` as is.
 */
export function withCheapStackTraces<T>(build: () => T): T {
  if (process.env.ETL_TEST_STACK_TRACES === "1") return build();
  const sourceMaps = process.sourceMapsEnabled;
  const prepare = Error.prepareStackTrace;
  process.setSourceMapsEnabled(false);
  Error.prepareStackTrace = () => "";
  try {
    return build();
  } finally {
    Error.prepareStackTrace = prepare;
    process.setSourceMapsEnabled(sourceMaps);
  }
}

/** Testing.synthScope (a stack of the constructs `build` adds, as JSON text), withCheapStackTraces. */
export function synthScope(build: Parameters<typeof Testing.synthScope>[0]): string {
  return withCheapStackTraces(() => Testing.synthScope(build));
}
