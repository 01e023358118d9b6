/**
 * The registry client: one per (registry endpoint, repository, actions),
 * as containers/image's `dockerClient`. It pings `/v2/` (https first, http
 * only when the registry is insecure), authenticates (Basic, Bearer tokens
 * with per-scope caching, identity-token refresh, a fixed registry token),
 * follows redirects by its own rules, retries transient failures of
 * repeatable requests, and enforces an idle timeout. The layers are
 * composed like interceptors: retry → auth → redirects → idle timeout →
 * HTTP transport.
 *
 * @module
 */
import type { AuthConfig, BlobStream, SystemContext } from "@stevedore/types";
import {
  AbortError,
  fromUtf8,
  NetworkError,
  ProtocolError,
  SizeLimits,
  StevedoreError,
  throwIfAborted,
  utf8,
} from "@stevedore/types";
import { createFetchTransport } from "../http/fetch.js";
import type { HttpResponse, HttpTransport, TlsSettings } from "../http/types.js";
import { createUndiciTransport } from "../http/undici.js";
import type { ResolvedTransportOptions } from "../options.js";
import { certsDirFor, readCertsDir } from "./certs.js";
import { errorFromResponse, type ErrorContext } from "./errors.js";
import { formatScope, parseChallenges, parseRetryAfter, parseScope, type AuthScope, type Challenge } from "./headers.js";
import { readLimitedBody } from "./limited-body.js";
import { redactURL } from "./redact.js";
import { base64, describe, sleep } from "./util.js";

/** The host name Docker Hub's references use. */
export const DOCKER_HUB_DOMAIN = "docker.io";
/** The host Docker Hub's registry API is served from. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
/** Docker Hub's token server, the one other origin that gets Docker Hub credentials. */
const DOCKER_HUB_AUTH_ORIGIN = "https://auth.docker.io";

/** The most redirects followed for one request. */
export const MAX_REDIRECTS = 10;
/** The longest wait between retries, whatever `Retry-After` says. */
export const MAX_RETRY_DELAY_MS = 60_000;
/** Retries of a request answered 429 (attempts = this + 1), unless `retryTimes` is larger. */
const TOO_MANY_REQUESTS_RETRIES = 4;
/** Retries of transient failures (502/503/504, broken connections) when `retryTimes` is unset. */
export const DEFAULT_RETRY_TIMES = 3;
/** Minimum lifetime of a bearer token, in seconds. */
const MIN_TOKEN_LIFETIME_S = 60;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The host to connect to for a reference domain (`docker.io` → `registry-1.docker.io`). */
export function registryHostFor(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
}

/** How a network failure may be retried. */
type FailureKind = "connect" | "io" | "fatal";

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|EPROTO/;

const KIND = Symbol("stevedore.transport-docker.failure-kind");

function codesOf(e: unknown): string[] {
  const out: string[] = [];
  for (let c: unknown = e, i = 0; c && typeof c === "object" && i < 6; c = (c as { cause?: unknown }).cause, i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string") out.push(code);
    const errors = (c as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const x of errors) out.push(...codesOf(x));
  }
  return out;
}

function kindOf(e: unknown): FailureKind {
  const k = (e as { [KIND]?: FailureKind } | undefined)?.[KIND];
  return k ?? "fatal";
}

function networkError(message: string, kind: FailureKind, cause?: unknown): NetworkError {
  const e = new NetworkError(message, cause === undefined ? undefined : { cause });
  Object.defineProperty(e, KIND, { value: kind, enumerable: false });
  return e;
}

/** Whether a body can be sent again (absent or buffered). */
function repeatable(body: Uint8Array | BlobStream | undefined): boolean {
  return body === undefined || body instanceof Uint8Array;
}

/** Where a bearer token is kept: the token and when it stops being usable. */
interface TokenEntry {
  promise: Promise<{ token: string; expiresAt: number }>;
  expiresAt?: number;
}

/** Options of {@link RegistryClient.request}. */
export interface RequestOptions {
  readonly method: string;
  /** The URL: absolute, or a path (`/v2/...`) on the registry. */
  readonly url: URL | string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | BlobStream;
  /** Send the registry's credentials (default true). False for foreign URLs and the ping. */
  readonly auth?: boolean;
  /** An extra token scope for this request (e.g. pull on another repository for a mount). */
  readonly extraScope?: AuthScope;
  /** Follow redirects (default true). */
  readonly followRedirects?: boolean;
  /**
   * Whether the request may be repeated after a transient failure.
   * Default: yes unless the body is streamed; a body-less POST (starting
   * an upload session) is repeatable too.
   */
  readonly retryable?: boolean;
  readonly signal?: AbortSignal | undefined;
  /** Credentials to send to exactly one origin (token requests), instead of the registry's. */
  readonly authorizationFor?: { readonly origin: string; readonly value: string };
}

/** How a client is set up; see {@link openClient}. */
export interface ClientConfig {
  readonly ctx: SystemContext;
  readonly options: ResolvedTransportOptions;
  /** The registry as references name it (`docker.io`, `127.0.0.1:5000`). */
  readonly domain: string;
  /** The repository path the client works on (token scope), if any. */
  readonly repository?: string;
  /** Token actions for the repository: `pull`, `pull,push` or `*`. */
  readonly actions: string;
  /** Skip TLS verification and allow plain HTTP. */
  readonly insecure: boolean;
  /** Credentials for the registry, if any. */
  readonly credentials?: AuthConfig;
  /** A fixed bearer token (`dockerBearerRegistryToken`). */
  readonly bearerToken?: string;
  /** The HTTP layer; default undici, or `ctx.fetch` when given. */
  readonly http?: HttpTransport;
}

/** The registry client. */
export class RegistryClient {
  /** The registry as references name it. */
  readonly domain: string;
  /** The host[:port] connected to. */
  readonly host: string;
  readonly repository: string | undefined;
  readonly actions: string;
  readonly insecure: boolean;
  readonly ctx: SystemContext;
  readonly options: ResolvedTransportOptions;
  readonly http: HttpTransport;

  private readonly credentials: AuthConfig | undefined;
  private readonly bearerToken: string | undefined;
  private readonly userAgent: string;
  private readonly retryTimes: number;
  private readonly retryConnect: boolean;
  private readonly tlsCache = new Map<string, Promise<TlsSettings>>();
  private readonly tokens = new Map<string, TokenEntry>();
  private pinging: Promise<void> | undefined;
  private scheme: "https" | "http" | undefined;
  private challenges: Challenge[] = [];
  /** Set when credentials were kept from a token server on another origin; appended to auth failures. */
  private withheldNote: string | undefined;

  constructor(config: ClientConfig) {
    this.ctx = config.ctx;
    this.options = config.options;
    this.domain = config.domain;
    this.host = registryHostFor(config.domain);
    this.repository = config.repository;
    this.actions = config.actions;
    this.insecure = config.insecure;
    this.credentials = config.credentials;
    this.bearerToken = config.bearerToken;
    this.userAgent = config.ctx.dockerRegistryUserAgent ?? "stevedore";
    const rt = config.ctx.retryTimes;
    if (rt !== undefined && (!Number.isInteger(rt) || rt < 0)) throw new TypeError(`retryTimes must be a non-negative integer, got ${String(rt)}`);
    const rd = config.ctx.retryDelayMs;
    if (rd !== undefined && (!Number.isFinite(rd) || rd < 0)) throw new TypeError(`retryDelayMs must be a non-negative number, got ${String(rd)}`);
    this.retryTimes = rt ?? DEFAULT_RETRY_TIMES;
    this.retryConnect = rt !== undefined;
    this.http = config.http ?? (config.ctx.fetch ? createFetchTransport(config.ctx.fetch) : createUndiciTransport((u) => this.tlsFor(u)));
  }

  /** The registry's origin (`https://host:port`), known after {@link ping}. */
  get origin(): string {
    return `${this.scheme ?? "https"}://${this.host}`;
  }

  /** The base scope of this client's tokens. */
  get scope(): AuthScope | undefined {
    return this.repository === undefined ? undefined : { resourceType: "repository", remoteName: this.repository, actions: this.actions };
  }

  /** A message context for a request about `operation`. */
  context(operation: string, kind?: ErrorContext["kind"]): ErrorContext {
    return {
      operation,
      registry: this.domain,
      ...(this.repository !== undefined ? { repository: this.repository } : {}),
      ...(kind ? { kind } : {}),
      ...(this.withheldNote ? { note: this.withheldNote } : {}),
    };
  }

  /** The typed error for a failed response (reads its body). */
  async fail(res: HttpResponse, operation: string, kind?: ErrorContext["kind"], signal?: AbortSignal): Promise<StevedoreError> {
    return errorFromResponse(res, this.context(operation, kind), signal);
  }

  private tlsFor(url: URL): Promise<TlsSettings> {
    const host = url.host;
    let p = this.tlsCache.get(host);
    if (p === undefined) {
      p = (async () => {
        const insecure = this.ctx.dockerInsecureSkipTLSVerify === true || (this.insecure && host === this.host);
        if (url.protocol !== "https:") return { ca: [], insecure, cacheKey: insecure ? "insecure" : "" };
        const certs = await readCertsDir(await certsDirFor(this.ctx, host));
        const cacheKey = JSON.stringify([insecure, certs.dir ?? "", certs.cas, certs.clientCert?.cert ?? ""]);
        return {
          ca: certs.cas,
          insecure,
          cacheKey,
          ...(certs.clientCert ? { cert: certs.clientCert.cert, key: certs.clientCert.key } : {}),
        };
      })();
      p.catch(() => this.tlsCache.delete(host));
      this.tlsCache.set(host, p);
    }
    return p;
  }

  /**
   * Pings `/v2/` once: https first; http only when the registry is insecure.
   * Records the authentication challenges. A failure is not remembered.
   */
  ping(signal?: AbortSignal): Promise<void> {
    if (this.pinging === undefined) {
      const p = this.doPing(signal);
      this.pinging = p;
      p.catch(() => {
        if (this.pinging === p) this.pinging = undefined;
      });
    }
    return this.pinging;
  }

  private async doPing(signal?: AbortSignal): Promise<void> {
    const attempt = async (scheme: "https" | "http") => {
      const url = new URL(`${scheme}://${this.host}/v2/`);
      const res = await this.request({ method: "GET", url, auth: false, signal });
      if (res.status !== 200 && res.status !== 401) throw await this.fail(res, "pinging the registry", "other", signal);
      this.challenges = parseChallenges(res.headers.getAll("www-authenticate"));
      await res.discard();
      this.scheme = scheme;
    };
    try {
      await attempt("https");
    } catch (e) {
      if (signal?.aborted || e instanceof AbortError) throw e;
      if (!this.insecure) {
        if (e instanceof NetworkError) {
          throw networkError(
            `${e.message}; if ${this.host} serves plain HTTP or uses a certificate this machine does not trust, put its CA in certs.d, or mark it insecure (registries.conf "insecure = true", or --tls-verify=false)`,
            kindOf(e),
            e,
          );
        }
        throw e;
      }
      try {
        await attempt("http");
      } catch (e2) {
        if (signal?.aborted || e2 instanceof AbortError) throw e2;
        const cls = e2 instanceof StevedoreError ? (e2.constructor as new (m: string, o?: { cause?: unknown }) => StevedoreError) : NetworkError;
        const err = new cls(`pinging registry ${this.host} failed over https (${describe(e)}) and over http (${describe(e2)})`, { cause: e2 });
        if (e2 instanceof NetworkError) Object.defineProperty(err, KIND, { value: kindOf(e2), enumerable: false });
        throw err;
      }
    }
  }

  /** The URL of `path` on the registry (after a ping). */
  async url(path: string, signal?: AbortSignal): Promise<URL> {
    await this.ping(signal);
    return new URL(`${this.origin}${path}`);
  }

  /**
   * Sends a request with retries, authentication and redirects. Resolves
   * with any HTTP status (after retries ran out); the caller reads or
   * discards the body.
   */
  async request(opts: RequestOptions): Promise<HttpResponse> {
    const signal = opts.signal;
    const url = typeof opts.url === "string" ? await this.url(opts.url, signal) : opts.url;
    const canRetry = opts.retryable ?? repeatable(opts.body);
    let transient = 0;
    let tooMany = 0;
    for (;;) {
      throwIfAborted(signal);
      let res: HttpResponse;
      try {
        res = await this.requestOnce(opts, url);
      } catch (e) {
        const kind = kindOf(e);
        if (canRetry && !signal?.aborted && (kind === "io" || (kind === "connect" && this.retryConnect)) && transient < this.retryTimes) {
          await sleep(this.delay(undefined, transient++, 1000), signal);
          continue;
        }
        throw e;
      }
      if (canRetry) {
        const s = res.status;
        if (s === 429 && tooMany < Math.max(TOO_MANY_REQUESTS_RETRIES, this.retryTimes)) {
          const after = parseRetryAfter(res.headers.get("retry-after"));
          await res.discard();
          await sleep(this.delay(after, tooMany++, 2000), signal);
          continue;
        }
        if ((s === 502 || s === 503 || s === 504) && transient < this.retryTimes) {
          const after = parseRetryAfter(res.headers.get("retry-after"));
          await res.discard();
          await sleep(this.delay(after, transient++, 1000), signal);
          continue;
        }
      }
      return res;
    }
  }

  /** The wait before retry number `n` (0-based): `Retry-After`, else `retryDelayMs`, else exponential with jitter; capped. */
  private delay(retryAfter: number | undefined, n: number, baseMs: number): number {
    if (retryAfter !== undefined) return Math.min(retryAfter, MAX_RETRY_DELAY_MS);
    if (this.ctx.retryDelayMs !== undefined) return Math.min(this.ctx.retryDelayMs, MAX_RETRY_DELAY_MS);
    const exp = Math.min(baseMs * 2 ** n, MAX_RETRY_DELAY_MS);
    return Math.min(exp + Math.random() * exp * 0.1, MAX_RETRY_DELAY_MS);
  }

  /** One attempt: authentication (with one retry for `insufficient_scope` or a late challenge) and redirects. */
  private async requestOnce(opts: RequestOptions, url: URL): Promise<HttpResponse> {
    let extra = opts.extraScope;
    const useAuth = opts.auth !== false && opts.authorizationFor === undefined;
    for (let round = 0; ; round++) {
      let authorization: { origin: string; value: string } | undefined = opts.authorizationFor;
      let sentAuth = false;
      if (useAuth) {
        const value = await this.authorization(extra, opts.signal);
        if (value !== undefined) {
          authorization = { origin: this.origin, value };
          sentAuth = true;
        }
      }
      const res = await this.followRedirects(opts, url, authorization);
      if (res.status === 401 && useAuth && round === 0 && repeatable(opts.body)) {
        const challenges = parseChallenges(res.headers.getAll("www-authenticate"));
        const bearer = challenges.find((c) => c.scheme === "bearer");
        if (bearer?.params.error === "insufficient_scope" && bearer.params.scope) {
          const wanted = this.missingScope(bearer.params.scope, extra);
          if (wanted) {
            await res.discard();
            extra = wanted;
            continue;
          }
        }
        if (!sentAuth && this.challenges.length === 0 && challenges.some((c) => c.scheme === "bearer" || c.scheme === "basic")) {
          // /v2/ was open but this resource is not: use the challenge it sent.
          this.challenges = challenges;
          await res.discard();
          continue;
        }
      }
      return res;
    }
  }

  /** The first scope of an `insufficient_scope` challenge that the token did not already ask for. */
  private missingScope(scopes: string, extra: AuthScope | undefined): AuthScope | undefined {
    const have = new Set([this.scope, extra].filter((s) => s !== undefined).map((s) => formatScope(s)));
    for (const text of scopes.split(" ")) {
      const s = parseScope(text);
      if (s && !have.has(formatScope(s))) return s;
    }
    return undefined;
  }

  /** Sends the request and follows redirects: credentials only to their own origin, never https → http, at most 10 hops. */
  private async followRedirects(opts: RequestOptions, start: URL, authorization: { origin: string; value: string } | undefined): Promise<HttpResponse> {
    let method = opts.method;
    let body = opts.body;
    let url = start;
    let headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    for (let hop = 0; ; hop++) {
      const h: Record<string, string> = { "user-agent": this.userAgent, ...headers };
      if (authorization !== undefined && url.origin === authorization.origin) h.authorization = authorization.value;
      const res = await this.send(method, url, h, body, opts.signal);
      if (opts.followRedirects === false || !REDIRECT_STATUSES.has(res.status)) return res;
      const location = res.headers.get("location");
      if (location === undefined) return res;
      await res.discard();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ProtocolError(`${method} ${redactURL(url)} redirected to an invalid URL`);
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new ProtocolError(`${method} ${redactURL(url)} redirected to ${next.protocol} URL, which is not followed`);
      }
      if (url.protocol === "https:" && next.protocol === "http:") {
        throw new ProtocolError(`refusing to follow the redirect from ${redactURL(url)} to ${redactURL(next)}: it downgrades https to plain http`);
      }
      if (hop + 1 > MAX_REDIRECTS) {
        throw new ProtocolError(`${method} ${redactURL(start)}: stopped after ${MAX_REDIRECTS} redirects`);
      }
      next.username = "";
      next.password = "";
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        if (method !== "HEAD") method = "GET";
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith("content-")));
      } else if (!repeatable(body)) {
        throw new ProtocolError(`${method} ${redactURL(url)} was redirected (HTTP ${res.status}), but its streamed body cannot be sent again`);
      }
      url = next;
    }
  }

  /** One HTTP exchange with the idle timeout; network failures become `NetworkError`/`AbortError`. */
  private async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | BlobStream | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    throwIfAborted(signal);
    const idle = this.ctx.dockerRegistryIdleTimeoutMs ?? this.options.idleTimeoutMs;
    const controller = new AbortController();
    let timedOut: "response" | "body" | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const disarm = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    const arm = (phase: "response" | "body") => {
      disarm();
      if (idle > 0) {
        timer = setTimeout(() => {
          timedOut = phase;
          controller.abort(new Error(`idle timeout (${phase})`));
        }, idle);
      }
    };
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      disarm();
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (e: unknown): Error => {
      cleanup();
      if (signal?.aborted) {
        try {
          throwIfAborted(signal);
        } catch (a) {
          return a as Error;
        }
      }
      if (timedOut !== undefined) {
        return networkError(
          timedOut === "response"
            ? `${method} ${redactURL(url)}: no response within ${idle} ms`
            : `${method} ${redactURL(url)}: the response body stalled for ${idle} ms`,
          "io",
          e,
        );
      }
      if (e instanceof StevedoreError) return e;
      const codes = codesOf(e);
      if (codes.some((c) => TLS_CODE.test(c)) || /certificate|self.signed|SSL|TLS/i.test(describe(e))) {
        return networkError(`${method} ${redactURL(url)}: TLS failure: ${describe(e)}`, "fatal", e);
      }
      const kind: FailureKind = codes.some((c) => CONNECT_CODES.has(c)) ? "connect" : "io";
      return networkError(`${method} ${redactURL(url)}: ${describe(e)}`, kind, e);
    };

    let sendBody = body;
    if (body !== undefined && !(body instanceof Uint8Array)) {
      const source = body;
      // The response wait starts when the whole body was handed over.
      sendBody = (async function* () {
        for await (const chunk of source) yield chunk;
        arm("response");
      })();
    } else {
      arm("response");
    }
    let res: HttpResponse;
    try {
      res = await this.http.request({ method, url, headers, ...(sendBody !== undefined ? { body: sendBody } : {}), signal: controller.signal });
    } catch (e) {
      throw fail(e);
    }
    disarm();
    const inner = res.body;
    const body2: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        const it = inner[Symbol.asyncIterator]();
        return {
          async next() {
            arm("body");
            let r: IteratorResult<Uint8Array>;
            try {
              r = await it.next();
            } catch (e) {
              throw fail(e);
            }
            disarm();
            if (r.done) cleanup();
            return r;
          },
          async return(value?: unknown) {
            cleanup();
            try {
              await it.return?.();
            } catch {
              // the connection is gone either way
            }
            return { done: true as const, value: value as Uint8Array };
          },
        };
      },
    };
    return {
      status: res.status,
      url: res.url,
      headers: res.headers,
      body: body2,
      async discard() {
        cleanup();
        await res.discard();
      },
    };
  }

  // ---- authentication

  /** The Authorization value for a request to the registry, or undefined. */
  private async authorization(extra: AuthScope | undefined, signal: AbortSignal | undefined): Promise<string | undefined> {
    await this.ping(signal);
    for (const ch of this.challenges) {
      if (ch.scheme === "basic") {
        const c = this.credentials;
        if (c?.username !== undefined && c.username !== "" && c.password !== undefined) return `Basic ${base64(`${c.username}:${c.password}`)}`;
        return undefined;
      }
      if (ch.scheme === "bearer") {
        if (this.bearerToken !== undefined && this.bearerToken !== "") return `Bearer ${this.bearerToken}`;
        const token = await this.token(ch, extra, signal);
        return `Bearer ${token}`;
      }
    }
    return undefined;
  }

  private async token(ch: Challenge, extra: AuthScope | undefined, signal: AbortSignal | undefined): Promise<string> {
    const key = extra ? formatScope(extra) : "";
    const now = Date.now();
    const cached = this.tokens.get(key);
    if (cached && (cached.expiresAt === undefined || cached.expiresAt > now)) {
      return (await cached.promise).token;
    }
    const scopes = [this.scope, extra].filter((s): s is AuthScope => s !== undefined);
    const entry: TokenEntry = { promise: this.fetchToken(ch, scopes, signal) };
    this.tokens.set(key, entry);
    entry.promise.then(
      (t) => (entry.expiresAt = t.expiresAt),
      () => {
        if (this.tokens.get(key) === entry) this.tokens.delete(key);
      },
    );
    return (await entry.promise).token;
  }

  /** Whether `realm` may receive the registry's credentials. */
  private realmTrusted(realm: URL): boolean {
    if (realm.origin === this.origin) return true;
    if (this.host === DOCKER_HUB_REGISTRY && realm.origin === DOCKER_HUB_AUTH_ORIGIN) return true;
    if (this.options.trustedTokenRealms.has(realm.origin)) return true;
    return (this.ctx.dockerTrustedTokenRealms ?? []).some((r) => {
      try {
        return new URL(r).origin === realm.origin;
      } catch {
        return false;
      }
    });
  }

  private async fetchToken(ch: Challenge, scopes: readonly AuthScope[], signal: AbortSignal | undefined): Promise<{ token: string; expiresAt: number }> {
    const realmText = ch.params.realm;
    if (realmText === undefined || realmText === "") {
      throw new ProtocolError(`registry ${this.domain} asks for a bearer token but its challenge names no realm`);
    }
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new ProtocolError(`registry ${this.domain} named an invalid token realm ${JSON.stringify(realmText.slice(0, 200))}`);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new ProtocolError(`registry ${this.domain} named a token realm with an unsupported scheme: ${redactURL(realm)}`);
    }
    const creds = this.credentials;
    const hasCreds = creds !== undefined && ((creds.username ?? "") !== "" || (creds.identityToken ?? "") !== "");
    const trusted = this.realmTrusted(realm);
    if (hasCreds && !trusted) {
      this.withheldNote =
        `the credentials for ${this.domain} were not sent to the token server ${realm.origin} because it is not the registry's origin (${this.origin}); ` +
        `if that token server is legitimate, trust it with --trusted-token-realm ${realm.origin} (SystemContext.dockerTrustedTokenRealms)`;
    }
    const service = ch.params.service;
    const scopeTexts = scopes.map(formatScope);
    const ctx: ErrorContext = {
      operation: `requesting a token from ${realm.origin}${realm.pathname}`,
      registry: this.domain,
      ...(this.repository !== undefined ? { repository: this.repository } : {}),
      ...(this.withheldNote && !trusted ? { note: this.withheldNote } : {}),
    };
    let res: HttpResponse;
    if (hasCreds && trusted && creds?.identityToken) {
      const form = new URLSearchParams();
      form.set("grant_type", "refresh_token");
      form.set("refresh_token", creds.identityToken);
      form.set("client_id", this.options.oauthClientId);
      if (scopeTexts.length > 0) form.set("scope", scopeTexts.join(" "));
      if (service !== undefined && service !== "") form.set("service", service);
      res = await this.request({
        method: "POST",
        url: realm,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: utf8(form.toString()),
        auth: false,
        retryable: true,
        signal,
      });
    } else {
      const u = new URL(realm);
      if (service !== undefined && service !== "") u.searchParams.append("service", service);
      for (const s of scopeTexts) u.searchParams.append("scope", s);
      let authorizationFor: { origin: string; value: string } | undefined;
      if (hasCreds && trusted && creds?.username) {
        u.searchParams.append("account", creds.username);
        authorizationFor = { origin: realm.origin, value: `Basic ${base64(`${creds.username}:${creds.password ?? ""}`)}` };
      }
      res = await this.request({ method: "GET", url: u, auth: false, signal, ...(authorizationFor ? { authorizationFor } : {}) });
    }
    if (res.status !== 200) throw await errorFromResponse(res, ctx, signal);
    const bytes = await readLimitedBody(res, {
      limit: SizeLimits.token,
      what: `the token response of ${redactURL(realm)}`,
      tooLarge: `${ctx.operation}: the token response`,
      signal,
    });
    let doc: unknown;
    try {
      doc = JSON.parse(fromUtf8(bytes));
    } catch (e) {
      throw new ProtocolError(`${ctx.operation}: the response is not JSON`, { cause: e });
    }
    const o = (doc && typeof doc === "object" ? doc : {}) as Record<string, unknown>;
    const token = typeof o.token === "string" && o.token !== "" ? o.token : typeof o.access_token === "string" ? o.access_token : "";
    if (token === "") throw new ProtocolError(`${ctx.operation}: the response has neither "token" nor "access_token"`);
    if (/[\r\n]/.test(token)) throw new ProtocolError(`${ctx.operation}: the token contains line breaks`);
    let lifetime = typeof o.expires_in === "number" && Number.isFinite(o.expires_in) ? o.expires_in : MIN_TOKEN_LIFETIME_S;
    if (lifetime < MIN_TOKEN_LIFETIME_S) lifetime = MIN_TOKEN_LIFETIME_S;
    let issued = Date.now();
    if (typeof o.issued_at === "string") {
      const t = Date.parse(o.issued_at);
      if (!Number.isNaN(t) && t <= issued) issued = t;
    }
    return { token, expiresAt: issued + lifetime * 1000 };
  }

  /** Whether credentials were withheld from a token server on another origin (for messages). */
  get credentialsWithheld(): string | undefined {
    return this.withheldNote;
  }
}
