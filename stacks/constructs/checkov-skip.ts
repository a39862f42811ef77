import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { TerraformResource } from "cdktf";

/** Log retention (days) below which checkov's one-year rule is skipped, with the configuration as the reason. */
export const ONE_YEAR_DAYS = 365;

/** A checkov check that does not apply to one resource, and why. */
export interface CheckovSkip {
  readonly id: string;
  readonly reason: string;
}

const CHECK_ID = /^CKV2?_AWS_\d+$/;
const recorded = new WeakMap<TerraformResource, CheckovSkip[]>();

/**
 * Records, next to the resource, that checkov's check `id` (e.g. "CKV_AWS_117") does not apply to it, with a
 * one-line reason. The skip is kept in the resource's "//" metadata of the JSON synthesis (Terraform ignores it);
 * `npm run synth:hcl` writes it as a `# checkov:skip=<id>:<reason>` comment in the resource's block, which is
 * where checkov reads suppressions, and `npm run check:iac` scans that HCL.
 */
export function skipCheck(resource: TerraformResource, id: string, reason: string): void {
  const where = `${resource.node.path}: checkov skip ${JSON.stringify(id)}`;
  if (!CHECK_ID.test(id)) throw new Error(`${where}: not a checkov AWS check id (CKV_AWS_<n> or CKV2_AWS_<n>)`);
  const text = reason.trim();
  if (!text || /[\r\n]/.test(text) || text.length > 200) throw new Error(`${where}: the reason must be one line of 1-200 characters`);
  const skips = recorded.get(resource) ?? [];
  if (skips.some((s) => s.id === id)) throw new Error(`${where}: already skipped`);
  skips.push({ id, reason: text });
  recorded.set(resource, skips);
  resource.addOverride("//.checkov.skip", skips.map((s) => ({ ...s })));
}

/** The skips recorded in a synthesized resource's JSON (its "//" metadata). */
export function skipsOf(resourceJson: unknown): CheckovSkip[] {
  const skip = (resourceJson as { "//"?: { checkov?: { skip?: unknown } } })?.["//"]?.checkov?.skip;
  return Array.isArray(skip) ? skip.filter((s): s is CheckovSkip => typeof s?.id === "string" && typeof s?.reason === "string") : [];
}

/** CloudWatch log groups: encrypted by CloudWatch Logs; retention from the configuration. */
export function skipLogGroupChecks(logGroup: CloudwatchLogGroup, retentionDays: number): void {
  skipCheck(logGroup, "CKV_AWS_158", "CloudWatch Logs encrypts log data at rest; a customer-managed key adds key-policy wiring for no access gain");
  if (retentionDays < ONE_YEAR_DAYS) skipCheck(logGroup, "CKV_AWS_338", `retention is logRetentionDays of the configuration (${retentionDays} days here)`);
}
