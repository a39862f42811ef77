// The layers the folders show: core ← asl ← stacks / local / functions / tools. An import against that
// direction, a cdktf import outside stacks/, or an import cycle fails here, naming the files.
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
const LAYERS = ["core", "asl", "functions", "stacks", "local", "tools", "bench"] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import from the project (besides itself). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  core: [],
  asl: ["core"],
  functions: ["core"],
  stacks: ["core", "asl"],
  local: ["core", "asl", "functions"],
  tools: ["core", "asl", "stacks", "local"],
  bench: ["core", "asl", "functions", "stacks", "local", "tools"],
};
const CDKTF = /^(cdktf$|cdktf\/|constructs$|@cdktf\/provider-)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, "");
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]);
}

const layerOf = (file: string) => relative(ROOT, file).split("/")[0] as Layer;

function resolveImport(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(file), specifier);
  for (const candidate of [`${base}.ts`, join(base, "index.ts"), base]) {
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  return undefined;
}

const files = [...LAYERS.flatMap((layer) => sourceFiles(join(ROOT, layer))), join(ROOT, "main.ts")];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe("layers", () => {
  it("each layer imports only the layers below it", () => {
    const violations: string[] = [];
    for (const [file, specifiers] of graph) {
      const layer = layerOf(file);
      if (!(LAYERS as readonly string[]).includes(layer)) continue;
      for (const specifier of specifiers) {
        const target = resolveImport(file, specifier);
        if (!target) continue;
        const targetLayer = layerOf(target);
        if (targetLayer !== layer && !ALLOWED[layer].includes(targetLayer)) {
          violations.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)} (${layer} may import ${ALLOWED[layer].join(", ") || "nothing of the project"})`);
        }
      }
    }
    expect(violations).to.deep.equal([]);
  });

  it("only stacks/ and main.ts import cdktf, constructs or a provider", () => {
    const violations = [...graph].flatMap(([file, specifiers]) => {
      const layer = layerOf(file);
      if (layer === "stacks" || file.endsWith("main.ts")) return [];
      return specifiers.filter((s) => CDKTF.test(s)).map((s) => `${relative(ROOT, file)} imports ${s}`);
    });
    expect(violations).to.deep.equal([]);
  });

  it("only local/sfn-service.ts imports aws-local-stepfunctions, after local/sfn/lazy-validator.ts", () => {
    // An importer before it would load the library's asl-validator eagerly (about 0.08 s of CPU) and cancel the stand-in.
    const importers = [...graph].filter(([, specifiers]) => specifiers.includes("aws-local-stepfunctions"));
    expect(importers.map(([file, specifiers]) => [relative(ROOT, file), specifiers.slice(0, specifiers.indexOf("aws-local-stepfunctions")).includes("./sfn/lazy-validator")])).to.deep.equal([["local/sfn-service.ts", true]]);
  });

  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const specifier of graph.get(file) ?? []) {
        const target = resolveImport(file, specifier);
        if (target && graph.has(target)) visit(target, [...path, file]);
      }
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).to.deep.equal([]);
  });

  it("the checks see the imports they judge (the rules can fail)", () => {
    const loader = join(ROOT, "asl/loader.ts");
    expect(importsOf(loader).map((s) => resolveImport(loader, s)).filter(Boolean).map((f) => relative(ROOT, f!))).to.include("core/build-cache.ts");
    expect(ALLOWED.core).to.deep.equal([]);
    expect(graph.size).to.be.greaterThan(50);
  });
});
