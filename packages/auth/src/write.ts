import { AUTH_FILE_CREDENTIAL_HELPER } from "@stevedore/registries-conf";
import { getRegistriesConfig } from "@stevedore/registries-conf/node";
import { throwIfAborted, UnsupportedError, type SystemContext } from "@stevedore/types";
import type { CredentialsOptions } from "./credentials.js";
import { encodeAuth, readAuthFile, writeFileAtomic, type AuthFileContents } from "./internal/auth-file.js";
import { contextEnv } from "./internal/env.js";
import { helperErase, helperStore, type HelperOptions } from "./internal/helper.js";
import { validateCredentialsKey } from "./keys.js";
import { authFilePathForWrite } from "./paths.js";

function namespacedUnsupported(helper: string, key: string): UnsupportedError {
  return new UnsupportedError(
    `credential helper docker-credential-${helper} does not support namespaced keys such as ${JSON.stringify(key)}; use the registry host name`,
  );
}

/**
 * Loads the auth file that is written to, lets `edit` change it, and writes
 * it back atomically (mode 0600) when `edit` returns true. Fields this
 * package does not know are kept.
 */
async function editAuthFile(
  ctx: SystemContext,
  signal: AbortSignal | undefined,
  edit: (contents: AuthFileContents, path: string) => Promise<boolean>,
): Promise<string> {
  const file = await authFilePathForWrite(ctx);
  if (file.legacyFormat) {
    throw new UnsupportedError(`writing the legacy-format auth file ${file.path} is not supported; use an auth.json path`);
  }
  const contents = (await readAuthFile(file, signal)) ?? { raw: {}, auths: {}, credHelpers: {} };
  if (await edit(contents, file.path)) {
    throwIfAborted(signal);
    const raw = { ...contents.raw, auths: contents.auths };
    await writeFileAtomic(file.path, JSON.stringify(raw, null, "\t") + "\n");
  }
  return file.path;
}

/**
 * Stores `username`/`password` for `key` (`host[:port]`, or a namespace or
 * repository on it — auth files only) with the first registries.conf
 * `credential-helpers` entry that accepts them:
 *
 * - `containers-auth.json`: the auth file ({@link authFilePathForWrite});
 *   when that file has a `credHelpers` entry for the key, the credentials go
 *   to that helper instead; otherwise `auths[key]` is replaced by
 *   `{ "auth": base64(user:password) }` and the file is rewritten
 *   atomically with mode 0600;
 * - any other name: `docker-credential-<name> store`.
 *
 * Returns a description of where they went (a path or
 * `"credential helper <name>"`). When every helper fails, the first failure
 * is thrown. The password never appears in an error.
 */
export async function setCredentials(
  ctx: SystemContext | undefined,
  key: string,
  username: string,
  password: string,
  options: CredentialsOptions = {},
): Promise<string> {
  const context = ctx ?? {};
  const { namespaced } = validateCredentialsKey(key);
  const { signal } = options;
  const config = options.registriesConfig ?? (await getRegistriesConfig(context, signal ? { signal } : {}));
  const helperOptions: HelperOptions = { env: contextEnv(context), secrets: [password], ...(signal ? { signal } : {}) };
  const errors: unknown[] = [];
  for (const helper of config.credentialHelpers) {
    try {
      if (helper === AUTH_FILE_CREDENTIAL_HELPER) {
        let description = "";
        const path = await editAuthFile(context, signal, async (contents) => {
          if (Object.hasOwn(contents.credHelpers, key)) {
            const inner = contents.credHelpers[key]!;
            if (namespaced) throw namespacedUnsupported(inner, key);
            await helperStore(inner, key, username, password, helperOptions);
            description = `credential helper ${inner}`;
            return false;
          }
          // defineProperty: a key such as "__proto__" must become an entry, not a prototype.
          Object.defineProperty(contents.auths, key, {
            value: { auth: encodeAuth(username, password) },
            enumerable: true,
            writable: true,
            configurable: true,
          });
          return true;
        });
        return description || path;
      }
      if (namespaced) throw namespacedUnsupported(helper, key);
      await helperStore(helper, key, username, password, helperOptions);
      return `credential helper ${helper}`;
    } catch (e) {
      if (signal?.aborted) throw e;
      errors.push(e);
    }
  }
  throw errors[0];
}

/**
 * Removes the credentials of `key` from every registries.conf
 * `credential-helpers` entry: the auth file's `auths[key]` (and, through
 * its `credHelpers[key]`, that helper), and each external helper
 * (`docker-credential-<name> erase`; namespaced keys are skipped there).
 * Returns true when something was removed, false when `key` had no
 * credentials anywhere. Throws the first failure after trying them all.
 */
export async function removeCredentials(
  ctx: SystemContext | undefined,
  key: string,
  options: CredentialsOptions = {},
): Promise<boolean> {
  const context = ctx ?? {};
  const { namespaced } = validateCredentialsKey(key);
  const { signal } = options;
  const config = options.registriesConfig ?? (await getRegistriesConfig(context, signal ? { signal } : {}));
  const helperOptions: HelperOptions = { env: contextEnv(context), ...(signal ? { signal } : {}) };
  let removed = false;
  const errors: unknown[] = [];
  for (const helper of config.credentialHelpers) {
    try {
      if (helper === AUTH_FILE_CREDENTIAL_HELPER) {
        let innerError: unknown;
        await editAuthFile(context, signal, async (contents) => {
          if (Object.hasOwn(contents.credHelpers, key) && !namespaced) {
            try {
              if (await helperErase(contents.credHelpers[key]!, key, helperOptions)) removed = true;
            } catch (e) {
              innerError = e;
            }
          }
          if (!Object.hasOwn(contents.auths, key)) return false;
          delete contents.auths[key];
          removed = true;
          return true;
        });
        if (innerError !== undefined) throw innerError;
      } else if (!namespaced) {
        if (await helperErase(helper, key, helperOptions)) removed = true;
      }
    } catch (e) {
      if (signal?.aborted) throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
  return removed;
}
