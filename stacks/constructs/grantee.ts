import type { PolicyStatement } from "../iam-policy";

/** What a construct's grant* methods give permissions to: a principal whose role takes inline statements (NodejsFunction). */
export interface Grantee {
  /** Adds an inline policy named `id` with the statements to the grantee's role. */
  addToRolePolicy(id: string, statements: PolicyStatement[]): unknown;
}
