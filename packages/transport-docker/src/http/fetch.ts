/**
 * The WHATWG `fetch` implementation of {@link HttpTransport}, for the read
 * path in environments without undici (browsers) or when a caller passes its
 * own `fetch` in `SystemContext.fetch`. TLS is whatever that `fetch` does:
 * certs.d settings do not apply. Redirects are asked for with
 * `redirect: "manual"` so the client can apply its own rules; a `fetch`
 * that hides them (browsers answer an opaque redirect) makes a redirected
 * request fail with a clear error.
 *
 * @module
 */
import { UnsupportedError, type BlobStream } from "@stevedore/types";
import { redactURL } from "../internal/redact.js";
import type { HttpHeaders, HttpRequest, HttpResponse, HttpTransport } from "./types.js";

function streamFromIterable(iterable: BlobStream): ReadableStream<Uint8Array> {
  const it = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (e) {
        controller.error(e);
      }
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  });
}

async function* iterateBody(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      if (r.value.byteLength > 0) yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function headersOf(h: Headers): HttpHeaders {
  return {
    get: (name) => h.get(name) ?? undefined,
    getAll: (name) => {
      const lower = name.toLowerCase();
      if (lower === "set-cookie" && typeof h.getSetCookie === "function") return h.getSetCookie();
      const v = h.get(name);
      if (v === null) return [];
      // Headers joins repeated lines with ", ", which is what every caller of getAll can parse.
      return [v];
    },
  };
}

/** An {@link HttpTransport} over a WHATWG `fetch`. */
export function createFetchTransport(fetchFn: typeof globalThis.fetch): HttpTransport {
  return {
    kind: "fetch",
    async request(req: HttpRequest): Promise<HttpResponse> {
      const init: RequestInit & { duplex?: "half" } = {
        method: req.method,
        headers: { ...req.headers },
        redirect: "manual",
        ...(req.signal ? { signal: req.signal } : {}),
      };
      if (req.body instanceof Uint8Array) {
        init.body = req.body as BodyInit;
      } else if (req.body !== undefined) {
        // Streamed request bodies need `duplex: "half"` (Node's fetch, recent browsers over HTTP/2).
        init.body = streamFromIterable(req.body);
        init.duplex = "half";
      }
      const res = await fetchFn(req.url, init);
      if (res.type === "opaqueredirect") {
        await res.body?.cancel().catch(() => {});
        throw new UnsupportedError(
          `${req.method} ${redactURL(req.url)} was redirected, and this fetch implementation hides redirects (redirect: "manual" gave an opaque response); the registry client must see redirects to keep credentials from other origins`,
        );
      }
      let discarded = false;
      return {
        status: res.status,
        url: req.url,
        headers: headersOf(res.headers),
        body: iterateBody(res.body),
        async discard() {
          if (discarded) return;
          discarded = true;
          await res.body?.cancel().catch(() => {});
        },
      };
    },
  };
}
