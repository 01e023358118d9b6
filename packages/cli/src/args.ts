import { StevedoreError } from "@stevedore/types";

/** A command-line usage error: printed with a hint to `--help`, exit status 2. */
export class UsageError extends StevedoreError {
  static override readonly code: string = "ERR_USAGE";
}

/** One option of a command, in skopeo's style. */
export interface OptionSpec {
  /** Long name without dashes, e.g. `src-tls-verify`. */
  name: string;
  /** One-letter alias, e.g. `q`. */
  short?: string;
  /** boolean: `--x`, `--x=true|false`; string: `--x v` or `--x=v`; list: repeatable string. */
  type: "boolean" | "string" | "list";
  /** Placeholder for help, e.g. `PATH`. */
  arg?: string;
  /** One line for `--help`. */
  help: string;
  /** Hidden from `--help` (kept for compatibility). */
  hidden?: boolean;
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** Parses `argv` against `specs`; positionals are returned in order. `--` ends options. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): { values: ParsedValues; positionals: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values: ParsedValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag --${name}`);
    } else if (a.startsWith("-") && a.length > 1) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(1) : a.slice(1, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      spec = byShort.get(name);
      if (!spec) throw new UsageError(`unknown shorthand flag -${name}`);
    } else {
      positionals.push(a);
      continue;
    }
    if (spec.type === "boolean") {
      if (inline === undefined) values[spec.name] = true;
      else if (inline === "true" || inline === "1") values[spec.name] = true;
      else if (inline === "false" || inline === "0") values[spec.name] = false;
      else throw new UsageError(`invalid value "${inline}" for --${spec.name}: expected true or false`);
      continue;
    }
    let v = inline;
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${spec.name} needs a value`);
      v = argv[++i]!;
    }
    if (spec.type === "list") {
      const prev = values[spec.name];
      values[spec.name] = [...(Array.isArray(prev) ? prev : []), v];
    } else {
      values[spec.name] = v;
    }
  }
  return { values, positionals };
}

/** Formats the options table of `--help`. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.arg ? ` ${s.arg}` : s.type === "boolean" ? "" : " VALUE"}`;
      return [flag, s.help] as const;
    });
  const w = Math.min(40, Math.max(0, ...rows.map(([f]) => f.length)));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`).join("\n");
}
