/// <reference types="node" />
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "smol-toml";
import { throwIfAborted, type SystemContext } from "@stevedore/types";
import { RegistriesConfError } from "../errors.js";
import { aliasValue, shortNameProblem } from "../internal/aliases.js";
import { get, parseTomlText } from "../internal/toml.js";
import { parseShortNameAliasesConf } from "../parse.js";
import { resolveShortName, type ResolvedShortName } from "../shortnames.js";
import type { ShortNameAlias } from "../types.js";
import { writeFileAtomic } from "./atomic.js";
import { contextEnv, contextHomeDir, effectiveUid, errorCode } from "./context.js";
import { getRegistriesConfig, type LoadOptions } from "./load.js";

/** The user alias file, relative to the cache directory. */
const ALIASES_FILE = "containers/short-name-aliases.conf";

/**
 * Where the user's short-name alias file lives:
 * `ctx.userShortNameAliasConfPath`; for root `/var/cache/containers/short-name-aliases.conf`;
 * otherwise `$XDG_CACHE_HOME/containers/short-name-aliases.conf`
 * (`$HOME/.cache/…` when `XDG_CACHE_HOME` is unset).
 */
export function shortNameAliasesConfPath(ctx: SystemContext = {}): string {
  if (ctx.userShortNameAliasConfPath) return ctx.userShortNameAliasConfPath;
  if (effectiveUid() === 0) return join("/var/cache", ALIASES_FILE);
  const cacheHome = contextEnv(ctx).XDG_CACHE_HOME || join(contextHomeDir(ctx), ".cache");
  return join(cacheHome, ALIASES_FILE);
}

async function readAliasesText(path: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    return await readFile(path, { encoding: "utf8", signal });
  } catch (e) {
    throwIfAborted(signal);
    if (errorCode(e) === "ENOENT") return undefined;
    throw new RegistriesConfError(path, "", `cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads and validates the user's short-name alias file; a missing file
 * means no aliases. Throws `RegistriesConfError` for an invalid one.
 */
export async function loadShortNameAliases(
  ctx: SystemContext = {},
  options: LoadOptions = {},
): Promise<Map<string, ShortNameAlias>> {
  const path = shortNameAliasesConfPath(ctx);
  const text = await readAliasesText(path, options.signal);
  return text === undefined ? new Map() : parseShortNameAliasesConf(text, path);
}

async function editAliases(
  ctx: SystemContext,
  options: LoadOptions,
  edit: (path: string, aliases: Record<string, string>) => void,
): Promise<void> {
  const path = shortNameAliasesConfPath(ctx);
  const text = await readAliasesText(path, options.signal);
  const aliases: Record<string, string> = Object.create(null) as Record<string, string>;
  if (text !== undefined) {
    // Validate what is there before rewriting it.
    parseShortNameAliasesConf(text, path);
    const table = get(parseTomlText(path, text), "aliases");
    if (table !== undefined) Object.assign(aliases, table);
  }
  edit(path, aliases);
  throwIfAborted(options.signal);
  await writeFileAtomic(path, stringify({ aliases }) + "\n", 0o600);
}

/**
 * Records `name` → `value` in the user's alias file (replacing an earlier
 * alias of `name`). `name` must be a short name without tag or digest;
 * `value` a fully-qualified repository without tag or digest (it is stored
 * normalised). The file is replaced atomically with mode 0600.
 */
export async function addShortNameAlias(
  ctx: SystemContext,
  name: string,
  value: string,
  options: LoadOptions = {},
): Promise<void> {
  const nameProblem = shortNameProblem(name);
  const parsed = aliasValue(value);
  await editAliases(ctx, options, (path, aliases) => {
    const field = `aliases.${JSON.stringify(name)}`;
    if (nameProblem !== undefined) throw new RegistriesConfError(path, field, nameProblem);
    if ("problem" in parsed) throw new RegistriesConfError(path, field, parsed.problem);
    aliases[name] = parsed.name;
  });
}

/**
 * Removes `name` from the user's alias file. Throws `RegistriesConfError`
 * when the file has no such alias (an alias defined in a registries.conf
 * file must be edited there).
 */
export async function removeShortNameAlias(ctx: SystemContext, name: string, options: LoadOptions = {}): Promise<void> {
  await editAliases(ctx, options, (path, aliases) => {
    if (!Object.hasOwn(aliases, name)) {
      throw new RegistriesConfError(
        path,
        `aliases.${JSON.stringify(name)}`,
        "no such alias in this file; aliases defined in registries.conf files must be edited there",
      );
    }
    delete aliases[name];
  });
}

/**
 * Resolves `name` for `ctx`: the registries.conf configuration
 * ({@link getRegistriesConfig}), the user's alias file, and
 * `ctx.shortNameMode` as an override of `short-name-mode`. See
 * `resolveShortName` for the rules.
 */
export async function resolveShortNameWithContext(
  ctx: SystemContext,
  name: string,
  options: LoadOptions = {},
): Promise<ResolvedShortName> {
  const config = await getRegistriesConfig(ctx, options);
  const userAliases = await loadShortNameAliases(ctx, options);
  return resolveShortName(config, name, {
    userAliases,
    ...(ctx.shortNameMode !== undefined ? { mode: ctx.shortNameMode } : {}),
  });
}
