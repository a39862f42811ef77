// Which files read the active configuration (etl.config.json or ETL_CONFIG / ETL_ENV, and the ASL, schemas and
// scripts it names), read statically: the file or a project file it imports names a reader below. Comment lines are
// left out; anything else that names one counts, so a doubt makes a file a reader. core/config.ts defines the
// readers and reads nothing until one is called.
import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");

const READERS: readonly RegExp[] = [
  /\bloadConfig\s*\(/,
  /\bDEFAULT_CONFIG_FILE\b/,
  /\bETL_(CONFIG|ENV)\b/,
  /\betl\.config\.(?!schema\.json)[\w.-]*json/,
  /\b(glue-scripts|asl)\/[\w./-]*\.(json|py|sql)\b/,
  /["'`](glue-scripts|asl)["'`]/,
];
const DEFINES_READERS = "core/config.ts";

function codeOf(file: string): string {
  return readFileSync(file, "utf8").replace(/^\s*(\/\/|\/\*|\*).*$/gm, "");
}

function importsOf(code: string): string[] {
  return [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.[^"']*)["']/gm)].map((m) => m[1]);
}

function resolveImport(file: string, specifier: string): string | undefined {
  const base = resolve(dirname(file), specifier);
  return [base, `${base}.ts`, join(base, "index.ts")].find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
}

/**
 * How `file` (project-relative) reads the configuration: the chain of imports to the first file that names a
 * reader, and the reader ("test/x.test.ts → test/support/workflow.ts: ETL_CONFIG"); undefined when it reads none.
 */
export function configReader(file: string): string | undefined {
  const seen = new Set<string>();
  const visit = (path: string): string | undefined => {
    if (seen.has(path)) return undefined;
    seen.add(path);
    const name = relative(ROOT, path);
    const code = codeOf(path);
    if (name !== DEFINES_READERS) {
      for (const reader of READERS) {
        const found = reader.exec(code);
        if (found) return `${name}: ${found[0]}`;
      }
    }
    for (const specifier of importsOf(code)) {
      const target = resolveImport(path, specifier);
      const chain = target && visit(target);
      if (chain) return `${name} → ${chain}`;
    }
    return undefined;
  };
  return visit(join(ROOT, file));
}
