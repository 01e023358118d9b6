import { stat } from "node:fs/promises";
import { join } from "node:path";
import { InvalidConfigurationError, type SystemContext } from "@stevedore/types";
import { contextEnv, contextHomeDir, errorCode } from "./internal/env.js";

/** An auth file and its format. */
export interface AuthFilePath {
  readonly path: string;
  /**
   * The legacy `~/.dockercfg` format: the top-level object is the `auths`
   * map itself and keys are looked up by host only.
   */
  readonly legacyFormat: boolean;
}

interface PrimaryPath {
  /** The primary file; undefined when `$XDG_RUNTIME_DIR` names a missing directory. */
  readonly path: AuthFilePath | undefined;
  /** Why there is no primary file. */
  readonly error?: InvalidConfigurationError;
  /** The path was chosen by the caller (SystemContext or `REGISTRY_AUTH_FILE`): no other file is consulted. */
  readonly userSpecified: boolean;
}

async function primaryPath(ctx: SystemContext): Promise<PrimaryPath> {
  const env = contextEnv(ctx);
  if (ctx.authFilePath) return { path: { path: ctx.authFilePath, legacyFormat: false }, userSpecified: true };
  if (env.REGISTRY_AUTH_FILE) return { path: { path: env.REGISTRY_AUTH_FILE, legacyFormat: false }, userSpecified: true };
  if (ctx.legacyFormatAuthFilePath) {
    return { path: { path: ctx.legacyFormatAuthFilePath, legacyFormat: true }, userSpecified: true };
  }
  const uid = process.getuid?.() ?? 0;
  const perUid = `/run/containers/${uid}/auth.json`;
  if (process.platform !== "linux") {
    return { path: { path: join(contextHomeDir(ctx), ".config/containers/auth.json"), legacyFormat: false }, userSpecified: false };
  }
  if (ctx.rootForImplicitAbsolutePaths) {
    return { path: { path: join(ctx.rootForImplicitAbsolutePaths, perUid), legacyFormat: false }, userSpecified: false };
  }
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir) {
    try {
      await stat(runtimeDir);
    } catch (e) {
      if (errorCode(e) === "ENOENT") {
        return {
          path: undefined,
          error: new InvalidConfigurationError(
            `the directory ${JSON.stringify(runtimeDir)} named by $XDG_RUNTIME_DIR does not exist; create it or unset XDG_RUNTIME_DIR`,
            { cause: e },
          ),
          userSpecified: false,
        };
      }
    }
    return { path: { path: join(runtimeDir, "containers/auth.json"), legacyFormat: false }, userSpecified: false };
  }
  return { path: { path: perUid, legacyFormat: false }, userSpecified: false };
}

/**
 * The auth files consulted for `ctx`, in lookup order (as containers/image):
 *
 * 1. `ctx.authFilePath`, else `$REGISTRY_AUTH_FILE`, else
 *    `ctx.legacyFormatAuthFilePath` — when one is set, it is the only file;
 * 2. otherwise `$XDG_RUNTIME_DIR/containers/auth.json` (Linux; skipped when
 *    that directory does not exist; `/run/containers/<uid>/auth.json` when
 *    the variable is unset, under `rootForImplicitAbsolutePaths` if set;
 *    `~/.config/containers/auth.json` on other systems),
 *    `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config`),
 *    `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) and the
 *    legacy `~/.dockercfg`.
 *
 * The files need not exist.
 */
export async function authFilePaths(ctx: SystemContext = {}): Promise<AuthFilePath[]> {
  const primary = await primaryPath(ctx);
  const out: AuthFilePath[] = [];
  if (primary.path !== undefined) out.push(primary.path);
  if (primary.userSpecified) return out;
  const env = contextEnv(ctx);
  const home = contextHomeDir(ctx);
  out.push({ path: join(env.XDG_CONFIG_HOME || join(home, ".config"), "containers/auth.json"), legacyFormat: false });
  out.push({
    path: env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, "config.json") : join(home, ".docker/config.json"),
    legacyFormat: false,
  });
  out.push({ path: join(home, ".dockercfg"), legacyFormat: true });
  return out;
}

/**
 * The auth file that {@link setCredentials} and {@link removeCredentials}
 * edit: the first of {@link authFilePaths}'s rule 1 or 2. Throws
 * `InvalidConfigurationError` when `$XDG_RUNTIME_DIR` names a missing
 * directory.
 */
export async function authFilePathForWrite(ctx: SystemContext = {}): Promise<AuthFilePath> {
  const primary = await primaryPath(ctx);
  if (primary.path === undefined) throw primary.error;
  return primary.path;
}
