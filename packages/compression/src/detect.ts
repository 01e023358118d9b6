import { keepVerification, throwIfAborted, type BlobStream } from "@stevedore/types";
import { Bzip2, Gzip, Xz, Zstd, type BaseCompressionAlgorithmName, type CompressionAlgorithm } from "./algorithms.js";
import { closeQuietly } from "./internal/iter.js";

/** How many bytes detection looks at: the longest magic (xz's six bytes). */
export const MAX_MAGIC_LENGTH = 6;

const DETECTABLE: readonly CompressionAlgorithm[] = [Gzip, Zstd, Bzip2, Xz];

/** What {@link detectCompression} found. */
export interface DetectedCompression {
  /** The format the stream starts with, or undefined when it starts with no known magic (uncompressed or unknown). */
  algorithm: BaseCompressionAlgorithmName | undefined;
  /** A stream that yields every byte of the original, from the first one. Read it instead of the original. */
  stream: BlobStream;
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  if (bytes.byteLength < magic.byteLength) return false;
  for (let i = 0; i < magic.byteLength; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/**
 * The compression format that `prefix` (the first bytes of a blob; at most
 * {@link MAX_MAGIC_LENGTH} are looked at) starts with: `gzip` (1f 8b 08),
 * `zstd` (28 b5 2f fd), `bzip2` (42 5a 68) or `xz` (fd 37 7a 58 5a 00);
 * undefined when none matches, including when `prefix` is shorter than a
 * magic. `zstd:chunked` blobs are reported as `zstd`.
 */
export function detectCompressionBytes(prefix: Uint8Array): BaseCompressionAlgorithmName | undefined {
  for (const a of DETECTABLE) if (startsWith(prefix, a.magic)) return a.baseVariantName;
  return undefined;
}

/**
 * Detects the compression of `stream` by its magic bytes without losing any
 * of them: it reads chunks until it has {@link MAX_MAGIC_LENGTH} bytes (or the
 * stream ends) and returns the algorithm with a stream that replays those
 * chunks, unchanged, before the rest of the original. A stream shorter than
 * any magic is reported as uncompressed. Errors of the original while
 * peeking are thrown from here; later ones from the returned stream.
 */
export async function detectCompression(stream: BlobStream, options: { signal?: AbortSignal } = {}): Promise<DetectedCompression> {
  const { signal } = options;
  throwIfAborted(signal);
  const it = stream[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < MAX_MAGIC_LENGTH) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } catch (e) {
      ended = true;
      throw e;
    }
    if (r.done) {
      ended = true;
      break;
    }
    if (signal?.aborted) {
      await closeQuietly(it);
      throwIfAborted(signal);
    }
    if (r.value.byteLength === 0) continue;
    head.push(r.value);
    have += r.value.byteLength;
  }
  const prefix = new Uint8Array(Math.min(have, MAX_MAGIC_LENGTH));
  let o = 0;
  for (const c of head) {
    if (o >= prefix.byteLength) break;
    const n = Math.min(c.byteLength, prefix.byteLength - o);
    prefix.set(c.subarray(0, n), o);
    o += n;
  }
  // The bytes pass unchanged: a stream being verified stays verified.
  return { algorithm: detectCompressionBytes(prefix), stream: keepVerification(replay(head, it, ended), stream) };
}

async function* replay(head: Uint8Array[], it: AsyncIterator<Uint8Array>, ended: boolean): AsyncGenerator<Uint8Array, void, undefined> {
  let finished = ended;
  try {
    while (head.length > 0) yield head.shift()!;
    while (!finished) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        finished = true;
        throw e;
      }
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // The consumer stopped early: let the original release what it holds.
    if (!finished) await closeQuietly(it);
  }
}
