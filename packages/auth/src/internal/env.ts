import { homedir } from "node:os";
import type { SystemContext } from "@stevedore/types";

/** The environment a SystemContext asks for: its `env`, else the process's. */
export function contextEnv(ctx: SystemContext): Readonly<Record<string, string | undefined>> {
  return ctx.env ?? process.env;
}

/** The home directory: `ctx.homeDir`, else `$HOME`, else the OS's idea of it. */
export function contextHomeDir(ctx: SystemContext): string {
  if (ctx.homeDir) return ctx.homeDir;
  const home = contextEnv(ctx).HOME;
  return home ? home : homedir();
}

/** An errno-style code of a failure, if it has one. */
export function errorCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string"
    ? (e as { code: string }).code
    : undefined;
}
