/**
 * URL redaction for messages: no user info, and no query values except the
 * few the registry protocol uses that carry no secrets.
 *
 * @module
 */

/** Query parameters whose values are safe to show (they carry no secrets). */
const SAFE_QUERY_PARAMS = new Set(["digest", "mount", "from", "n", "last", "service", "scope"]);

/**
 * The URL as text safe for an error message: credentials removed, and every
 * query value other than `digest`, `mount`, `from`, `n`, `last`, `service`
 * and `scope` replaced by `REDACTED` (upload `_state`, pre-signed URL
 * signatures, tokens).
 */
export function redactURL(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return "(invalid URL)";
  }
  u.username = "";
  u.password = "";
  u.hash = "";
  if (u.search !== "") {
    const parts: string[] = [];
    for (const [k, v] of u.searchParams) {
      parts.push(`${encodeURIComponent(k)}=${SAFE_QUERY_PARAMS.has(k) ? encodeURIComponent(v) : "REDACTED"}`);
    }
    u.search = parts.length > 0 ? `?${parts.join("&")}` : "";
  }
  return u.toString();
}

/** Whether two URLs have the same origin (scheme, host and port). */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}
