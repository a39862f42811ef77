// Classifying AWS SDK errors without importing each service's exception classes.

/** True when the service answered with an error (as opposed to a network failure or timeout). */
export function isServiceError(error: unknown): error is Error & { $fault?: "client" | "server"; $metadata: { httpStatusCode: number } } {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return error instanceof Error && typeof metadata?.httpStatusCode === "number";
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
