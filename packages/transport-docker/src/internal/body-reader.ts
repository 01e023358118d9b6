/**
 * A blob body that resumes after a broken connection with
 * `Range: bytes=N-`, accepting only a `206` whose `Content-Range` starts at
 * N. A `200` (the server ignored the Range) fails rather than splicing two
 * different responses.
 *
 * @module
 */
import { AbortError, NetworkError, ProtocolError, StevedoreError } from "@stevedore/types";
import type { HttpResponse } from "../http/types.js";
import { parseContentRange } from "./headers.js";
import { redactURL } from "./redact.js";
import { sleep } from "./util.js";

/** Progress since the last reconnection that justifies another one. */
export const RESUME_MIN_PROGRESS = 1024 * 1024;
/** Time since the last reconnection that justifies another one. */
export const RESUME_MIN_INTERVAL_MS = 60_000;

/** What {@link resumableBody} needs. */
export interface ResumableOptions {
  /** The first response (status 200). */
  readonly first: HttpResponse;
  /** The total size, when known (descriptor or Content-Length). */
  readonly totalSize: number | undefined;
  /** Sends `GET` with `Range: bytes=<offset>-` (or without a Range at offset 0). */
  reopen(offset: number): Promise<HttpResponse>;
  /** Turns a failed reopen response into an error (reads its body). */
  fail(res: HttpResponse): Promise<Error>;
  /** Delay before reconnecting, in ms. */
  readonly delayMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Names the blob in messages. */
  readonly what: string;
}

function resumable(e: unknown): boolean {
  if (e instanceof AbortError) return false;
  if (e instanceof NetworkError) return true;
  return !(e instanceof StevedoreError);
}

/** The body of `first`, continued with Range requests when the connection breaks. */
export async function* resumableBody(o: ResumableOptions): AsyncGenerator<Uint8Array> {
  let res = o.first;
  let offset = 0;
  let lastRetryOffset = -1;
  let lastRetryTime = 0;
  let finished = false;
  try {
    for (;;) {
      let failure: unknown;
      try {
        for await (const chunk of res.body) {
          offset += chunk.byteLength;
          yield chunk;
        }
        if (o.totalSize === undefined || offset >= o.totalSize) {
          finished = true;
          return;
        }
        failure = new NetworkError(`${o.what}: the connection ended after ${offset} of ${o.totalSize} bytes`);
      } catch (e) {
        if (!resumable(e) || o.signal?.aborted) throw e;
        failure = e;
      }
      await res.discard();
      const now = Date.now();
      const progressed = offset - Math.max(lastRetryOffset, 0);
      if (!(lastRetryOffset === -1 || progressed >= RESUME_MIN_PROGRESS || now - lastRetryTime >= RESUME_MIN_INTERVAL_MS)) {
        throw new NetworkError(
          `${o.what}: reading failed again after ${offset} bytes (${progressed} bytes and ${now - lastRetryTime} ms since the last reconnection, less than ${RESUME_MIN_PROGRESS} bytes or ${RESUME_MIN_INTERVAL_MS} ms); giving up: ${failure instanceof Error ? failure.message : String(failure)}`,
          { cause: failure },
        );
      }
      lastRetryOffset = offset;
      lastRetryTime = now;
      await sleep(o.delayMs + Math.random() * Math.min(100, o.delayMs), o.signal);
      const next = await o.reopen(offset);
      if (offset === 0 && next.status === 200) {
        res = next;
        continue;
      }
      if (next.status === 200) {
        await next.discard();
        throw new ProtocolError(
          `${o.what}: the connection broke after ${offset} bytes and the server did not process a Range: header when asked to resume (${redactURL(next.url)} answered 200 with the whole blob); not resuming`,
          { cause: failure },
        );
      }
      if (next.status !== 206) throw await o.fail(next);
      const range = parseContentRange(next.headers.get("content-range"));
      const bad =
        range === undefined ||
        range.first !== offset ||
        (range.total !== undefined && range.last !== range.total - 1) ||
        (o.totalSize !== undefined && range.total !== undefined && range.total !== o.totalSize);
      if (bad) {
        await next.discard();
        throw new ProtocolError(
          `${o.what}: asked to resume at byte ${offset}, the server answered Content-Range ${JSON.stringify(next.headers.get("content-range") ?? "(none)")}; not resuming`,
          { cause: failure },
        );
      }
      res = next;
    }
  } finally {
    if (!finished) await res.discard();
  }
}
