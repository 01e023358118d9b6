/// <reference types="node" />
import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { throwIfAborted, type SystemContext } from "@stevedore/types";
import { RegistriesConfError } from "../errors.js";
import { mergeRegistriesConf } from "../merge.js";
import { parseRegistriesConf } from "../parse.js";
import type { RegistriesConfig, RegistriesConfLayer } from "../types.js";
import { contextHomeDir, errorCode } from "./context.js";

/** The system-wide registries.conf. */
export const SYSTEM_REGISTRIES_CONF_PATH = "/etc/containers/registries.conf";
/** The system-wide drop-in directory. */
export const SYSTEM_REGISTRIES_CONF_DIR_PATH = "/etc/containers/registries.conf.d";
/** The per-user registries.conf, relative to the home directory. */
export const USER_REGISTRIES_CONF_PATH = ".config/containers/registries.conf";
/** The per-user drop-in directory, relative to the home directory. */
export const USER_REGISTRIES_CONF_DIR_PATH = ".config/containers/registries.conf.d";

/** Which files make up the configuration for a SystemContext. */
export interface RegistriesConfPaths {
  /** The main registries.conf. */
  readonly configPath: string;
  /** The path was given explicitly (`systemRegistriesConfPath`): a missing file is an error, not "empty". */
  readonly configPathIsExplicit: boolean;
  /** The system (or explicitly chosen) drop-in directory, read first. */
  readonly configDirPath: string | undefined;
  /** The user's drop-in directory, read second. */
  readonly userConfigDirPath: string | undefined;
}

/** Options of the loading functions. */
export interface LoadOptions {
  signal?: AbortSignal;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Works out which registries.conf and drop-in directories apply, as
 * containers/image does:
 *
 * - main file: `ctx.systemRegistriesConfPath`; else the user's
 *   `$HOME/.config/containers/registries.conf` when it exists; else
 *   `<rootForImplicitAbsolutePaths>/etc/containers/registries.conf`;
 * - drop-ins: `ctx.systemRegistriesConfDirPath` alone when set; else, when
 *   the user's file is the main file, only the user's
 *   `registries.conf.d`; else the system directory (under the root prefix)
 *   and then the user's.
 */
export async function registriesConfPaths(ctx: SystemContext = {}): Promise<RegistriesConfPaths> {
  const home = contextHomeDir(ctx);
  const userFile = join(home, USER_REGISTRIES_CONF_PATH);
  const userDir = join(home, USER_REGISTRIES_CONF_DIR_PATH);
  const root = ctx.rootForImplicitAbsolutePaths;

  if (!ctx.systemRegistriesConfPath && (await exists(userFile))) {
    return ctx.systemRegistriesConfDirPath
      ? { configPath: userFile, configPathIsExplicit: false, configDirPath: ctx.systemRegistriesConfDirPath, userConfigDirPath: undefined }
      : { configPath: userFile, configPathIsExplicit: false, configDirPath: undefined, userConfigDirPath: userDir };
  }
  const configPath = ctx.systemRegistriesConfPath
    ? ctx.systemRegistriesConfPath
    : root
      ? join(root, SYSTEM_REGISTRIES_CONF_PATH)
      : SYSTEM_REGISTRIES_CONF_PATH;
  const configPathIsExplicit = Boolean(ctx.systemRegistriesConfPath);
  if (ctx.systemRegistriesConfDirPath) {
    return { configPath, configPathIsExplicit, configDirPath: ctx.systemRegistriesConfDirPath, userConfigDirPath: undefined };
  }
  return {
    configPath,
    configPathIsExplicit,
    configDirPath: root ? join(root, SYSTEM_REGISTRIES_CONF_DIR_PATH) : SYSTEM_REGISTRIES_CONF_DIR_PATH,
    userConfigDirPath: userDir,
  };
}

/** Reads a file; `undefined` when it does not exist (or, with `skipDirectories`, is a directory). */
async function readOptional(path: string, signal: AbortSignal | undefined, skipDirectories: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, { encoding: "utf8", signal });
  } catch (e) {
    throwIfAborted(signal);
    const code = errorCode(e);
    if (code === "ENOENT" || code === "ENOTDIR" || (skipDirectories && code === "EISDIR")) return undefined;
    throw new RegistriesConfError(path, "", `cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/** The `*.conf` files of a drop-in directory, in lexical order; none when the directory does not exist. */
export async function dropInFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = errorCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw new RegistriesConfError(dir, "", `the drop-in directory cannot be read: ${(e as Error).message}`, { cause: e });
  }
  return entries
    .filter((e) => !e.isDirectory() && e.name.endsWith(".conf"))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

/**
 * Reads the configuration that applies to `ctx` ({@link registriesConfPaths}):
 * the main file (a missing default file counts as empty; a missing explicit
 * `systemRegistriesConfPath` is an error), then every drop-in in order
 * (v2 format only). Throws `RegistriesConfError` naming the file and field.
 * Nothing is cached; see {@link getRegistriesConfig}.
 */
export async function loadRegistriesConfig(ctx: SystemContext = {}, options: LoadOptions = {}): Promise<RegistriesConfig> {
  return loadFromPaths(await registriesConfPaths(ctx), options);
}

async function loadFromPaths(paths: RegistriesConfPaths, options: LoadOptions): Promise<RegistriesConfig> {
  const { signal } = options;
  throwIfAborted(signal);
  let main: RegistriesConfLayer | undefined;
  const mainText = await readOptional(paths.configPath, signal, false);
  if (mainText === undefined) {
    if (paths.configPathIsExplicit) {
      throw new RegistriesConfError(paths.configPath, "", "does not exist (it was named explicitly)");
    }
  } else {
    main = parseRegistriesConf(mainText, { source: paths.configPath });
  }
  const dropIns: RegistriesConfLayer[] = [];
  for (const dir of [paths.configDirPath, paths.userConfigDirPath]) {
    if (dir === undefined) continue;
    for (const file of await dropInFiles(dir)) {
      throwIfAborted(signal);
      // A file removed between listing and reading, or a symlink to a directory, is skipped.
      const text = await readOptional(file, signal, true);
      if (text !== undefined) dropIns.push(parseRegistriesConf(text, { source: file, dropIn: true }));
    }
  }
  return mergeRegistriesConf(main, dropIns);
}

const cache = new Map<string, Promise<RegistriesConfig>>();

/**
 * {@link loadRegistriesConfig}, cached per set of paths for the life of the
 * process (as containers/image does). Call
 * {@link invalidateRegistriesConfCache} after changing the files.
 */
export async function getRegistriesConfig(ctx: SystemContext = {}, options: LoadOptions = {}): Promise<RegistriesConfig> {
  const paths = await registriesConfPaths(ctx);
  const key = JSON.stringify(paths);
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = loadFromPaths(paths, {});
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  if (options.signal === undefined) return pending;
  throwIfAborted(options.signal);
  const signal = options.signal;
  return new Promise<RegistriesConfig>((resolve, reject) => {
    const onAbort = () => {
      try {
        throwIfAborted(signal);
      } catch (e) {
        reject(e);
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Forgets every configuration cached by {@link getRegistriesConfig}. */
export function invalidateRegistriesConfCache(): void {
  cache.clear();
}
