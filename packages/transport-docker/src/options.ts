/**
 * Options of a docker transport instance (what a `SystemContext` does not
 * carry).
 *
 * @module
 */

/** Options of {@link createDockerTransport}. */
export interface DockerTransportOptions {
  /**
   * How long a request may wait for the server without any progress (no
   * response headers, or no body data), in milliseconds, before it fails
   * with a `NetworkError`. Default 300 000 (5 minutes); 0 disables it.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Origins (`https://auth.example.com`, scheme and port included) of token
   * servers that may receive the registry's credentials although they are
   * not the registry's own origin. By default credentials go only to a
   * token realm on the registry's origin, and from `registry-1.docker.io`
   * to `https://auth.docker.io`; to any other realm the token is requested
   * anonymously and a resulting failure says why.
   */
  readonly trustedTokenRealms?: readonly string[];
  /** The most pages a tag or catalog listing follows. Default 1000. */
  readonly maxListPages?: number;
  /** The OAuth2 `client_id` sent with identity-token refreshes. Default `stevedore`. */
  readonly oauthClientId?: string;
}

/** {@link DockerTransportOptions} with defaults applied. */
export interface ResolvedTransportOptions {
  readonly idleTimeoutMs: number;
  readonly trustedTokenRealms: ReadonlySet<string>;
  readonly maxListPages: number;
  readonly oauthClientId: string;
}

/** Applies the defaults and validates `options`. */
export function resolveOptions(options: DockerTransportOptions = {}): ResolvedTransportOptions {
  const idle = options.idleTimeoutMs ?? 300_000;
  if (!Number.isFinite(idle) || idle < 0) throw new TypeError(`idleTimeoutMs must be a non-negative number, got ${String(idle)}`);
  const pages = options.maxListPages ?? 1000;
  if (!Number.isInteger(pages) || pages < 1) throw new TypeError(`maxListPages must be a positive integer, got ${String(pages)}`);
  const realms = new Set<string>();
  for (const r of options.trustedTokenRealms ?? []) {
    let u: URL;
    try {
      u = new URL(r);
    } catch {
      throw new TypeError(`trustedTokenRealms: "${r}" is not a URL`);
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new TypeError(`trustedTokenRealms: "${r}" is not an http(s) origin`);
    realms.add(u.origin);
  }
  return Object.freeze({
    idleTimeoutMs: idle,
    trustedTokenRealms: realms,
    maxListPages: pages,
    oauthClientId: options.oauthClientId ?? "stevedore",
  });
}
