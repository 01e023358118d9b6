/**
 * The HTTP layer under the registry client: one small interface with two
 * implementations, undici (keep-alive pools, certs.d TLS, streamed uploads)
 * and a WHATWG `fetch` (browsers, or any `fetch` given in
 * `SystemContext.fetch`). Redirects, retries, authentication and timeouts
 * live above it, in the client, so both behave the same.
 *
 * @module
 */
import type { BlobStream } from "@stevedore/types";

/** Response headers, looked up case-insensitively. */
export interface HttpHeaders {
  /** The value of `name` (several values joined with ", "), or undefined. */
  get(name: string): string | undefined;
  /** Every value of `name`, one per header line (for `WWW-Authenticate`, `Link`). */
  getAll(name: string): string[];
}

/** One HTTP exchange, as the client asks for it. Redirects are never followed below the client. */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** A buffered body (repeatable) or a streamed one (sent once). */
  readonly body?: Uint8Array | BlobStream;
  readonly signal?: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface HttpResponse {
  readonly status: number;
  readonly url: URL;
  readonly headers: HttpHeaders;
  /** The body; read it at most once. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the connection without reading (the rest of) the body. Safe to call twice. */
  discard(): Promise<void>;
}

/** What performs HTTP exchanges. */
export interface HttpTransport {
  /** `undici` or `fetch`, for messages. */
  readonly kind: string;
  /** Sends one request; rejects on a network failure, resolves for every HTTP status. */
  request(request: HttpRequest): Promise<HttpResponse>;
}

/** TLS settings for one origin. */
export interface TlsSettings {
  /** Extra trusted CA certificates (PEM), added to the default ones. */
  readonly ca: readonly string[];
  /** A client certificate (PEM) and its key. */
  readonly cert?: string;
  readonly key?: string;
  /** Skip certificate verification. */
  readonly insecure: boolean;
  /** A stable key of these settings, for sharing connection pools. */
  readonly cacheKey: string;
}

/** A header bag over a plain record of lower-cased names. */
export function headersFromRecord(record: Readonly<Record<string, string | string[] | undefined>>): HttpHeaders {
  const lower = new Map<string, string[]>();
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue;
    const key = k.toLowerCase();
    const list = lower.get(key) ?? [];
    if (Array.isArray(v)) list.push(...v);
    else list.push(v);
    lower.set(key, list);
  }
  return {
    get: (name) => {
      const v = lower.get(name.toLowerCase());
      return v === undefined || v.length === 0 ? undefined : v.join(", ");
    },
    getAll: (name) => [...(lower.get(name.toLowerCase()) ?? [])],
  };
}
