import { AUTH_FILE_CREDENTIAL_HELPER, type RegistriesConfig } from "@stevedore/registries-conf";
import { getRegistriesConfig } from "@stevedore/registries-conf/node";
import type { AuthConfig, DockerReference, SystemContext } from "@stevedore/types";
import { decodeAuthEntry, readAuthFile } from "./internal/auth-file.js";
import { contextEnv } from "./internal/env.js";
import { helperGet } from "./internal/helper.js";
import { authKeyLookupOrder, normalizeAuthFileKey, normalizeRegistry, registryOfKey, validateCredentialsKey } from "./keys.js";
import { authFilePaths, type AuthFilePath } from "./paths.js";

/** Options of the credential functions. */
export interface CredentialsOptions {
  signal?: AbortSignal;
  /**
   * The registries.conf configuration whose `credential-helpers` apply;
   * read for the SystemContext (`getRegistriesConfig`) when not given.
   */
  registriesConfig?: RegistriesConfig;
}

/** Credentials and where they were found. */
export interface FoundCredentials {
  readonly credentials: AuthConfig;
  /**
   * A description of the source for messages: `"SystemContext"`, an auth
   * file path, `"credential helper <name>"`, or
   * `"credential helper <name> (credHelpers in <file>)"`.
   */
  readonly source: string;
}

async function findInFile(
  key: string,
  registry: string,
  file: AuthFilePath,
  ctx: SystemContext,
  signal: AbortSignal | undefined,
): Promise<FoundCredentials | undefined> {
  const contents = await readAuthFile(file, signal);
  if (contents === undefined) return undefined;

  // credHelpers are keyed by registry only; namespaced keys are not supported there.
  if (Object.hasOwn(contents.credHelpers, registry)) {
    const helper = contents.credHelpers[registry]!;
    const credentials = await helperGet(helper, registry, { env: contextEnv(ctx), ...(signal ? { signal } : {}) });
    return credentials && { credentials, source: `credential helper ${helper} (credHelpers in ${file.path})` };
  }

  const found = (k: string): FoundCredentials | undefined => {
    const credentials = decodeAuthEntry(file.path, k, contents.auths[k]!);
    return credentials && { credentials, source: file.path };
  };
  for (const k of authKeyLookupOrder(key, file.legacyFormat)) {
    if (Object.hasOwn(contents.auths, k)) return found(k);
  }
  // Keys written as URLs (https://host/v1/) or with another Docker Hub alias.
  const wanted = normalizeRegistry(registry);
  for (const k of Object.keys(contents.auths)) {
    if (normalizeAuthFileKey(k, file.legacyFormat) === wanted) return found(k);
  }
  return undefined;
}

/**
 * Finds the credentials for `registryOrRepo` (`host[:port]`, or
 * `host/namespace/repository` for per-repository credentials), in
 * containers/image's order:
 *
 * 1. `ctx.dockerAuthConfig`, when set, wins outright;
 * 2. otherwise each registries.conf `credential-helpers` entry in order
 *    (default `["containers-auth.json"]`): `containers-auth.json` searches the
 *    auth files of {@link authFilePaths} — per file, a `credHelpers[host]`
 *    entry runs that helper; else the keys `host/ns/repo`, `host/ns`, `host`
 *    (most specific first); else keys that normalise to the host (URL keys,
 *    `docker.io` ≡ `registry-1.docker.io` ≡ `index.docker.io`); any other
 *    name runs `docker-credential-<name> get` for the host.
 *
 * The first source that has credentials wins. When none has and some
 * failed, the first failure is thrown (`InvalidConfigurationError` for a bad
 * file, `MissingToolError` for a helper not on PATH, `CredentialHelperError`).
 * Returns `undefined` when nothing has credentials. The key is validated
 * first (`InvalidReferenceError`).
 */
export async function findCredentials(
  ctx: SystemContext | undefined,
  registryOrRepo: string,
  options: CredentialsOptions = {},
): Promise<FoundCredentials | undefined> {
  const context = ctx ?? {};
  validateCredentialsKey(registryOrRepo);
  if (context.dockerAuthConfig) return { credentials: { ...context.dockerAuthConfig }, source: "SystemContext" };

  const { signal } = options;
  const config = options.registriesConfig ?? (await getRegistriesConfig(context, signal ? { signal } : {}));
  const registry = registryOfKey(registryOrRepo);
  const errors: unknown[] = [];
  for (const helper of config.credentialHelpers) {
    try {
      if (helper === AUTH_FILE_CREDENTIAL_HELPER) {
        for (const file of await authFilePaths(context)) {
          const found = await findInFile(registryOrRepo, registry, file, context, signal);
          if (found) return found;
        }
      } else {
        // Helpers hold credentials per registry, never per repository.
        const credentials = await helperGet(helper, registry, { env: contextEnv(context), ...(signal ? { signal } : {}) });
        if (credentials) return { credentials, source: `credential helper ${helper}` };
      }
    } catch (e) {
      if (signal?.aborted) throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
  return undefined;
}

/**
 * The credentials for `registryOrRepo`, or `undefined` when there are none.
 * See {@link findCredentials} for the lookup order and errors.
 */
export async function getCredentials(
  ctx: SystemContext | undefined,
  registryOrRepo: string,
  options: CredentialsOptions = {},
): Promise<AuthConfig | undefined> {
  return (await findCredentials(ctx, registryOrRepo, options))?.credentials;
}

/** {@link getCredentials} for the repository of a parsed reference (its tag and digest are ignored). */
export async function getCredentialsForRef(
  ctx: SystemContext | undefined,
  ref: DockerReference,
  options: CredentialsOptions = {},
): Promise<AuthConfig | undefined> {
  return getCredentials(ctx, ref.name, options);
}
