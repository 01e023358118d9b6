import { domainRegexp } from "@stevedore/reference";
import { RegistriesConfError } from "../errors.js";

/** Matches `host[:port]` as the docker reference grammar allows it. */
const DOMAIN = new RegExp(`^(?:${domainRegexp.source})$`);

/** Whether `s` is a `host[:port]` value. */
export function isDomain(s: string): boolean {
  return DOMAIN.test(s);
}

/**
 * Normalises a `location`/`prefix` value: strips trailing `/` and rejects
 * URL schemes. An empty result is allowed here; callers decide whether it
 * may be empty.
 */
export function parseLocation(source: string, field: string, input: string): string {
  let end = input.length;
  while (end > 0 && input.charCodeAt(end - 1) === 0x2f /* / */) end--;
  const trimmed = input.slice(0, end);
  if (trimmed.startsWith("http://") || trimmed.startsWith("https://")) {
    const scheme = trimmed.slice(0, trimmed.indexOf("://") + 3);
    throw new RegistriesConfError(
      source,
      field,
      `${JSON.stringify(input)} has a URI scheme, which is not supported; write it without "${scheme}"`,
    );
  }
  return trimmed;
}

const PROXY_SCHEMES = new Set(["http:", "https:", "socks5:", "socks5h:"]);

/** Validates a `proxy` value; returns it unchanged, or `undefined` for an empty one. */
export function parseProxy(source: string, field: string, input: string): string | undefined {
  if (input === "") return undefined;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    // The value may carry credentials (user:password@host): do not echo it.
    throw new RegistriesConfError(source, field, "is not a valid proxy URL");
  }
  if (!PROXY_SCHEMES.has(url.protocol)) {
    throw new RegistriesConfError(
      source,
      field,
      `proxy URL scheme "${url.protocol.replace(/:$/, "")}" is not supported; use http, https, socks5 or socks5h`,
    );
  }
  return input;
}
