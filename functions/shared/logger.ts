// One structured JSON logger per handler; service name and level come from POWERTOOLS_* variables.
import { Logger } from "@aws-lambda-powertools/logger";

export function createLogger(persistentKeys: Record<string, string> = {}): Logger {
  return new Logger({ persistentKeys });
}

export type { Logger };
