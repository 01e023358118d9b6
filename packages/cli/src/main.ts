import { readFileSync } from "node:fs";
import { InternalError, StevedoreError } from "@stevedore/types";
import { UsageError, formatOptions, parseArgs, type OptionSpec } from "./args.js";
import type { CommandIo, GlobalOptions } from "./command.js";
import { commandLoaders } from "./commands/index.js";
import { parseDuration } from "./duration.js";

export { parseDuration };

/** Set by the bundler (scripts/bundle.mjs); unset when running the tsc output. */
declare const __STEVEDORE_VERSION__: string | undefined;

/** The version of @stevedore/cli. */
export function version(): string {
  if (typeof __STEVEDORE_VERSION__ === "string") return __STEVEDORE_VERSION__;
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export const globalOptions: readonly OptionSpec[] = [
  { name: "help", short: "h", type: "boolean", help: "show help (for a verb: stevedore VERB --help)" },
  { name: "version", short: "v", type: "boolean", help: "print the version" },
  { name: "debug", type: "boolean", help: "print debugging information, including stack traces" },
  { name: "policy", type: "string", arg: "PATH", help: "path to a trust policy file (policy.json)" },
  { name: "insecure-policy", type: "boolean", help: "run without any policy check (accept every image)" },
  { name: "registries.d", type: "string", arg: "DIR", help: "directory of registries.d configuration (signature storage)" },
  { name: "registries-conf", type: "string", arg: "PATH", help: "path to registries.conf" },
  { name: "override-arch", type: "string", arg: "ARCH", help: "use ARCH instead of this machine's architecture when choosing images" },
  { name: "override-os", type: "string", arg: "OS", help: "use OS instead of this machine's OS when choosing images" },
  { name: "override-variant", type: "string", arg: "VARIANT", help: "use VARIANT instead of this machine's architecture variant" },
  { name: "tmpdir", type: "string", arg: "DIR", help: "directory for big temporary files (default /var/tmp)" },
  { name: "command-timeout", type: "string", arg: "DURATION", help: "give up after DURATION (e.g. 30s, 5m)" },
  { name: "transport-plugin", type: "list", arg: "MODULE", help: "load a third-party transport from MODULE (repeatable)" },
];

function usage(): string {
  const verbs = Object.entries(commandLoaders);
  const w = Math.max(8, ...verbs.map(([n]) => n.length));
  return [
    "stevedore: copy, inspect, sign and verify container images between registries and local formats",
    "",
    "Usage:",
    "  stevedore [global flags] VERB [flags] ARGS",
    "",
    "Verbs:",
    verbs.length ? verbs.map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`).join("\n") : "  (none yet)",
    "",
    "Image names are TRANSPORT:REFERENCE, e.g. docker://quay.io/org/app:1.0, oci:./layout:tag, dir:./image.",
    "",
    "Global flags:",
    formatOptions(globalOptions),
    "",
    "Run 'stevedore VERB --help' for a verb's flags.",
  ].join("\n");
}

/** Maps an error to its line on stderr and exit status. Only bugs get a stack trace. */
export function reportError(err: unknown, io: CommandIo, debug: boolean): number {
  if (err instanceof UsageError) {
    io.stderr(`stevedore: ${err.message}\nRun 'stevedore --help' for usage.\n`);
    return 2;
  }
  if (err instanceof StevedoreError && !(err instanceof InternalError)) {
    let line = `stevedore: ${err.message}`;
    // Name the first lower-level cause when it adds information.
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    if (cause && !err.message.includes(cause)) line += `: ${cause}`;
    io.stderr(line + "\n");
    if (debug && err.stack) io.stderr(err.stack + "\n");
    return 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  io.stderr(`stevedore: internal error (a bug in Stevedore; please report it): ${e.message}\n${e.stack ?? ""}\n`);
  return 70;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  // Global flags come before the verb.
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith("-")) {
    const a = argv[i]!;
    const spec = globalOptions.find((o) => a === `--${o.name}` || a.startsWith(`--${o.name}=`) || (o.short && a === `-${o.short}`));
    i += spec && spec.type !== "boolean" && !a.includes("=") ? 2 : 1;
  }
  let debug = false;
  try {
    const { values } = parseArgs(argv.slice(0, i), globalOptions);
    debug = values.debug === true;
    const rest = argv.slice(i);
    if (values.version) {
      io.stdout(`stevedore version ${version()}\n`);
      return 0;
    }
    if (rest.length === 0 || values.help) {
      if (rest.length === 0 && !values.help) {
        io.stderr(usage() + "\n");
        return 2;
      }
      if (rest.length === 0) {
        io.stdout(usage() + "\n");
        return 0;
      }
    }
    const verb = rest[0]!;
    if (verb === "help") {
      if (rest[1] === undefined) {
        io.stdout(usage() + "\n");
        return 0;
      }
      return main([rest[1], "--help"], io);
    }
    const loader = Object.hasOwn(commandLoaders, verb) ? commandLoaders[verb] : undefined;
    if (!loader) {
      const known = Object.keys(commandLoaders);
      throw new UsageError(`unknown command "${verb}"${known.length ? ` (known: ${known.join(", ")})` : ""}`);
    }
    const command = await loader.load();
    const parsed = parseArgs(rest.slice(1), [...command.options, { name: "help", short: "h", type: "boolean", help: "show this help" }]);
    if (parsed.values.help) {
      io.stdout(
        [`${command.summary}`, "", `Usage:\n  ${command.usage}`, command.description ? `\n${command.description}` : "", "", "Flags:", formatOptions(command.options), ""].join("\n"),
      );
      return 0;
    }
    const global: GlobalOptions = {
      debug,
      policy: values.policy as string | undefined,
      insecurePolicy: values["insecure-policy"] === true,
      registriesD: values["registries.d"] as string | undefined,
      registriesConf: values["registries-conf"] as string | undefined,
      overrideArch: values["override-arch"] as string | undefined,
      overrideOS: values["override-os"] as string | undefined,
      overrideVariant: values["override-variant"] as string | undefined,
      tmpdir: values.tmpdir as string | undefined,
      commandTimeoutMs: typeof values["command-timeout"] === "string" ? parseDuration(values["command-timeout"]) : undefined,
      transportPlugins: (values["transport-plugin"] as string[] | undefined) ?? [],
    };
    let signal = io.signal;
    if (global.commandTimeoutMs !== undefined) signal = AbortSignal.any([signal, AbortSignal.timeout(global.commandTimeoutMs)]);
    return await command.run({ io: { ...io, signal }, global, values: parsed.values, positionals: parsed.positionals, version: version() });
  } catch (err) {
    return reportError(err, io, debug);
  }
}
