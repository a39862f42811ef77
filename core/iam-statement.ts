// An IAM policy statement as plain JSON. Here, not in stacks/, because the topology (core/topology.ts) states the
// IAM of each Step Functions integration; stacks/iam-policy.ts builds the documents from these.

export interface PolicyStatement {
  /** Statement id: letters and digits only. */
  readonly Sid?: string;
  /** @default "Allow" */
  readonly Effect?: "Allow" | "Deny";
  readonly Principal?: unknown;
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}
