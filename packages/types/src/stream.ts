import { SizeLimitExceededError, throwIfAborted } from "./errors.js";

/**
 * A blob body. Stevedore moves blob bodies as `AsyncIterable<Uint8Array>`
 * end to end: Node's streams, undici's bodies, async generators and (in Node
 * and current browsers) WHATWG `ReadableStream`s all are one, and a pass-through
 * stage costs less than with `ReadableStream` (see this package's README for
 * the measurement). A stream is read once.
 */
export type BlobStream = AsyncIterable<Uint8Array>;

/** Safety limits for documents held in memory, in bytes (as the Go library's). */
export const SizeLimits = Object.freeze({
  manifest: 4 * 1024 * 1024,
  config: 4 * 1024 * 1024,
  signature: 4 * 1024 * 1024,
  signatureList: 4 * 1024 * 1024,
  token: 1024 * 1024,
  errorBody: 1024 * 1024,
  archiveManifest: 1024 * 1024,
});

/** A stream of exactly `bytes`. */
export async function* streamOf(...chunks: Uint8Array[]): BlobStream {
  for (const c of chunks) if (c.byteLength > 0) yield c;
}

/**
 * Reads `stream` to its end into one array. Fails with
 * {@link SizeLimitExceededError} naming `what` as soon as more than `limit`
 * bytes arrive.
 */
export async function readAll(
  stream: BlobStream,
  options: { limit?: number; what?: string; signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of stream) {
    throwIfAborted(options.signal);
    size += c.byteLength;
    if (size > limit) {
      throw new SizeLimitExceededError(`${options.what ?? "data"} is larger than the limit of ${limit} bytes`);
    }
    chunks.push(c);
  }
  return concatBytes(chunks, size);
}

/** Concatenates byte arrays. */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** Drains a stream, discarding its content (e.g. to release a connection). */
export async function drain(stream: BlobStream): Promise<void> {
  for await (const _ of stream) {
    // discard
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 encodes a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8 strictly (invalid sequences throw). */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}
