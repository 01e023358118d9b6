import { join } from "node:path";
import { InvalidConfigurationError, type SystemContext } from "@stevedore/types";
import { SqliteBlobInfoCache, openSqliteCache, type SqliteCacheOptions } from "./sqlite-cache.js";

/**
 * The file name of Stevedore's cache in the cache directory. It differs
 * from containers/image's `blob-info-cache-v1.sqlite` because the schemas
 * differ: the two never read each other's file.
 */
export const CACHE_FILE_NAME = "stevedore-blob-info-cache-v1.sqlite";

/** Options of {@link defaultSqliteCacheDir} and {@link defaultSqliteCachePath}. */
export interface DefaultCachePathOptions {
  /**
   * Whether to use the system-wide location. Defaults to "the effective
   * user is root", where `_CONTAINERS_ROOTLESS_UID` (set inside
   * `podman unshare`) stands for the real user, as containers/image does.
   */
  isRoot?: boolean;
}

function runningAsRoot(env: Readonly<Record<string, string | undefined>>): boolean {
  const rootless = env["_CONTAINERS_ROOTLESS_UID"];
  if (rootless !== undefined && rootless !== "") return Number(rootless) === 0;
  return typeof process.geteuid === "function" && process.geteuid() === 0;
}

/**
 * The directory of the persistent blob-info cache, as containers/image
 * chooses it: `ctx.blobInfoCacheDir` when set; for root
 * `<rootForImplicitAbsolutePaths>/var/lib/containers/cache`; for other users
 * `$XDG_DATA_HOME/containers/cache`, or `$HOME/.local/share/containers/cache`.
 * Throws {@link InvalidConfigurationError} when a user has neither variable
 * (nor `ctx.homeDir`).
 */
export function defaultSqliteCacheDir(ctx: SystemContext = {}, options: DefaultCachePathOptions = {}): string {
  if (ctx.blobInfoCacheDir !== undefined && ctx.blobInfoCacheDir !== "") return ctx.blobInfoCacheDir;
  const env = ctx.env ?? process.env;
  if (options.isRoot ?? runningAsRoot(env)) {
    return join(ctx.rootForImplicitAbsolutePaths ?? "/", "var", "lib", "containers", "cache");
  }
  const dataHome = env["XDG_DATA_HOME"];
  if (dataHome !== undefined && dataHome !== "") return join(dataHome, "containers", "cache");
  const home = ctx.homeDir ?? env["HOME"];
  if (home !== undefined && home !== "") return join(home, ".local", "share", "containers", "cache");
  throw new InvalidConfigurationError(
    "cannot choose a directory for the blob-info cache: neither XDG_DATA_HOME nor HOME is set (set one, or blobInfoCacheDir)",
  );
}

/** The default cache file: {@link CACHE_FILE_NAME} in {@link defaultSqliteCacheDir}. */
export function defaultSqliteCachePath(ctx: SystemContext = {}, options: DefaultCachePathOptions = {}): string {
  return join(defaultSqliteCacheDir(ctx, options), CACHE_FILE_NAME);
}

/**
 * The cache a copy uses by default: the SQLite file at
 * {@link defaultSqliteCachePath}, or, when no path can be determined or the
 * file cannot be used, an in-memory cache (reported through
 * `options.onWarning`). Never throws.
 */
export function createDefaultCache(
  ctx: SystemContext = {},
  options: SqliteCacheOptions & DefaultCachePathOptions = {},
): SqliteBlobInfoCache {
  let path: string;
  try {
    path = defaultSqliteCachePath(ctx, options);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return new SqliteBlobInfoCache("", options, { message: `${why}; using an in-memory blob-info cache instead`, cause: e });
  }
  return openSqliteCache(path, options);
}
