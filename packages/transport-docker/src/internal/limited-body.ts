/**
 * Reading a small response body (manifest, signature, token, error document)
 * under a size limit.
 *
 * @module
 */
import { ProtocolError, readAll, SizeLimitExceededError } from "@stevedore/types";
import type { HttpResponse } from "../http/types.js";
import { parseContentLength } from "./headers.js";
import { describe } from "./util.js";

export interface LimitedBodyOptions {
  /** The largest body accepted, in bytes. */
  readonly limit: number;
  /** What the body is, for errors: "manifest v1 of quay.io/a (https://…)". */
  readonly what: string;
  /** The subject of the "is N bytes, larger than the limit" message; defaults to `what`. */
  readonly tooLarge?: string;
  /**
   * A malformed Content-Length is a `ProtocolError` ("reading <what>: …")
   * when true; when false it is ignored, and the read limit still holds.
   */
  readonly strictLength?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Reads `res`'s whole body, at most `limit` bytes: a declared length over the
 * limit fails before reading (`SizeLimitExceededError`), and so does a body
 * that grows past it. On any failure the rest of the response is discarded,
 * so the connection can be reused.
 */
export async function readLimitedBody(res: HttpResponse, options: LimitedBodyOptions): Promise<Uint8Array> {
  const { limit, what, signal } = options;
  let declared: number | undefined;
  try {
    declared = parseContentLength(res.headers.get("content-length"));
  } catch (e) {
    if (options.strictLength) {
      await res.discard();
      throw new ProtocolError(`reading ${what}: ${describe(e)}`);
    }
  }
  if (declared !== undefined && declared > limit) {
    await res.discard();
    throw new SizeLimitExceededError(`${options.tooLarge ?? what} is ${declared} bytes, larger than the limit of ${limit} bytes`);
  }
  try {
    return await readAll(res.body, { limit, what, ...(signal ? { signal } : {}) });
  } catch (e) {
    await res.discard();
    throw e;
  }
}
