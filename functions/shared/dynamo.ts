// DynamoDB helpers both tables use: TTL values, conditional writes, reading every page.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { isConditionalCheckFailed } from "./aws-errors";

export type Attributes = Record<string, AttributeValue>;

/** The TTL attribute's value: `ttlDays` after `now`, in epoch seconds. */
export function expiresAt(now: Date, ttlDays: number): number {
  return Math.floor(now.getTime() / 1000) + ttlDays * 86_400;
}

/** Runs a conditional write (`write` sends it); false when its condition failed, other errors are thrown. */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Every item of a paginated Query or Scan: `page` is called with each ExclusiveStartKey. */
export async function allPages(page: (startKey: Attributes | undefined) => Promise<{ Items?: Attributes[]; LastEvaluatedKey?: Attributes }>): Promise<Attributes[]> {
  const items: Attributes[] = [];
  let startKey: Attributes | undefined;
  do {
    const answer = await page(startKey);
    for (const item of answer.Items ?? []) items.push(item);
    startKey = answer.LastEvaluatedKey;
  } while (startKey);
  return items;
}
