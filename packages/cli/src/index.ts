export { main, version, parseDuration, reportError, globalOptions } from "./main.js";
export { parseArgs, formatOptions, UsageError, type OptionSpec, type ParsedValues } from "./args.js";
export type { Command, CommandContext, CommandIo, GlobalOptions } from "./command.js";
