import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../core/config";
import { FIXTURE_CONFIG, synthFile } from "../stacks/synth";

// Regression snapshot of the synthesized JSON of the three-datasets fixture (its files are owned by this
// test, so only a TypeScript change can move it). Refresh with: UPDATE_SNAPSHOTS=1 npx mocha test/example/snapshot.test.ts
const SNAPSHOT = join(__dirname, "__snapshots__", "three-datasets.json");

/** Asset hashes (in asset paths), bundle hashes (source_code_hash: esbuild output may differ between machines),
 * the checkout's absolute path and the hash of etl_common.py (the fixture links the real one, which other changes
 * move) vary; the rest must not. */
function normalize(json: unknown): unknown {
  const text = JSON.stringify(json, null, 2)
    .replace(/(assets\/[^"/]+\/)[0-9A-F]{32}\//g, "$1<asset-hash>/")
    .replace(/("source_code_hash": )"[A-Za-z0-9+/]{43}="/g, '$1"<bundle-sha256>"')
    .replace(/("key": "[^"]*\/etl_common\.py",\s*"source": "[^"]*",\s*"source_hash": )"[0-9a-f]{32}"/g, '$1"<etl_common-md5>"')
    .split(PROJECT_ROOT)
    .join("<project-root>");
  return JSON.parse(text);
}

/** JSON paths where two values differ (at most `limit`), for a readable failure. */
function differences(a: any, b: any, path = "$", out: string[] = [], limit = 20): string[] {
  if (out.length >= limit) return out;
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${path}.${k}`, out, limit);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`${path}: snapshot ${JSON.stringify(b)?.slice(0, 120)} / now ${JSON.stringify(a)?.slice(0, 120)}`);
  }
  return out;
}

describe("synthesized JSON snapshot (three-datasets fixture)", () => {
  it("matches test/example/__snapshots__/three-datasets.json", () => {
    const app = synthFile(FIXTURE_CONFIG);
    const current = normalize({ glue: app.glue, stateMachine: app.stateMachine, runner: app.runner });
    if (process.env.UPDATE_SNAPSHOTS === "1") {
      mkdirSync(join(__dirname, "__snapshots__"), { recursive: true });
      writeFileSync(SNAPSHOT, `${JSON.stringify(current, null, 2)}\n`);
    }
    expect(existsSync(SNAPSHOT), `no snapshot at ${SNAPSHOT}; create it with UPDATE_SNAPSHOTS=1`).to.equal(true);
    const stored = JSON.parse(readFileSync(SNAPSHOT, "utf8"));
    const diff = differences(current, stored);
    expect(diff, `synthesized JSON differs from the snapshot (refresh with UPDATE_SNAPSHOTS=1 if intended):\n${diff.join("\n")}`).to.deep.equal([]);
  });

  it("normalizes only asset and bundle hashes and the project path", () => {
    const bundleHash = "q0Vq5U3bYk0N1qk7Cw2dQ8Z9vXQ3r9b1m5o1C5gF1aE=";
    const normalized = normalize({ filename: "assets/fn_code_1/0123456789ABCDEF0123456789ABCDEF/fn.zip", source_code_hash: bundleHash, path: `${PROJECT_ROOT}/x.tfstate`, etag: "0123456789abcdef0123456789abcdef" });
    expect(normalized).to.deep.equal({ filename: "assets/fn_code_1/<asset-hash>/fn.zip", source_code_hash: "<bundle-sha256>", path: "<project-root>/x.tfstate", etag: "0123456789abcdef0123456789abcdef" });
  });
});
