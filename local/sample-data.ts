// Deterministic sample data in the exact shape of the QuickSight sample datasets (sales pipeline and
// marketing metrics): same headers (incl. the trailing space in "Mailing list adds "), M/D/YYYY dates
// without padding, TRUE/FALSE booleans, mostly empty Events. Seeded PRNG, so a seed gives the same bytes.
// `npm run sample-data` writes every configured dataset (local/sample-data-cli.ts).
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { csvField } from "./csv";

/** The sales sample's columns in order, each with the type of the values written in it (the example's schema types
 * them so: test/example/local-schemas.test.ts). */
export const SALES_COLUMNS: ReadonlyArray<{ title: string; type: "date" | "string" | "bigint" | "boolean" }> = [
  { title: "Date", type: "date" },
  { title: "Salesperson", type: "string" },
  { title: "Lead Name", type: "string" },
  { title: "Segment", type: "string" },
  { title: "Region", type: "string" },
  { title: "Target Close", type: "date" },
  { title: "Forecasted Monthly Revenue", type: "bigint" },
  { title: "Opportunity Stage", type: "string" },
  { title: "Weighted Revenue", type: "bigint" },
  { title: "Closed Opportunity", type: "boolean" },
  { title: "Active Opportunity", type: "boolean" },
  { title: "Latest Status Entry", type: "boolean" },
];
export const SALES_HEADER = SALES_COLUMNS.map((c) => c.title).join(",");
export const MARKETING_HEADER =
  "Date,New visitors SEO,New visitors CPC,New visitors Social Media,Return visitors,Twitter mentions,Twitter follower adds,Twitter followers cumulative,Mailing list adds ,Mailing list cumulative,Website Pageviews,Website Visits,Website Unique Visits,Mobile uniques,Tablet uniques,Desktop uniques,Free sign up,Paid conversion,Events";
export const DEFAULT_SALES_ROWS = 20_994;
export const DEFAULT_SEED = 42;
export const SALES_FILE = "SalesPipeline_QuickSightSample.csv";
export const MARKETING_FILE = "MarketingData_QuickSightSample.csv";

const SALES_FIRST_DAY = Date.UTC(2011, 0, 1);
const SALES_DAYS = 2192; // 2011-01-01 .. 2016-12-31
const MARKETING_FIRST_DAY = Date.UTC(2013, 0, 1);
const MARKETING_DAYS = 1461; // 2013-01-01 .. 2016-12-31
const DAY_MS = 86_400_000;
const CHUNK_CHARS = 1 << 16;

const SALESPEOPLE = ["Jennifer Weidman", "Anne Smith", "James Swanger", "Gerri Hinds", "David King", "Walter Landfair", "Victor Burk"];
const SEGMENTS = weighted([["SMB", 50], ["Enterprise", 34], ["Startup", 16]]);
const REGIONS = weighted([["US", 61], ["EMEA", 26], ["APAC", 13]]);
// Stage, weight, probability used for the weighted revenue, closed, active.
const STAGES = weighted([
  [{ name: "Lead", probability: 0.1, closed: false, active: false }, 435],
  [{ name: "Closed Lost", probability: 0, closed: true, active: false }, 380],
  [{ name: "Prospect", probability: 0.25, closed: false, active: false }, 96],
  [{ name: "Contracting", probability: 0.75, closed: false, active: true }, 33],
  [{ name: "Closed Won", probability: 1, closed: true, active: false }, 29],
  [{ name: "Qualified", probability: 0.5, closed: false, active: true }, 27],
]);
const REVENUE_BY_SEGMENT: Record<string, [number, number]> = { SMB: [20_000, 150_000], Enterprise: [150_000, 500_000], Startup: [5_000, 60_000] };
const CAMPAIGNS = ["2013 CPC campaign", "SEO optimization v1", "Targeted outreach campaign", "2014 Social Media push", "SEO optimization v2", "2015 CPC campaign", "Mobile app launch", "2016 CPC campaign"];

/** mulberry32: small, fast, deterministic; values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(entries: Array<[T, number]>): { pick(random: number): T } {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  return {
    pick(random) {
      let r = random * total;
      for (const [value, w] of entries) if ((r -= w) < 0) return value;
      return entries[entries.length - 1][0];
    },
  };
}

/** M/D/YYYY without padding, for the day `offset` days after `firstDay`. */
function dayFormatter(firstDay: number, days: number): (offset: number) => string {
  const cache = Array.from({ length: days }, (_, i) => {
    const d = new Date(firstDay + i * DAY_MS);
    return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
  });
  return (offset) => cache[offset];
}

function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Sales rows in date order, as CSV text chunks (header first); activity grows over the years like the real data. */
export function* salesChunks(rows = DEFAULT_SALES_ROWS, seed = DEFAULT_SEED): Generator<string> {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error(`sales rows: expected a non-negative integer, got ${rows}`);
  const random = seededRandom(seed);
  const format = dayFormatter(SALES_FIRST_DAY, SALES_DAYS + 200);
  // Rows per day follow a rising weight; the cumulative split gives exactly `rows`.
  const weights = Array.from({ length: SALES_DAYS }, (_, d) => 0.2 + (d / SALES_DAYS) ** 2);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  let chunk = SALES_HEADER + "\n";
  let cumulative = 0;
  let emitted = 0;
  for (let day = 0; day < SALES_DAYS; day++) {
    cumulative += weights[day];
    const upTo = day === SALES_DAYS - 1 ? rows : Math.round((cumulative / totalWeight) * rows);
    const date = format(day);
    for (; emitted < upTo; emitted++) {
      const segment = SEGMENTS.pick(random());
      const region = REGIONS.pick(random());
      const stage = STAGES.pick(random());
      const [low, high] = REVENUE_BY_SEGMENT[segment];
      const revenue = stage.name === "Closed Lost" ? 0 : between(random, low, high);
      chunk +=
        `${date},${SALESPEOPLE[between(random, 0, SALESPEOPLE.length - 1)]},${region}_${segment}_${between(random, 1, 2500)},${segment},${region},` +
        `${format(day + between(random, 20, 150))},${revenue},${stage.name},${Math.round(revenue * stage.probability)},` +
        `${stage.closed ? "TRUE" : "FALSE"},${stage.active ? "TRUE" : "FALSE"},${random() < 0.48 ? "TRUE" : "FALSE"}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = "";
      }
    }
  }
  if (chunk) yield chunk;
}

/** One marketing row per day, 2013-01-01 .. 2016-12-31, as CSV text chunks (header first). */
export function* marketingChunks(seed = DEFAULT_SEED): Generator<string> {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const format = dayFormatter(MARKETING_FIRST_DAY, MARKETING_DAYS);
  let followers = 189;
  let mailingList = 1872;
  let pageviews = 25_313;
  let chunk = MARKETING_HEADER + "\n";
  for (let day = 0; day < MARKETING_DAYS; day++) {
    const growth = 1 + (day / MARKETING_DAYS) * 20;
    const weekday = [0.7, 1, 1.05, 1.05, 1, 0.95, 0.75][new Date(MARKETING_FIRST_DAY + day * DAY_MS).getUTCDay()];
    const noise = () => 0.6 + random() * 0.8;
    const seo = Math.round(2000 * growth * weekday * noise());
    const cpc = Math.round(seo * (0.15 + random() * 0.2));
    const social = Math.round(seo * (0.03 + random() * 0.12));
    const returning = Math.round(seo * (0.1 + random() * 0.4));
    const followerAdds = between(random, -2, 15);
    const mailingAdds = between(random, 0, 25);
    followers += Math.max(followerAdds, 0);
    mailingList += mailingAdds;
    pageviews += between(random, 100, 1100);
    const visits = Math.round((seo + cpc + social + returning) * (2 + random() * 2));
    const unique = Math.round(visits * (0.3 + random() * 0.7));
    const mobile = Math.round(unique * 0.25);
    const tablet = Math.round(unique * 0.15);
    const freeSignUps = Math.round(unique * (0.5 + random()));
    // Campaigns run in stretches; outside them Events is empty (most days).
    const campaign = random() < 0.45 ? CAMPAIGNS[Math.min(CAMPAIGNS.length - 1, Math.floor((day / MARKETING_DAYS) * CAMPAIGNS.length))] : "";
    chunk +=
      [format(day), seo, cpc, social, returning, between(random, 0, 10), followerAdds, followers, mailingAdds, mailingList, pageviews, visits, unique, mobile, tablet, unique - mobile - tablet, freeSignUps, Math.round(freeSignUps * (0.05 + random() * 0.15)), csvField(campaign)].join(",") + "\n";
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = "";
    }
  }
  yield chunk;
}

/** The sales dataset as CSV text. For millions of rows, use writeSampleData (streams). */
export function generateSales(rows = DEFAULT_SALES_ROWS, seed = DEFAULT_SEED): string {
  return [...salesChunks(rows, seed)].join("");
}

/** The marketing dataset (1,461 rows) as CSV text. */
export function generateMarketing(seed = DEFAULT_SEED): string {
  return [...marketingChunks(seed)].join("");
}

/** Streams CSV chunks to a file, honouring back-pressure. */
export async function writeChunks(path: string, chunks: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  const failed = once(out, "error").then(([e]) => {
    throw new Error(`${path}: cannot write (${(e as Error).message})`);
  });
  failed.catch(() => undefined);
  const drained = async () => Promise.race([once(out, "drain"), failed]);
  for (const chunk of chunks) if (!out.write(chunk)) await drained();
  out.end();
  await Promise.race([once(out, "finish"), failed]);
}

/** Writes both datasets into `dir` and returns their paths. */
export async function writeSampleData(dir: string, options: { salesRows?: number; seed?: number } = {}): Promise<{ sales: string; marketing: string }> {
  await mkdir(dir, { recursive: true });
  const sales = join(dir, SALES_FILE);
  const marketing = join(dir, MARKETING_FILE);
  await writeChunks(sales, salesChunks(options.salesRows ?? DEFAULT_SALES_ROWS, options.seed ?? DEFAULT_SEED));
  await writeChunks(marketing, marketingChunks(options.seed ?? DEFAULT_SEED));
  return { sales, marketing };
}
