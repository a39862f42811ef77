// Repairs cdktf 0.21's HCL output. Its renderer never escapes backslashes, and leaves quotes unescaped
// when a string holds a Terraform interpolation, so every JSON policy or ASL definition that references a
// resource ("Resource":["${aws_s3_bucket.x.arn}"]), and every string with a backslash, is invalid HCL. Pure.

/** Index just after the `}` closing the template sequence opened at `start` ("${" or "%{"), or -1. */
export function endOfSequence(text: string, start: number): number {
  let depth = 0;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // A quoted string inside the expression: skip it, honouring escapes.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * The HCL quoted-string form of a raw Terraform string (the same template language as the JSON syntax):
 * quotes and backslashes are escaped, `${...}` and `%{...}` sequences kept as they are, `$${` and `%%{` stay literal.
 */
export function quoteTemplate(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; ) {
    const two = raw.slice(i, i + 2);
    if (two === "$$" || two === "%%") {
      out += two;
      i += 2;
      continue;
    }
    if ((two === "${" || two === "%{") && endOfSequence(raw, i) > 0) {
      const end = endOfSequence(raw, i);
      out += raw.slice(i, end);
      i = end;
      continue;
    }
    const c = raw[i++];
    out += c === '"' ? '\\"' : c === "\\" ? "\\\\" : c;
  }
  return `"${out}"`;
}

/** What cdktf 0.21 writes between the quotes for a one-line string (render.js `renderString`). */
export function cdktfRendering(raw: string): string {
  return /\$\{/.test(raw) ? raw : raw.replace(/(?<!\\)"/g, '\\"');
}

/** Every string in a synthesized stack (values and keys), which are the strings its HCL may hold. */
export function stringsOf(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === "string") out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => stringsOf(v, out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      stringsOf(v, out);
    }
  return out;
}

// cdktf writes each attribute (or list item) on its own line: `name = "<rendered>"` or `"<rendered>",`.
export const STRING_LINE = /^(\s*(?:[A-Za-z0-9_-]+|"[^"]*") = |\s*)"(.*)"(,?)$/;
const HEREDOC_START = /<<-?([A-Za-z_]+)$/;
// cdktf leaves map keys such as "--etl_inputs" bare, and HCL reads a bare "-x" as an expression.
const DASHED_KEY = /^(\s*)(-[A-Za-z0-9_-]*)( = .*)$/;

/**
 * Re-quotes every one-line string of cdktf's HCL whose rendering is not valid HCL, using `strings`
 * (the stack's strings from its cdk.tf.json) to recover the exact value, and quotes keys starting with
 * '-'. Heredoc bodies are kept: they are templates already and need no escaping.
 */
export function repairHcl(text: string, strings: Iterable<string>): string {
  const rawByRendering = new Map<string, string>();
  for (const raw of strings) if (!raw.includes("\n")) rawByRendering.set(cdktfRendering(raw), raw);
  return mapLinesOutsideHeredocs(text, (line) => {
    line = line.replace(DASHED_KEY, '$1"$2"$3');
    const m = STRING_LINE.exec(line);
    const raw = m ? rawByRendering.get(m[2]) : undefined;
    if (!m || raw === undefined) return line;
    return `${m[1]}${quoteTemplate(raw)}${m[3]}`;
  });
}

/** Maps each line of HCL with `map`, except the bodies of heredocs (kept as they are). */
export function mapLinesOutsideHeredocs(text: string, map: (line: string) => string): string {
  let heredoc: string | undefined;
  return text
    .split("\n")
    .map((line) => {
      if (heredoc !== undefined) {
        if (line.trim() === heredoc) heredoc = undefined;
        return line;
      }
      heredoc = HEREDOC_START.exec(line)?.[1];
      return map(line);
    })
    .join("\n");
}
