// One structured JSON logger per handler; service name and level come from POWERTOOLS_* variables.
import { Logger } from "@aws-lambda-powertools/logger";
import type { ConstructorOptions } from "@aws-lambda-powertools/logger/types";
import type { Context } from "aws-lambda";

/** Powertools' Logger, able to hand each invocation a child that carries the Lambda context. */
class HandlerLogger extends Logger {
  protected override createLogger(options?: ConstructorOptions): HandlerLogger {
    return new HandlerLogger(options);
  }

  /**
   * The logger of one invocation: this logger's keys plus the Lambda context (request id, function, memory,
   * cold start) on every line. A child per invocation, so invocations that overlap in one module (the local
   * runtime's async invokes) each log their own request id. The cold start is this (the container's) logger's:
   * true once, on its first invocation (Powertools reports it only where AWS_LAMBDA_INITIALIZATION_TYPE is
   * on-demand, as Lambda and the local runtime set it).
   */
  forInvocation(context: Context): Logger {
    const coldStart = this.getColdStart();
    const child = this.createChild() as HandlerLogger;
    // A new logger counts its own first context as a cold start: spend that on a warm invocation.
    if (!coldStart) child.getColdStart();
    child.addContext(context);
    return child;
  }
}

export function createLogger(persistentKeys: Record<string, string> = {}): Logger {
  return new HandlerLogger({ persistentKeys });
}

/** The logger an invocation uses: with its Lambda context when it has one (a direct call in a test has none). */
export function invocationLogger(container: Logger, context: Partial<Context> | undefined): Logger {
  if (!context?.awsRequestId || !(container instanceof HandlerLogger)) return container;
  return container.forInvocation(context as Context);
}

export type { Logger };
