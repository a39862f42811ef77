// IAM policy documents as plain JSON, so statements sit next to the resource they grant access to.
// Must not import cdktf: values may be Terraform references (token strings), which JSON.stringify keeps intact.

import type { PolicyStatement } from "../core/iam-statement";

export type { PolicyStatement };

/** A policy document as a JSON string. */
export function policyDocument(statements: PolicyStatement[]): string {
  if (statements.length === 0) throw new Error("a policy document needs at least one statement");
  for (const s of statements) {
    if (s.Action.length === 0 || s.Resource.length === 0) throw new Error(`policy statement ${s.Sid ?? JSON.stringify(s.Action)}: needs at least one action and one resource`);
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements.map((s) => ({ Effect: "Allow", ...s })) });
}

/**
 * Trust policy letting one AWS service assume a role. With `sourceAccount`, only on behalf of that account
 * (confused-deputy guard; give it only for services that send aws:SourceAccount, such as states and events).
 */
export function serviceTrustPolicy(service: string, sourceAccount?: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        ...(sourceAccount ? { Condition: { StringEquals: { "aws:SourceAccount": sourceAccount } } } : {}),
      },
    ],
  });
}
