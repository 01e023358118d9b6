import type { OptionSpec, ParsedValues } from "./args.js";

/** Where a command writes. Tests pass their own. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars vs. plain lines). */
  stderrIsTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

/** The global options, parsed before the verb. */
export interface GlobalOptions {
  debug: boolean;
  policy?: string;
  insecurePolicy: boolean;
  registriesD?: string;
  registriesConf?: string;
  overrideArch?: string;
  overrideOS?: string;
  overrideVariant?: string;
  tmpdir?: string;
  commandTimeoutMs?: number;
  transportPlugins: string[];
}

export interface CommandContext {
  io: CommandIo;
  global: GlobalOptions;
  values: ParsedValues;
  positionals: string[];
  /** Stevedore's version, e.g. for the User-Agent. */
  version: string;
}

/** A verb of the `stevedore` command. */
export interface Command {
  name: string;
  /** One line for the verb list. */
  summary: string;
  /** `stevedore <name> [flags] ARGS` */
  usage: string;
  /** Longer text for `stevedore <name> --help`. */
  description?: string;
  options: readonly OptionSpec[];
  /** Runs the command; resolves to the exit status. */
  run(ctx: CommandContext): Promise<number>;
}
