// Counts the SDK calls a client makes (one per command sent, retries not included), by service and operation.

/** The part of an AWS SDK v3 client this needs. */
interface SdkClient {
  middlewareStack: { add(middleware: unknown, options: { step: "initialize"; name: string }): void };
}

export class CallCounter {
  private readonly counts = new Map<string, Map<string, number>>();

  /** Counts every command `client` sends under `service`. Returns the client. */
  attach<C extends SdkClient>(client: C, service: string): C {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operations = this.counts.get(service) ?? new Map<string, number>();
        this.counts.set(service, operations);
        const operation = (context.commandName ?? "unknown").replace(/Command$/, "");
        operations.set(operation, (operations.get(operation) ?? 0) + 1);
        return next(args);
      },
      { step: "initialize", name: `benchCallCounter-${service}` },
    );
    return client;
  }

  reset(): void {
    this.counts.clear();
  }

  total(service: string): number {
    return [...(this.counts.get(service)?.values() ?? [])].reduce((a, b) => a + b, 0);
  }

  /** E.g. "GetJobRuns 6" or "Scan 1, DeleteItem 2"; "none" when there were no calls. */
  breakdown(service: string): string {
    const operations = [...(this.counts.get(service)?.entries() ?? [])].sort(([a], [b]) => a.localeCompare(b));
    return operations.length ? operations.map(([op, n]) => `${op} ${n}`).join(", ") : "none";
  }
}
