/**
 * The undici implementation of {@link HttpTransport}: one keep-alive `Pool`
 * per origin and TLS settings, shared by every client of the process.
 * undici itself is imported on first use, so importing this package stays
 * cheap.
 *
 * @module
 */
import type { Readable } from "node:stream";
import { getCACertificates } from "node:tls";
import { createRequire } from "node:module";
import type { Dispatcher, Pool } from "undici";
import { headersFromRecord, type HttpRequest, type HttpResponse, type HttpTransport, type TlsSettings } from "./types.js";

type Undici = typeof import("undici");

let undiciModule: Promise<Pick<Undici, "Pool">> | undefined;

/**
 * undici's `Pool`, loaded once, when the first request needs it. undici's
 * entry point loads everything it has (fetch, WebSocket, caches, mocks):
 * about 75 ms on this project's machines, for a CLI whose whole run may be
 * shorter. We load only the pool and the request API (about 35 ms) — the
 * same modules, wired as undici's own index.js wires them — and fall back
 * to the entry point if a future undici moves them.
 */
function loadUndici(): Promise<Pick<Undici, "Pool">> {
  undiciModule ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const Pool = require("undici/lib/dispatcher/pool.js") as Undici["Pool"];
      const Dispatcher = require("undici/lib/dispatcher/dispatcher.js") as { prototype: Record<string, unknown> };
      if (typeof Dispatcher.prototype.request !== "function") {
        Object.assign(Dispatcher.prototype, require("undici/lib/api/index.js") as Record<string, unknown>);
      }
      if (typeof Pool === "function" && typeof (Pool.prototype as { request?: unknown }).request === "function") return { Pool };
    } catch {
      // fall through to the full module
    }
    return import("undici");
  })();
  return undiciModule;
}

const pools = new Map<string, Promise<Pool>>();

/** How long an idle keep-alive connection is kept, in milliseconds. */
const KEEP_ALIVE_MS = 30_000;

let defaultCAs: string[] | undefined;

function poolFor(origin: string, tls: TlsSettings): Promise<Pool> {
  const key = `${origin}\u0000${tls.cacheKey}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = loadUndici().then(({ Pool }) => {
      const https = origin.startsWith("https:");
      let connect: Record<string, unknown> | undefined;
      if (https) {
        connect = { rejectUnauthorized: !tls.insecure };
        if (tls.ca.length > 0) {
          // `ca` replaces Node's trusted roots: keep them and add ours.
          defaultCAs ??= getCACertificates("default");
          connect.ca = [...defaultCAs, ...tls.ca];
        }
        if (tls.cert !== undefined && tls.key !== undefined) {
          connect.cert = tls.cert;
          connect.key = tls.key;
        }
      }
      return new Pool(origin, {
        ...(connect ? { connect } : {}),
        keepAliveTimeout: KEEP_ALIVE_MS,
        // The client enforces its own idle timeouts (they also cover fetch).
        headersTimeout: 0,
        bodyTimeout: 0,
        allowH2: false,
      });
    });
    pool.catch(() => pools.delete(key));
    pools.set(key, pool);
  }
  return pool;
}

/**
 * Closes every pooled connection of the process (idle connections do not
 * keep Node alive, so this is only needed to release sockets early, e.g.
 * between tests).
 */
export async function closeAllPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map(async (p) => (await p).close()));
}

/** Node hands out `Buffer`s; consumers get plain `Uint8Array` views of the same memory. */
async function* plainBytes(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of body) {
    yield c.constructor === Uint8Array ? c : new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  }
}

/** An {@link HttpTransport} over undici pools; `tlsFor` gives the TLS settings of an origin. */
export function createUndiciTransport(tlsFor: (url: URL) => Promise<TlsSettings>): HttpTransport {
  return {
    kind: "undici",
    async request(req: HttpRequest): Promise<HttpResponse> {
      const tls = await tlsFor(req.url);
      const pool = await poolFor(req.url.origin, tls);
      const options: Dispatcher.RequestOptions = {
        path: `${req.url.pathname}${req.url.search}`,
        method: req.method as Dispatcher.HttpMethod,
        headers: { ...req.headers },
        // undici accepts any (async) iterable of bytes as a body.
        body: (req.body ?? null) as Dispatcher.RequestOptions["body"],
        idempotent: req.method === "GET" || req.method === "HEAD",
        ...(req.signal ? { signal: req.signal } : {}),
      };
      const res = await pool.request(options);
      const body = res.body as unknown as Readable & { dump(opts?: { limit?: number }): Promise<void> };
      let discarded = false;
      return {
        status: res.statusCode,
        url: req.url,
        headers: headersFromRecord(res.headers as Record<string, string | string[] | undefined>),
        body: plainBytes(body as AsyncIterable<Uint8Array>),
        async discard() {
          if (discarded) return;
          discarded = true;
          try {
            // Small leftovers are read so the connection can be reused; more is cut.
            await body.dump({ limit: 128 * 1024 });
          } catch {
            body.destroy();
          }
        },
      };
    },
  };
}
