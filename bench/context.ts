// What every section receives from bench/run.ts.
import type { Figure } from "./results";

export interface BenchContext {
  /** The project root (commands run there). */
  root: string;
  /** A fresh temporary folder for this section, removed afterwards. */
  tmp: string;
  /** Progress on stderr, so stdout stays the table. */
  log: (message: string) => void;
}

export interface Section {
  id: string;
  title: string;
  run(context: BenchContext): Promise<Figure[]>;
}

/** Environment for child processes: no SDK warning on Node 20, no cdktf telemetry. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", CHECKPOINT_DISABLE: "1", ...extra };
}
