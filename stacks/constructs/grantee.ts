import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { Construct } from "constructs";
import { policyDocument, type PolicyStatement } from "../iam-policy";

/** What a construct's grant* methods give permissions to: a principal whose role takes inline statements (NodejsFunction). */
export interface Grantee {
  /** Adds an inline policy named `id` with the statements to the grantee's role. */
  addToRolePolicy(id: string, statements: PolicyStatement[]): unknown;
}

/**
 * A plain IAM role as a grantee of one grant: the grant's inline policy is created in `scope` under `policyId`
 * (its Terraform address), named as the grant names it. A second grant through the same grantee is refused.
 */
export function roleGrantee(scope: Construct, policyId: string, role: IamRole): Grantee {
  let used = false;
  return {
    addToRolePolicy(name, statements) {
      if (used) throw new Error(`${scope.node.path}/${policyId}: this grantee takes one grant`);
      used = true;
      return new IamRolePolicy(scope, policyId, { role: role.id, name, policy: policyDocument(statements) });
    },
  };
}
