import { randomBytes } from "node:crypto";
import {
  Agent as HttpAgent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";

/** What the proxy does to a request that matches a rule. */
export type Fault =
  /** Forward, send the response head and the first `afterBytes` body bytes, then cut the connection. */
  | { readonly kind: "cut"; readonly afterBytes: number }
  /** Forward without the request's `Range` header (the registry then answers 200 with the whole body). */
  | { readonly kind: "ignore-range" }
  /** Answer without forwarding: `status`, `headers` and `body` (e.g. 429 with `Retry-After`, 503). */
  | { readonly kind: "respond"; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  /** Forward and flip (XOR 0xff) the body byte at `offset` (default 0). */
  | { readonly kind: "flip-byte"; readonly offset?: number }
  /**
   * Answer `status` (default 307) redirecting to the side origin, which serves
   * the upstream response for the same path; the side origin adds the
   * original request's `Authorization` itself (like a pre-signed URL), so
   * it serves the body whether or not the client sends credentials there.
   */
  | { readonly kind: "redirect"; readonly status?: 301 | 302 | 303 | 307 | 308 }
  /** Wait `ms` before forwarding (before the response head), or after `afterBytes` body bytes. */
  | { readonly kind: "stall"; readonly ms: number; readonly afterBytes?: number }
  /**
   * Answer `status` (default 200) with a JSON body of `bytes` bytes and
   * `contentType` (default `application/vnd.oci.image.manifest.v1+json`
   * for 2xx, `application/json` otherwise): a manifest-shaped or
   * error-shaped document padded to the size.
   */
  | { readonly kind: "oversize"; readonly bytes: number; readonly status?: number; readonly contentType?: string }
  /** Forward, and point the Bearer `realm` of `WWW-Authenticate` at the side origin (which forwards to the real realm). */
  | { readonly kind: "rewrite-realm" }
  /**
   * Forward, and point the response's `Location` (e.g. an upload session)
   * at the side origin, which forwards requests there to the real location
   * with the original request's `Authorization` (so it works whether or not
   * the client sends credentials to the other origin).
   */
  | { readonly kind: "foreign-location" };

/** When a fault applies. */
export interface FaultRule {
  /** The method (exact, case-insensitive) or a pattern; any method when unset. */
  readonly method?: string | RegExp;
  /** A pattern tested against the request's path and query. */
  readonly path: RegExp;
  /** Only requests with (true) or without (false) a `Range` header; either when unset. */
  readonly hasRange?: boolean;
  /** How many matching requests get the fault. Default 1; `Infinity` for all. */
  readonly times?: number;
  /** What to do. */
  readonly fault: Fault;
}

/** A rule added with {@link FaultProxy.inject}. */
export interface InjectedFault {
  /** How many requests it has been applied to. */
  readonly hits: number;
  /** How many more requests it will be applied to. */
  readonly remaining: number;
  /** Stops applying it. */
  remove(): void;
}

/** A request the proxy or its side origin received. */
export interface RecordedRequest {
  /** `proxy` or `side`. */
  readonly origin: "proxy" | "side";
  readonly method: string;
  /** Path and query as received. */
  readonly path: string;
  /** The request headers, names in lower case (repeated ones joined with ", "). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether an `Authorization` header was present. */
  readonly authorization: boolean;
  /** The fault applied, if any. */
  readonly fault?: Fault["kind"];
  /** Which client connection carried it (1, 2, ... in accept order per server): shows keep-alive reuse. */
  readonly connection: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The upstream registry's base URL (e.g. `RegistryHandle.url`). */
  readonly target: string;
  /** A CA (PEM) to trust for an https upstream, and for https token realms the side origin forwards to. */
  readonly targetCa?: string;
  /**
   * Serve HTTPS with this certificate and key (PEM). Default plain HTTP.
   * With `clientCa`, clients must present a certificate signed by it (mutual TLS).
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
}

/** A second loopback origin run by the proxy: redirect target and foreign token realm. It records what it receives. */
export interface SideOrigin {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** The requests it received, oldest first. */
  readonly requests: readonly RecordedRequest[];
}

/** A running fault-injecting proxy. Stop it with `stop()` or `await using`. */
export interface FaultProxy extends AsyncDisposable {
  /** `http(s)://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry host as image references name it. */
  readonly host: string;
  readonly port: number;
  /** The side origin. */
  readonly side: SideOrigin;
  /** Requests the proxy received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Adds a rule; rules are checked in the order they were added, the first active match applies. */
  inject(rule: FaultRule): InjectedFault;
  /** Removes every rule. */
  clearFaults(): void;
  /** Forgets the recorded requests (of the proxy and the side origin) and resets {@link FaultProxy.traffic}. */
  clearRequests(): void;
  /** Body bytes forwarded through the proxy (to the registry, and back from it) since the last {@link FaultProxy.clearRequests}. */
  traffic(): { requestBodyBytes: number; responseBodyBytes: number };
  /** Closes both servers and every connection; idempotent. */
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k.toLowerCase())) continue;
    out[k] = v;
  }
  return out;
}

function paddedDocument(bytes: number, error: boolean): (offset: number, length: number) => Buffer {
  const head = error ? '{"errors":[{"code":"UNKNOWN","message":"' : '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","padding":"';
  const tail = error ? '"}]}' : '"}';
  const fill = Math.max(0, bytes - head.length - tail.length);
  return (offset, length) => {
    const out = Buffer.alloc(length, 0x61);
    for (let i = 0; i < length; i++) {
      const p = offset + i;
      if (p < head.length) out[i] = head.charCodeAt(p);
      else if (p >= head.length + fill) out[i] = tail.charCodeAt(p - head.length - fill);
    }
    return out;
  };
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
  hits: number;
  removed: boolean;
}

/**
 * Starts a reverse proxy on 127.0.0.1 (a free port) in front of a real
 * registry, which injects faults into requests a test scripts with
 * {@link FaultProxy.inject} (by method, path pattern and count) and records
 * every request (method, path, headers, whether `Authorization` was sent).
 * The `Host` header is forwarded unchanged (with `X-Forwarded-Proto` when
 * serving HTTPS) so the registry's absolute `Location`s point at the proxy.
 * It also runs a side origin on another port: the target of `redirect`
 * faults and of rewritten token realms, recording the headers it receives.
 *
 * @example
 * await using registry = await startRegistry();
 * await using proxy = await startFaultProxy({ target: registry.url });
 * proxy.inject({ method: "GET", path: /\/blobs\/sha256:/, fault: { kind: "cut", afterBytes: 1000 } });
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new TypeError(`startFaultProxy: target must be http(s), got ${options.target}`);
  const ca = options.targetCa;
  const upstreamAgent = target.protocol === "https:" ? new HttpsAgent({ keepAlive: true, ...(ca ? { ca } : {}) }) : new HttpAgent({ keepAlive: true });
  const rules: ActiveRule[] = [];
  const proxyRequests: RecordedRequest[] = [];
  const traffic = { requestBodyBytes: 0, responseBodyBytes: 0 };
  const sideRequests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const redirects = new Map<string, { path: string; authorization?: string }>();
  const realms = new Map<string, string>();
  const locations = new Map<string, { url: string; authorization?: string }>();
  let stopped = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function upstream(url: URL, method: string, headers: OutgoingHttpHeaders): ReturnType<typeof httpRequest> {
    if (url.protocol === "https:") {
      return httpsRequest(url, { method, headers, ...(url.origin === target.origin ? { agent: upstreamAgent as HttpsAgent } : ca ? { ca } : {}) });
    }
    return httpRequest(url, { method, headers, ...(url.origin === target.origin ? { agent: upstreamAgent as HttpAgent } : {}) });
  }

  interface ForwardOptions {
    url: URL;
    headers: OutgoingHttpHeaders;
    cutAfter?: number;
    flipAt?: number;
    stallAfter?: { bytes: number; ms: number };
    rewriteRealm?: boolean;
    foreignLocation?: { authorization?: string };
  }

  function forward(req: IncomingMessage, res: ServerResponse, o: ForwardOptions): void {
    const up = upstream(o.url, req.method ?? "GET", o.headers);
    let closed = false;
    res.on("close", () => {
      closed = true;
      up.destroy();
    });
    up.on("error", () => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("fault proxy: upstream failed");
      } else {
        res.destroy();
      }
    });
    up.on("response", (ur) => {
      const headers = forwardable(ur.headers);
      if (o.rewriteRealm && headers["www-authenticate"] !== undefined) {
        const values = Array.isArray(headers["www-authenticate"]) ? headers["www-authenticate"] : [String(headers["www-authenticate"])];
        headers["www-authenticate"] = values.map((v) =>
          v.replace(/realm="([^"]*)"/i, (_m, realm: string) => {
            let token = [...realms.entries()].find(([, r]) => r === realm)?.[0];
            if (token === undefined) {
              token = randomBytes(8).toString("hex");
              realms.set(token, realm);
            }
            return `realm="${sideUrl}/realm/${token}"`;
          }),
        );
      }
      if (o.foreignLocation && typeof headers.location === "string") {
        const token = randomBytes(8).toString("hex");
        const real = new URL(headers.location, proxyOrigin);
        locations.set(token, { url: `${real.pathname}${real.search}`, ...o.foreignLocation });
        headers.location = `${sideUrl}/l/${token}`;
      }
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, headers);
      res.flushHeaders();
      void (async () => {
        let sent = 0;
        try {
          for await (const raw of ur as AsyncIterable<Buffer>) {
            if (closed) return;
            let chunk = raw;
            if (o.flipAt !== undefined && o.flipAt >= sent && o.flipAt < sent + chunk.length) {
              chunk = Buffer.from(chunk);
              chunk[o.flipAt - sent]! ^= 0xff;
            }
            if (o.stallAfter !== undefined && sent <= o.stallAfter.bytes && sent + chunk.length > o.stallAfter.bytes) {
              const head = chunk.subarray(0, o.stallAfter.bytes - sent);
              if (head.length > 0) res.write(head);
              await wait(o.stallAfter.ms);
              if (closed || stopped) return;
              chunk = chunk.subarray(head.length);
              sent += head.length;
            }
            if (o.cutAfter !== undefined && sent + chunk.length >= o.cutAfter) {
              const part = chunk.subarray(0, o.cutAfter - sent);
              res.write(part, () => res.socket?.destroy());
              ur.destroy();
              return;
            }
            sent += chunk.length;
            traffic.responseBodyBytes += chunk.length;
            if (!res.write(chunk)) await new Promise<void>((r) => res.once("drain", r).once("close", r));
          }
          res.end();
        } catch {
          res.destroy();
        }
      })();
    });
    req.on("data", (c: Buffer) => (traffic.requestBodyBytes += c.length));
    req.pipe(up);
  }

  function matches(rule: FaultRule, req: IncomingMessage, path: string): boolean {
    const method = req.method ?? "GET";
    if (rule.method !== undefined) {
      if (typeof rule.method === "string" ? rule.method.toUpperCase() !== method.toUpperCase() : !rule.method.test(method)) return false;
    }
    if (!rule.path.test(path)) return false;
    if (rule.hasRange !== undefined && (req.headers.range !== undefined) !== rule.hasRange) return false;
    return true;
  }

  function handleProxy(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    const active = rules.find((r) => !r.removed && r.remaining > 0 && matches(r.rule, req, path));
    const fault = active?.rule.fault;
    if (active) {
      active.remaining--;
      active.hits++;
    }
    proxyRequests.push(
      Object.freeze({
        origin: "proxy" as const,
        method: req.method ?? "GET",
        path,
        headers: Object.freeze(flatten(req.headers)),
        authorization: req.headers.authorization !== undefined,
        ...(fault ? { fault: fault.kind } : {}),
        connection: connectionIds.get(req.socket) ?? 0,
      }),
    );
    const url = new URL(path, target);
    const headers = forwardable(req.headers);
    if (options.tls) headers["x-forwarded-proto"] = "https";
    switch (fault?.kind) {
      case undefined:
        forward(req, res, { url, headers });
        return;
      case "respond": {
        req.resume();
        const body = fault.body ?? "";
        res.writeHead(fault.status, { "content-length": Buffer.byteLength(body), ...fault.headers });
        res.end(body);
        return;
      }
      case "oversize": {
        req.resume();
        const status = fault.status ?? 200;
        const gen = paddedDocument(fault.bytes, status >= 400);
        const type = fault.contentType ?? (status >= 400 ? "application/json" : "application/vnd.oci.image.manifest.v1+json");
        res.writeHead(status, { "content-type": type, "content-length": fault.bytes });
        if (req.method === "HEAD") {
          res.end();
          return;
        }
        void (async () => {
          for (let off = 0; off < fault.bytes && !res.destroyed; off += 64 * 1024) {
            const n = Math.min(64 * 1024, fault.bytes - off);
            if (!res.write(gen(off, n))) await new Promise<void>((r) => res.once("drain", r).once("close", r));
          }
          res.end();
        })();
        return;
      }
      case "redirect": {
        req.resume();
        const token = randomBytes(8).toString("hex");
        redirects.set(token, { path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        res.writeHead(fault.status ?? 307, { location: `${sideUrl}/r/${token}`, "content-length": 0 });
        res.end();
        return;
      }
      case "ignore-range":
        delete headers.range;
        forward(req, res, { url, headers });
        return;
      case "cut":
        forward(req, res, { url, headers, cutAfter: fault.afterBytes });
        return;
      case "flip-byte":
        forward(req, res, { url, headers, flipAt: fault.offset ?? 0 });
        return;
      case "rewrite-realm":
        forward(req, res, { url, headers, rewriteRealm: true });
        return;
      case "foreign-location":
        forward(req, res, { url, headers, foreignLocation: req.headers.authorization ? { authorization: req.headers.authorization } : {} });
        return;
      case "stall":
        if (fault.afterBytes !== undefined) {
          forward(req, res, { url, headers, stallAfter: { bytes: fault.afterBytes, ms: fault.ms } });
        } else {
          void wait(fault.ms).then(() => {
            if (!res.destroyed && !stopped) forward(req, res, { url, headers });
          });
        }
        return;
    }
  }

  function handleSide(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    sideRequests.push(
      Object.freeze({
        origin: "side" as const,
        method: req.method ?? "GET",
        path,
        headers: Object.freeze(flatten(req.headers)),
        authorization: req.headers.authorization !== undefined,
        connection: connectionIds.get(req.socket) ?? 0,
      }),
    );
    const parsed = new URL(path, "http://side.invalid");
    const m = /^\/(r|realm|l)\/([0-9a-f]+)$/.exec(parsed.pathname);
    if (m && m[1] === "l" && locations.has(m[2]!)) {
      const l = locations.get(m[2]!)!;
      const headers: OutgoingHttpHeaders = { ...forwardable(req.headers), host: proxyHost };
      delete headers.authorization;
      if (l.authorization) headers.authorization = l.authorization;
      const u = new URL(l.url, target);
      for (const [k, v] of parsed.searchParams) u.searchParams.set(k, v);
      forward(req, res, { url: u, headers });
      return;
    }
    if (m && m[1] === "r" && redirects.has(m[2]!)) {
      const r = redirects.get(m[2]!)!;
      const headers: OutgoingHttpHeaders = { ...forwardable(req.headers), host: target.host };
      delete headers.authorization;
      if (r.authorization) headers.authorization = r.authorization;
      forward(req, res, { url: new URL(r.path, target), headers });
      return;
    }
    if (m && m[1] === "realm" && realms.has(m[2]!)) {
      const realm = new URL(realms.get(m[2]!)!);
      for (const [k, v] of parsed.searchParams) realm.searchParams.append(k, v);
      const headers: OutgoingHttpHeaders = { ...forwardable(req.headers), host: realm.host };
      forward(req, res, { url: realm, headers });
      return;
    }
    req.resume();
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("fault proxy side origin: unknown path");
  }

  const connectionIds = new WeakMap<Socket, number>();
  const trackSockets = (server: Server) => {
    let next = 0;
    server.on(options.tls && server !== sideServer ? "secureConnection" : "connection", (s: Socket) => {
      connectionIds.set(s, ++next);
    });
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
  };
  const proxyServer: Server = options.tls
    ? createHttpsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        handleProxy,
      )
    : createHttpServer(handleProxy);
  const sideServer: Server = createHttpServer(handleSide);
  trackSockets(proxyServer);
  trackSockets(sideServer);
  const listen = (server: Server) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(proxyServer);
  let sidePort: number;
  try {
    sidePort = await listen(sideServer);
  } catch (e) {
    proxyServer.close();
    throw e;
  }
  const sideUrl = `http://127.0.0.1:${sidePort}`;
  const proxyHost = `127.0.0.1:${port}`;
  const proxyOrigin = `${options.tls ? "https" : "http"}://${proxyHost}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = Promise.all([
        new Promise<void>((r) => proxyServer.close(() => r())),
        new Promise<void>((r) => sideServer.close(() => r())),
      ]);
      for (const s of sockets) s.destroy();
      upstreamAgent.destroy();
      await closed;
    })();
    return stopping;
  };

  const host = `127.0.0.1:${port}`;
  return {
    url: `${options.tls ? "https" : "http"}://${host}`,
    host,
    port,
    side: {
      url: sideUrl,
      host: `127.0.0.1:${sidePort}`,
      get requests() {
        return sideRequests.slice();
      },
    },
    get requests() {
      return proxyRequests.slice();
    },
    inject(rule: FaultRule): InjectedFault {
      const times = rule.times ?? 1;
      if (!(times > 0)) throw new TypeError(`inject: times must be positive, got ${String(times)}`);
      const active: ActiveRule = { rule, remaining: times, hits: 0, removed: false };
      rules.push(active);
      return {
        get hits() {
          return active.hits;
        },
        get remaining() {
          return active.removed ? 0 : active.remaining;
        },
        remove() {
          active.removed = true;
        },
      };
    },
    clearFaults() {
      for (const r of rules) r.removed = true;
      rules.length = 0;
    },
    clearRequests() {
      proxyRequests.length = 0;
      sideRequests.length = 0;
      traffic.requestBodyBytes = 0;
      traffic.responseBodyBytes = 0;
    },
    traffic: () => ({ ...traffic }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
