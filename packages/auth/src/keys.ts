import { InvalidReferenceError } from "@stevedore/types";

/**
 * Checks a credentials key (`host[:port]`, `host[:port]/namespace…` or a
 * repository) and says whether it is namespaced (has a `/`). Keys with a
 * `http://`/`https://` scheme, an `@`, or a `:` after the host (a tag) are
 * refused with `InvalidReferenceError`.
 */
export function validateCredentialsKey(key: string): { namespaced: boolean } {
  if (key === "") throw new InvalidReferenceError("a credentials key must not be empty; use a registry host name");
  if (key.startsWith("http://") || key.startsWith("https://")) {
    throw new InvalidReferenceError(`credentials key ${JSON.stringify(key)} must not start with http:// or https://; use the host name`);
  }
  if (key.includes("@")) {
    throw new InvalidReferenceError(`credentials key ${JSON.stringify(key)} must not contain "@" (a digest)`);
  }
  const slash = key.indexOf("/");
  if (slash !== -1 && key.includes(":", slash + 1)) {
    throw new InvalidReferenceError(
      `credentials key ${JSON.stringify(key)} must not contain ":" after the host[:port] (a tag); use the repository name`,
    );
  }
  return { namespaced: slash !== -1 };
}

/** The registry (`host[:port]`) part of a credentials key. */
export function registryOfKey(key: string): string {
  const slash = key.indexOf("/");
  return slash === -1 ? key : key.slice(0, slash);
}

/** Docker Hub's host names all mean `index.docker.io` in auth files. */
export function normalizeRegistry(registry: string): string {
  return registry === "docker.io" || registry === "registry-1.docker.io" ? "index.docker.io" : registry;
}

/**
 * The registry an auth file key stands for: a `http(s)://` scheme and, for
 * URL keys and legacy files, everything after the host are dropped, then
 * Docker Hub names are normalised (`https://index.docker.io/v1/` →
 * `index.docker.io`).
 */
export function normalizeAuthFileKey(key: string, legacyFormat: boolean): string {
  let stripped = key;
  if (stripped.startsWith("http://")) stripped = stripped.slice(7);
  else if (stripped.startsWith("https://")) stripped = stripped.slice(8);
  if (legacyFormat || stripped !== key) {
    const slash = stripped.indexOf("/");
    if (slash !== -1) stripped = stripped.slice(0, slash);
  }
  return normalizeRegistry(stripped);
}

/**
 * The auth file keys to try for `key`, best first: `host/ns/repo`,
 * `host/ns`, `host`. Legacy files only have host keys.
 */
export function authKeyLookupOrder(key: string, legacyFormat: boolean): string[] {
  if (legacyFormat) return [registryOfKey(key)];
  const out = [key];
  for (let k = key, i = k.lastIndexOf("/"); i !== -1; i = k.lastIndexOf("/")) {
    k = k.slice(0, i);
    out.push(k);
  }
  return out;
}
