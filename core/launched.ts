// What tools/launch.cjs tells the app it runs (an npm script's prebuilt bundle, tools/app-build.ts): how to load a file
// the app loads by path (a Lambda handler) as a fresh module from that build.
// Absent when the code runs from its sources (tsx, mocha): callers then require the .ts file as before.

/** Set by tools/launch.cjs on globalThis under this symbol (Symbol.for, so the bundle and the launcher share it). */
export const LAUNCHED = Symbol.for("etl-orchestrator.launched");

export interface Launched {
  /**
   * A fresh module (its code run again, nothing shared with an earlier load) of the build's entry point for
   * `sourceFile` (absolute), or undefined when the build has none for it.
   */
  loadFresh(sourceFile: string): unknown;
  /** require() of a file outside the build (a configuration's local handler), TypeScript included. */
  requireSource(file: string): unknown;
}

export function launched(): Launched | undefined {
  return (globalThis as { [LAUNCHED]?: Launched })[LAUNCHED];
}
