// Every npm script's entry point parses its arguments before it loads the runtime, DuckDB, the SDK clients, cdktf
// or the HCL tools (core/cli-args.ts: entry points): --help and a usage error cost the start-up of node, the
// launcher, the argument parser and the configuration, nothing more. Read statically: the modules a file loads when
// it is required, followed through the project's files; `import type`, `typeof import()` and a require() inside a
// function load nothing then. The launcher's bundle keeps that order (a require() inside a function runs its module
// then); test/tools/launch.test.ts sees it in a bundled `npm start -- --help`.
import { expect } from "chai";
import { launchedFile, SCRIPTS } from "../support/scripts";
import { readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");
const entryPoints = Object.values(SCRIPTS).flatMap((command) => launchedFile(command) ?? []);

/** The packages an entry point may load before it parses: the configuration's schema library, and asl-validator's version. */
const BEFORE_PARSING = new Set(["zod", "asl-validator/package.json"]);

/** The specifiers a file loads when it is required. */
function loadedAtRequire(file: string): string[] {
  const source = readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, "");
  const statements = [...source.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|^import\s+["']([^"']+)["']/gm)];
  const imports = statements.flatMap((m) => {
    if (m[4]) return [m[4]];
    const names = /^\{([^}]*)\}$/.exec(m[2].trim())?.[1].split(",").map((n) => n.trim()).filter(Boolean);
    const typesOnly = m[1] !== undefined || (names !== undefined && names.length > 0 && names.every((n) => n.startsWith("type ")));
    return typesOnly ? [] : [m[3]];
  });
  // A require() on an unindented line is top-level code, unless it is an arrow function's body (the loaders of
  // core/cli-args.ts); an indented one runs inside a function.
  const requires = [...source.matchAll(/^(?!\s)(?![^\n]*=>[^\n]*\brequire\()[^\n]*?\brequire\(\s*["']([^"']+)["']\s*\)/gm)].map((m) => m[1]);
  return [...imports, ...requires];
}

function resolveProjectFile(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  const found = [`${base}.ts`, join(base, "index.ts"), base].find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
  if (!found) throw new Error(`${relative(ROOT, from)}: cannot resolve ${specifier}`);
  return found;
}

/** The packages (not node's own) that requiring `entry` loads, each with the project file that imports it. */
function packagesLoaded(entry: string): string[] {
  const seen = new Set<string>();
  const packages: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of loadedAtRequire(file)) {
      if (specifier.startsWith(".")) visit(resolveProjectFile(file, specifier));
      else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) packages.push(`${specifier} (${relative(ROOT, file)})`);
    }
  };
  visit(join(ROOT, entry));
  return packages;
}

describe("the npm scripts' entry points parse their arguments first", () => {
  it("finds the entry points in package.json", () => {
    expect(entryPoints).to.include.members(["local/cli.ts", "local/serve.ts", "local/watch.ts", "tools/synth-hcl.ts", "test/spark/run.ts", "bench/run.ts"]);
  });

  for (const entry of entryPoints) {
    it(`${entry} loads no package but ${[...BEFORE_PARSING].join(" and ")} before it parses`, () => {
      const heavy = packagesLoaded(entry).filter((p) => !BEFORE_PARSING.has(p.split(" ")[0]));
      expect(heavy).to.deep.equal([]);
    });
  }

  it("sees the packages a module loads through the project's files (the runtime: DuckDB, the SDK clients)", () => {
    const loaded = packagesLoaded("local/runtime.ts").map((p) => p.split(" ")[0]);
    expect(loaded).to.include("@duckdb/node-api").and.include("@aws-sdk/client-s3");
    expect(packagesLoaded("stacks/etl-stack.ts").map((p) => p.split(" ")[0])).to.include("cdktf");
  });

  it("counts neither `import type`, a type-only import list, nor a loader's require()", () => {
    expect(packagesLoaded("local/watch.ts")).to.deep.equal([]);
  });
});
