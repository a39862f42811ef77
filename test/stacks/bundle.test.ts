import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { build } from "esbuild";
import { bundleBuildOf, bundleCacheKey, bundleOf, bundleOptions, cachedBuild, DEFAULT_FUNCTIONS_DIR, prepareBundles, removeBundleBuild } from "../../stacks/bundle";
import { CACHE_DIR, writeCache } from "../../core/build-cache";
import { zipSync } from "../../stacks/zip";
import { CHANGE_TIME_SLACK_MS } from "../../core/build-inputs";

describe("stacks/bundle", () => {
  let functionsDir: string;
  before(() => {
    functionsDir = mkdtempSync(join(tmpdir(), "etl-functions-"));
    for (const name of ["hello", "other"]) {
      mkdirSync(join(functionsDir, name));
      writeFileSync(join(functionsDir, name, "handler.ts"), `import { format } from "node:util";\nexport const handler = async (event: unknown) => format("%s says %j", "${name}", event);\n`);
    }
    mkdirSync(join(functionsDir, "shared")); // no handler.ts: not a function
    // Written before any build here starts: a file changed during a build leaves the build uncached.
    return new Promise((resolve) => setTimeout(resolve, CHANGE_TIME_SLACK_MS + 10));
  });
  after(() => {
    removeBundleBuild(functionsDir);
    rmSync(functionsDir, { recursive: true, force: true });
  });

  it("bundles a handler as minified CommonJS with a linked source map", async () => {
    const { dir } = bundleOf(join(functionsDir, "hello", "handler.ts"));
    const code = readFileSync(join(dir, "index.js"), "utf8");
    expect(code).to.match(/module\.exports/);
    expect(code).to.include("hello");
    expect(code).to.not.include("\n  "); // minified
    expect(code.trimEnd()).to.match(/\/\/# sourceMappingURL=index\.js\.map$/);
    const map = JSON.parse(readFileSync(join(dir, "index.js.map"), "utf8"));
    expect(map.sources.some((s: string) => s.endsWith("hello/handler.ts"))).to.equal(true);
    expect(map.sourcesContent).to.equal(undefined);
    const mod = { exports: {} as any };
    new Function("module", "exports", "require", code)(mod, mod.exports, require);
    expect(await mod.exports.handler({ a: 1 })).to.equal('hello says {"a":1}');
  });

  it("packages the bundle as a deterministic zip whose base64 SHA-256 is its source_code_hash", () => {
    const bundle = bundleOf(join(functionsDir, "hello", "handler.ts"));
    const zip = readFileSync(bundle.zipFile);
    expect(bundle.zipSha256).to.equal(createHash("sha256").update(zip).digest("base64"));
    const listing = execFileSync("unzip", ["-Z", "-l", bundle.zipFile], { encoding: "utf8" });
    expect(listing).to.match(/-rw-r--r--.*index\.js\n/).and.to.match(/index\.js\.map/).and.to.match(/80-Jan-01 00:00/);
    const extracted = mkdtempSync(join(tmpdir(), "etl-unzip-"));
    try {
      execFileSync("unzip", ["-q", bundle.zipFile, "-d", extracted]);
      expect(readFileSync(join(extracted, "index.js"))).to.deep.equal(readFileSync(join(bundle.dir, "index.js")));
    } finally {
      rmSync(extracted, { recursive: true, force: true });
    }
    // The same files always give the same bytes.
    expect(zipSync([{ name: "b", data: Buffer.from("2") }, { name: "a", data: Buffer.from("1") }])).to.deep.equal(
      zipSync([{ name: "a", data: Buffer.from("1") }, { name: "b", data: Buffer.from("2") }]),
    );
  });

  it("reuses a cached build only while every file it read is unchanged", () => {
    const entry = join(functionsDir, "hello", "handler.ts");
    const { dir } = bundleOf(entry);
    const cached = cachedBuild(functionsDir);
    expect(cached?.find((f) => f.path.endsWith("hello/index.js"))?.contents).to.deep.equal(readFileSync(join(dir, "index.js")));
    process.env.ETL_BUILD_CACHE = "off";
    try {
      expect(cachedBuild(functionsDir)).to.equal(undefined);
    } finally {
      delete process.env.ETL_BUILD_CACHE;
    }
    const original = readFileSync(entry, "utf8");
    try {
      writeFileSync(entry, original.replace("says", "now says"));
      expect(cachedBuild(functionsDir)).to.equal(undefined);
    } finally {
      writeFileSync(entry, original);
    }
  });

  /**
   * Runs `test` on a project folder of its own with `files` (paths relative to it), written long enough before that a
   * build of its functions folder is cached; removes the folder and that build's entry.
   */
  async function withProject(files: Record<string, string>, test: (functions: string, root: string) => unknown): Promise<void> {
    const root = mkdtempSync(join(tmpdir(), "etl-bundle-project-"));
    try {
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, file)), { recursive: true });
        writeFileSync(join(root, file), text);
      }
      await new Promise((resolve) => setTimeout(resolve, CHANGE_TIME_SLACK_MS + 10)); // else the build is not cached
      await test(join(root, "functions"), root);
    } finally {
      removeBundleBuild(join(root, "functions"));
      rmSync(root, { recursive: true, force: true });
    }
  }

  it("reuses a cached build only while the tsconfig.json esbuild applies to the handlers is unchanged", () => {
    // A project of its own: the test must not edit the checkout's tsconfig.json, which other workers build with.
    const tsconfig = (useDefineForClassFields: boolean) => JSON.stringify({ compilerOptions: { useDefineForClassFields } });
    const handler = "class Counter { count = 1; }\nexport const handler = async () => new Counter().count;\n";
    return withProject({ "tsconfig.json": tsconfig(true), "functions/fields/handler.ts": handler }, async (dir, root) => {
      const before = readFileSync(join(bundleOf(join(dir, "fields", "handler.ts")).dir, "index.js"), "utf8");
      expect(cachedBuild(dir)).to.not.equal(undefined);
      writeFileSync(join(root, "tsconfig.json"), tsconfig(false));
      expect(cachedBuild(dir)).to.equal(undefined);
      // It changes the bundle: a build that follows (another process's) differs.
      const after = (await build(bundleOptions(dir))).outputFiles!.find((f) => f.path.endsWith("fields/index.js"))!.text;
      expect(after).to.not.equal(before);
    });
  });

  it("reuses a cached build only if made by this esbuild version with the same options (the entry's build)", () =>
    // A folder of its own: another case here edits the shared folder's handler, which leaves its entry unused.
    withProject({ "functions/one/handler.ts": "export const handler = async () => 1;\n" }, (dir) => {
      bundleOf(join(dir, "one", "handler.ts"));
      const entry = JSON.parse(readFileSync(join(CACHE_DIR, bundleCacheKey(dir)), "utf8"));
      const options = bundleOptions(dir);
      expect(entry.build).to.equal(bundleBuildOf(options));
      expect(cachedBuild(dir)).to.not.equal(undefined);
      const withBuild = (build: string) => writeCache(bundleCacheKey(dir), JSON.stringify({ ...entry, build }));
      withBuild(bundleBuildOf(options, "0.0.0-another-esbuild"));
      expect(cachedBuild(dir), "another esbuild version").to.equal(undefined);
      withBuild(bundleBuildOf({ ...options, minify: false }));
      expect(cachedBuild(dir), "other options").to.equal(undefined);
      withBuild(entry.build);
      expect(cachedBuild(dir)).to.not.equal(undefined);
    }));

  it("does not cache a build whose input was edited while it ran (its bundle is used)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etl-functions-edited-"));
    try {
      mkdirSync(join(dir, "edited"));
      const entry = join(dir, "edited", "handler.ts");
      writeFileSync(entry, `export const handler = async () => "before";\n`);
      await new Promise((resolve) => setTimeout(resolve, CHANGE_TIME_SLACK_MS + 10));
      const building = prepareBundles(dir);
      writeFileSync(entry, `export const handler = async () => "during";\n`); // esbuild is reading the folder
      await building;
      expect(readFileSync(join(bundleOf(entry).dir, "index.js"), "utf8")).to.match(/"(before|during)"/);
      expect(cachedBuild(dir), "nothing cached: what was read may not be what the record would say").to.equal(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names modules by the path they were imported through, so a symlinked node_modules gives the same bundle", () => {
    // synth:diff synthesizes the base in a worktree whose node_modules is a symlink to this one.
    const root = mkdtempSync(join(tmpdir(), "etl-symlinked-"));
    try {
      mkdirSync(join(root, "real", "node_modules", "pkg"), { recursive: true });
      writeFileSync(join(root, "real", "node_modules", "pkg", "index.js"), "exports.greet = () => 'hi';\n");
      mkdirSync(join(root, "tree", "functions", "greeter"), { recursive: true });
      symlinkSync(join(root, "real", "node_modules"), join(root, "tree", "node_modules"));
      writeFileSync(join(root, "tree", "functions", "greeter", "handler.ts"), 'import { greet } from "pkg";\nexport const handler = async () => greet();\n');
      const { dir } = bundleOf(join(root, "tree", "functions", "greeter", "handler.ts"));
      const sources: string[] = JSON.parse(readFileSync(join(dir, "index.js.map"), "utf8")).sources;
      expect(sources.some((s) => s.endsWith("tree/node_modules/pkg/index.js")), sources.join(", ")).to.equal(true);
      expect(sources.some((s) => s.includes("real/node_modules")), sources.join(", ")).to.equal(false);
    } finally {
      removeBundleBuild(join(root, "tree", "functions"));
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("bundles every handler of the folder in one run and reuses it", () => {
    const hello = bundleOf(join(functionsDir, "hello", "handler.ts"));
    const other = bundleOf(join(functionsDir, "other", "handler.ts"));
    expect(other.dir).to.not.equal(hello.dir);
    expect(bundleOf(join(functionsDir, "hello", "handler.ts"))).to.equal(hello);
    expect(() => bundleOf(join(functionsDir, "shared", "handler.ts"))).to.throw(/no bundle for/);
  });

  it("caches one build per functions folder, unused once the folder's handlers change; removeBundleBuild removes it, no other folder's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etl-functions-one-"));
    const sibling = `${dir}-sibling`; // a folder whose path starts with this one's
    const entryOf = (folder: string) => join(CACHE_DIR, bundleCacheKey(folder));
    try {
      mkdirSync(join(dir, "one"));
      writeFileSync(join(dir, "one", "handler.ts"), "export const handler = async () => 1;\n");
      await new Promise((resolve) => setTimeout(resolve, CHANGE_TIME_SLACK_MS + 10)); // else the build is not cached
      bundleOf(join(dir, "one", "handler.ts"));
      expect(existsSync(entryOf(dir))).to.equal(true);
      expect(cachedBuild(dir)).to.not.equal(undefined);
      mkdirSync(join(dir, "two"));
      // Every file the build read is unchanged, but it has no bundle of the new handler.
      writeFileSync(join(dir, "two", "handler.ts"), "export const handler = async () => 2;\n");
      expect(cachedBuild(dir)).to.equal(undefined);
      rmSync(join(dir, "two"), { recursive: true });
      expect(cachedBuild(dir)).to.not.equal(undefined);
      writeCache(bundleCacheKey(sibling), "{}");
      removeBundleBuild(dir);
      expect(existsSync(entryOf(dir))).to.equal(false);
      expect(cachedBuild(dir)).to.equal(undefined);
      expect(existsSync(entryOf(sibling))).to.equal(true);
    } finally {
      removeBundleBuild(dir);
      removeBundleBuild(sibling);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the folder when a handler does not compile", async () => {
    const broken = mkdtempSync(join(tmpdir(), "etl-functions-"));
    try {
      mkdirSync(join(broken, "bad"));
      writeFileSync(join(broken, "bad", "handler.ts"), "export const handler = (;\n");
      expect(() => bundleOf(join(broken, "bad", "handler.ts"))).to.throw(/cannot bundle the handlers of .*etl-functions-.*Unexpected/s);
      let error: Error | undefined;
      await prepareBundles(broken).catch((e) => (error = e));
      expect(error?.message).to.match(/cannot bundle the handlers of/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it("bundles an S3 client without the event-stream codec: its calls work, an event-stream operation fails naming why", async () => {
    const { dir } = bundleOf(join(__dirname, "..", "fixtures", "bundle-probe", "s3", "handler.ts"));
    expect(readFileSync(join(dir, "index.js"), "utf8")).to.not.include("EventStreamCodec");
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      req.resume().on("end", () => {
        requests.push(`${req.method} ${req.url}`);
        res.setHeader("content-type", "application/xml");
        res.end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>probe</Name><KeyCount>1</KeyCount><Contents><Key>a.csv</Key></Contents></ListBucketResult>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const script = `require(${JSON.stringify(join(dir, "index.js"))}).handler().then((r) => console.log(JSON.stringify(r)))`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        env: {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "AKIDFROMLAMBDAENV",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
      });
      const result = JSON.parse(stdout.trim().split("\n").pop()!);
      expect(result.keys).to.deep.equal(["a.csv"]);
      expect(result.select).to.include("event-stream operations are not bundled").and.include("no-event-streams.ts");
      expect(requests[0]).to.match(/^GET \/probe\/?\?list-type=2/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  // 384 KB with Glue alone; the Athena, EMR Serverless and S3 clients (job specs, publishing) add about 170 KB, 130 KB
  // of it S3's. The budget catches a whole-package import (several MB), not each client.
  it("ships a runner bundle under 600 KB that signs with the credentials Lambda puts in the environment", async () => {
    const { dir } = bundleOf(join(DEFAULT_FUNCTIONS_DIR, "etl-runner", "handler.ts"));
    const code = readFileSync(join(dir, "index.js"), "utf8");
    expect(Buffer.byteLength(code)).to.be.below(600 * 1024);
    expect(code).to.not.include("credential-provider-sso");

    // A stand-in for SFN and DynamoDB that records who signed each call.
    const calls: Array<{ target: string; authorization: string }> = [];
    const server: Server = createServer((req, res) => {
      req.resume().on("end", () => {
        const target = String(req.headers["x-amz-target"]);
        calls.push({ target, authorization: String(req.headers.authorization) });
        res.setHeader("content-type", "application/x-amz-json-1.0");
        res.end(target.endsWith(".Scan") ? JSON.stringify({ Items: [], Count: 0 }) : "{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const script = `require(${JSON.stringify(join(dir, "index.js"))}).handler({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} }, { getRemainingTimeInMillis: () => 300000, awsRequestId: "r" }).then((s) => console.log(JSON.stringify(s)))`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        env: {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "AKIDFROMLAMBDAENV",
          AWS_SECRET_ACCESS_KEY: "secret",
          AWS_SESSION_TOKEN: "token",
          AWS_ENDPOINT_URL_SFN: endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: endpoint,
          AWS_ENDPOINT_URL_GLUE: endpoint,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          ACTIVITY_ARN: "arn:aws:states:us-east-1:123456789012:activity:etl-dev-etl-runner",
          TABLE_NAME: "etl-dev-active-job-runs",
          RUN_TTL_DAYS: "14",
          MAX_TASKS_PER_INVOCATION: "10",
          ENGINE_CONCURRENCY: "8",
          JOB_ENGINES: JSON.stringify({ "etl-dev-LoadOrders": "glue" }),
          EVENT_SOURCE: "etl.dev.workflow",
          POWERTOOLS_LOG_LEVEL: "SILENT",
        },
      });
      expect(JSON.parse(stdout.trim().split("\n").pop()!)).to.include({ tasksReceived: 0, errors: 0 });
      expect(calls.map((c) => c.target)).to.deep.equal(["DynamoDB_20120810.Scan", "AWSStepFunctions.GetActivityTask"]);
      for (const call of calls) expect(call.authorization).to.include("Credential=AKIDFROMLAMBDAENV/");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
