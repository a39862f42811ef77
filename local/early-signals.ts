// Imported first by local/cli.ts: from the moment the CLI starts loading, SIGINT or SIGTERM ends it with exit 130
// (nothing has started yet, so there is nothing to close). main() replaces these handlers with its own shutdown.
const ENTRY = /[\\/]local[\\/]cli\.ts$/;

const onEarlySignal = (signal: NodeJS.Signals) => {
  process.stderr.write(`${signal}: interrupted while starting\n`);
  process.exit(130);
};

if (ENTRY.test(process.argv[1] ?? "")) {
  process.on("SIGINT", onEarlySignal);
  process.on("SIGTERM", onEarlySignal);
}

export function removeEarlySignalHandlers(): void {
  process.off("SIGINT", onEarlySignal);
  process.off("SIGTERM", onEarlySignal);
}
