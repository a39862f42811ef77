// The one argument parser of the project's command-line tools (npm start, sample-data, diagram, synth:diff,
// synth:hcl, bench, config:schema): node's util.parseArgs behind a declared command, so every tool answers
// --help with a usage text generated from the same declaration, and every usage error is one line naming the
// bad argument, exit 2, no stack trace.
// Entry points: an entry point statically imports only this parser, the configuration and node's modules; what
// the command runs on (the runtime, DuckDB, the SDK clients, cdktf, the HCL tools) it loads once the arguments
// parse, through a loader declared at the top: `const runtime = () => require("./runtime") as typeof import("./runtime")`
// (require, not import(): mocha's tsx/cjs hook resolves only require), so --help and a usage error cost no more
// than that (test/tools/entry-points.test.ts).
import { parseArgs } from "node:util";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** One-letter alias (`-h`). */
  readonly short?: string;
  /** May be repeated; the value is then an array. @default false */
  readonly multiple?: boolean;
  /** Placeholder of the value in the usage text (`--out DIR`). @default "VALUE" */
  readonly value?: string;
  /** The usage text's description; may span lines. */
  readonly description: string;
  /** A missing required option is a usage error naming it. @default false */
  readonly required?: boolean;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** How it is run, as the usage shows it: `npm run sample-data --`. */
  readonly command: string;
  /** What it does, one paragraph. */
  readonly summary: string;
  /** `-h, --help` is added to every command. */
  readonly options: O;
  /** Text after the options (exit codes, environment). */
  readonly epilogue?: string;
  /** One required argument that is not an option (`npm run watch -- <execution ARN>`), named in the usage. @default none */
  readonly positional?: { readonly name: string; readonly description: string };
}

type ValueOf<S extends OptionSpec> = S["type"] extends "boolean" ? (S["multiple"] extends true ? boolean[] : boolean) : S["multiple"] extends true ? string[] : string;

/** The parsed options: required ones are always set, the others may be undefined. */
export type OptionValues<O extends Record<string, OptionSpec>> = { readonly positional?: string } & { [K in keyof O as O[K]["required"] extends true ? K : never]: ValueOf<O[K]> } & {
  [K in keyof O as O[K]["required"] extends true ? never : K]?: ValueOf<O[K]>;
};

/** Bad usage: the message names the argument or value. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface Command<O extends Record<string, OptionSpec>> {
  readonly spec: CommandSpec<O>;
  /** The generated usage text (what --help prints). */
  readonly usage: string;
  /** Parses argv (without node and the script): the values, or "help" when -h/--help was given. Throws UsageError. */
  parse(argv: readonly string[]): OptionValues<O> | "help";
}

const HELP: OptionSpec = { type: "boolean", short: "h", description: "show this help" };

/** Declares a command; the declaration is checked once (a clash with --help is a programming error). */
export function defineCommand<const O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): Command<O> {
  if ("help" in spec.options || Object.values(spec.options).some((o) => o.short === "h")) throw new Error(`${spec.command}: --help and -h are reserved`);
  const options = { ...spec.options, help: HELP };
  return {
    spec,
    usage: usageText(spec.positional ? `${spec.command} ${spec.positional.name}` : spec.command, spec.summary, options, spec.epilogue, spec.positional),
    parse(argv) {
      let values: Record<string, unknown>;
      let positionals: string[];
      try {
        ({ values, positionals } = parseArgs({
          args: [...argv],
          strict: true,
          allowPositionals: spec.positional !== undefined,
          // parseArgs rejects keys set to undefined.
          options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short && { short: o.short }), ...(o.multiple && { multiple: true }) }])),
        }));
      } catch (e) {
        throw new UsageError(parseErrorMessage(e as Error & { code?: string }));
      }
      if (values.help) return "help";
      const missing = Object.entries(spec.options).filter(([name, o]) => o.required && values[name] === undefined);
      if (missing.length) throw new UsageError(`${missing.map(([name, o]) => `--${name} ${o.value ?? "VALUE"}`).join(", ")} is required`);
      if (spec.positional) {
        const given = positionals.filter((p) => p !== "");
        if (given.length === 0) throw new UsageError(`${spec.positional.name} is required`);
        if (given.length > 1) throw new UsageError(`unexpected argument '${given[1]}' (this command takes one ${spec.positional.name})`);
        return { ...values, positional: given[0] } as OptionValues<O>;
      }
      return values as OptionValues<O>;
    },
  };
}

/** node's parseArgs messages, cut down to one line that names the argument. */
function parseErrorMessage(e: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option '${quoted}'`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument '${quoted}' (this command takes options only)`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      // "Option '-o, --out <value>' argument missing" or "Option '--check' does not take an argument".
      const flag = quoted.replace(/ <value>$/, "").split(", ").pop();
      return / <value>'/.test(e.message) ? `${flag} needs a value` : `${flag} takes no value`;
    }
    default:
      return e.message.split("\n")[0];
  }
}

function usageText(command: string, summary: string, options: Record<string, OptionSpec>, epilogue?: string, positional?: CommandSpec<never>["positional"]): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    const notes = [o.required ? "(required)" : "", o.multiple ? "(may be repeated)" : ""].filter(Boolean).join(" ");
    return { flag, description: notes ? `${o.description} ${notes}` : o.description };
  });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  const synopsis = Object.entries(options)
    .filter(([name]) => name !== "help")
    .map(([name, o]) => {
      const text = `--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
      return o.required ? text : `[${text}]`;
    });
  const lines = [`Usage: ${command}${synopsis.length ? ` ${synopsis.join(" ")}` : ""}`, "", summary, "", ...(positional ? [`  ${positional.name.padEnd(Math.max(width, positional.name.length + 2))}${positional.description}`, ""] : []), "Options:"];
  for (const { flag, description } of rows) {
    const [first, ...rest] = description.split("\n");
    lines.push(`  ${flag.padEnd(width)}${first}`, ...rest.map((l) => `  ${" ".repeat(width)}${l}`));
  }
  if (epilogue) lines.push("", epilogue);
  return lines.join("\n");
}

/** A whole number option; `undefined` stays undefined. The error names the flag and the value. */
export function integerOption(flag: string, value: string | undefined, limits: { min?: number; max?: number; unit?: string } = {}): number | undefined {
  if (value === undefined) return undefined;
  const { min = 0, max = Number.MAX_SAFE_INTEGER, unit = "" } = limits;
  const what = unit ? `a whole number of ${unit}` : min === 0 ? "a non-negative integer" : `an integer of at least ${min}`;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${flag}: expected ${what}, got ${JSON.stringify(value)}`);
  if (Number(value) > max) throw new UsageError(`--${flag}: at most ${max}${unit ? ` ${unit}` : ""}, got ${value}`);
  return Number(value);
}

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const consoleIo: CommandIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

/**
 * Parses argv and runs `main` with the values: --help prints the usage (0); a UsageError, from the parse or
 * from `main`, prints one line (2). `main` returns the exit code (default 0). Other errors propagate.
 */
export async function runCommand<O extends Record<string, OptionSpec>>(
  command: Command<O>,
  argv: readonly string[],
  main: (values: OptionValues<O>) => Promise<number | void> | number | void,
  io: CommandIo = consoleIo,
): Promise<number> {
  try {
    const values = command.parse(argv);
    if (values === "help") {
      io.out(command.usage);
      return 0;
    }
    return (await main(values)) ?? 0;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(usageErrorLine(command.spec.command, e));
    return 2;
  }
}

/** The one line a usage error prints. */
export function usageErrorLine(command: string, e: UsageError): string {
  return `error: ${e.message} (Usage: ${command} [options]; --help lists them)`;
}

/**
 * The entry point of a tool run as a script: runs the command on process.argv and sets the exit code.
 * An unexpected error prints its message only (1): the tools' errors name their file or value.
 */
export function runAsScript<O extends Record<string, OptionSpec>>(command: Command<O>, main: (values: OptionValues<O>) => Promise<number | void> | number | void): void {
  runCommand(command, process.argv.slice(2), main).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`error: ${(e as Error)?.message ?? e}`);
      process.exitCode = 1;
    },
  );
}
