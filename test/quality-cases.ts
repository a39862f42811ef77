// The data-quality gate's shared table (test/fixtures/quality-gates.json), for every engine's tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { QualityCounts, QualityLimits } from "../core/quality";

export interface QualityCase {
  name: string;
  counts: QualityCounts;
  limits: QualityLimits;
  /** The cause after "DataQualityError: ", or null when the counts pass. */
  error: string | null;
}

export const QUALITY_FIXTURE = join(__dirname, "fixtures", "quality-gates.json");
export const QUALITY_CASES = (JSON.parse(readFileSync(QUALITY_FIXTURE, "utf8")) as { cases: QualityCase[] }).cases;
