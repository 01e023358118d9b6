import type { Command } from "../command.js";

/**
 * The verbs, each loaded only when used so that `stevedore --version` and
 * `--help` stay fast.
 */
export const commandLoaders: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {};
