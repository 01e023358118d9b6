import { createHasher, type Hasher } from "#hash";
import { DigestMismatchError, InvalidDigestError, SizeMismatchError, throwIfAborted } from "./errors.js";
import type { BlobStream } from "./stream.js";

/** The digest algorithms Stevedore accepts. */
export type DigestAlgorithm = "sha256" | "sha384" | "sha512";

/** A validated digest string, `algorithm:hex`. */
export type Digest = string & { readonly __digest: unique symbol };

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** The digest algorithm used when none is asked for. */
export const CANONICAL_DIGEST_ALGORITHM: DigestAlgorithm = "sha256";

/** Whether `s` is a valid, supported digest. */
export function isDigest(s: unknown): s is Digest {
  if (typeof s !== "string") return false;
  const i = s.indexOf(":");
  if (i < 0) return false;
  const alg = s.slice(0, i);
  const len = HEX_LENGTH[alg as DigestAlgorithm];
  if (len === undefined || s.length - i - 1 !== len) return false;
  for (let k = i + 1; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function show(s: unknown): string {
  const t = typeof s === "string" ? s : String(s);
  return JSON.stringify(t.length > 80 ? t.slice(0, 80) + "…" : t);
}

/**
 * Parses and validates `algorithm:hex` strictly: the algorithm must be sha256,
 * sha384 or sha512 and the hex lowercase and of that algorithm's length.
 * Anything else throws {@link InvalidDigestError} naming the input.
 */
export function parseDigest(s: unknown): Digest {
  if (isDigest(s)) return s;
  if (typeof s !== "string") throw new InvalidDigestError(`invalid digest ${show(s)}: not a string`);
  const i = s.indexOf(":");
  if (i <= 0) throw new InvalidDigestError(`invalid digest ${show(s)}: expected "algorithm:hex"`);
  const alg = s.slice(0, i);
  const hex = s.slice(i + 1);
  const len = HEX_LENGTH[alg as DigestAlgorithm];
  if (len === undefined) {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(alg)) {
      throw new InvalidDigestError(`invalid digest ${show(s)}: unsupported algorithm "${alg}" (supported: sha256, sha384, sha512)`);
    }
    throw new InvalidDigestError(`invalid digest ${show(s)}: malformed algorithm`);
  }
  if (!/^[0-9a-f]*$/.test(hex)) {
    throw new InvalidDigestError(
      /^[0-9a-fA-F]*$/.test(hex)
        ? `invalid digest ${show(s)}: hex must be lowercase`
        : `invalid digest ${show(s)}: the encoded part is not hexadecimal`,
    );
  }
  throw new InvalidDigestError(`invalid digest ${show(s)}: ${alg} needs ${len} hex characters, got ${hex.length}`);
}

/** The algorithm part of a digest. */
export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(":")) as DigestAlgorithm;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** An incremental digester for `algorithm`. */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  update(chunk: Uint8Array): void;
  /** The digest of everything given to `update`. Call once. */
  digest(): Digest;
}

/** Creates an incremental digester (Node's crypto on Node, a JS implementation elsewhere). */
export function createDigester(algorithm: DigestAlgorithm = CANONICAL_DIGEST_ALGORITHM): Digester {
  if (HEX_LENGTH[algorithm] === undefined) throw new InvalidDigestError(`unsupported digest algorithm "${String(algorithm)}"`);
  const h: Hasher = createHasher(algorithm);
  return {
    algorithm,
    update: (c) => h.update(c),
    digest: () => `${algorithm}:${h.digestHex()}` as Digest,
  };
}

/** The digest of `bytes`. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = CANONICAL_DIGEST_ALGORITHM): Digest {
  const d = createDigester(algorithm);
  d.update(bytes);
  return d.digest();
}

/** What a measured stream turned out to be. */
export interface StreamMeasurement {
  digest: Digest;
  size: number;
}

/** Options of {@link verifyStream} and {@link measureStream}. */
export interface StreamCheckOptions {
  /** Named in error messages, e.g. `blob sha256:… of docker://…`. Defaults to the digest. */
  what?: string;
  signal?: AbortSignal;
  /** Called with the number of new bytes after every chunk. */
  onBytes?: (delta: number) => void;
}

/**
 * Passes `stream` through unchanged while hashing and counting it, and
 * resolves `result` once the stream has been read to its end. The result
 * promise rejects when the stream fails; attach a handler before iterating.
 */
export function measureStream(
  stream: BlobStream,
  algorithm: DigestAlgorithm = CANONICAL_DIGEST_ALGORITHM,
  options: StreamCheckOptions = {},
): { stream: BlobStream; result: Promise<StreamMeasurement> } {
  let resolve!: (m: StreamMeasurement) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<StreamMeasurement>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => {});
  const out = (async function* () {
    const d = createDigester(algorithm);
    let size = 0;
    try {
      for await (const chunk of stream) {
        throwIfAborted(options.signal);
        d.update(chunk);
        size += chunk.byteLength;
        options.onBytes?.(chunk.byteLength);
        yield chunk;
      }
      resolve({ digest: d.digest(), size });
    } catch (e) {
      reject(e);
      throw e;
    }
  })();
  return { stream: out, result };
}

const VERIFIED = Symbol.for("@stevedore/types/verified-stream");

/** What a stream made by {@link verifyStream} is guaranteed to hold. */
export interface VerifiedContent {
  digest: Digest;
}

/**
 * The digest a stream is already being verified against, when it was made
 * by {@link verifyStream} (or passed on with {@link keepVerification}):
 * such a stream fails before releasing its last chunk unless its content
 * has that digest.
 */
export function verifiedContent(stream: BlobStream): VerifiedContent | undefined {
  return (stream as { [VERIFIED]?: VerifiedContent })[VERIFIED];
}

/**
 * Marks `out`, a stream that yields exactly the bytes of `from` (e.g. after
 * peeking at them), as verified like `from`, so that a later
 * {@link verifyStream} for the same digest does not hash the bytes again.
 * Returns `out`.
 */
export function keepVerification<T extends BlobStream>(out: T, from: BlobStream): T {
  const v = verifiedContent(from);
  if (v !== undefined) Object.defineProperty(out, VERIFIED, { value: v, enumerable: false });
  return out;
}

/**
 * Passes `stream` through unchanged and fails it when its content does not
 * match: too long fails as soon as the extra byte arrives, too short and a
 * wrong digest fail at the end, before the last chunk is handed on, so a
 * consumer that commits only after the stream ends never commits bad data.
 * `expectedSize` −1 means unknown.
 *
 * A stream that is already being verified against the same digest (see
 * {@link verifiedContent}) is not hashed a second time: its producer fails
 * it the same way; only its size is checked again.
 */
export function verifyStream(
  stream: BlobStream,
  expected: { digest: Digest; size: number },
  options: StreamCheckOptions = {},
): BlobStream {
  const what = options.what ?? `blob ${expected.digest}`;
  const algorithm = digestAlgorithm(parseDigest(expected.digest));
  const expectedSize = expected.size;
  if (verifiedContent(stream)?.digest === expected.digest) {
    return keepVerification(
      (async function* () {
        let size = 0;
        for await (const chunk of stream) {
          throwIfAborted(options.signal);
          size += chunk.byteLength;
          if (expectedSize >= 0 && size > expectedSize) throw new SizeMismatchError(what, expectedSize, size, { atLeast: true });
          options.onBytes?.(chunk.byteLength);
          yield chunk;
        }
        if (expectedSize >= 0 && size !== expectedSize) throw new SizeMismatchError(what, expectedSize, size);
      })(),
      stream,
    );
  }
  const out = (async function* () {
    const d = createDigester(algorithm);
    let size = 0;
    let held: Uint8Array | undefined;
    for await (const chunk of stream) {
      throwIfAborted(options.signal);
      size += chunk.byteLength;
      if (expectedSize >= 0 && size > expectedSize) {
        throw new SizeMismatchError(what, expectedSize, size, { atLeast: true });
      }
      d.update(chunk);
      options.onBytes?.(chunk.byteLength);
      // Hold one chunk back so that the final one is released only after the
      // digest and size were checked.
      if (held !== undefined) yield held;
      held = chunk;
    }
    if (expectedSize >= 0 && size !== expectedSize) throw new SizeMismatchError(what, expectedSize, size);
    const actual = d.digest();
    if (actual !== expected.digest) throw new DigestMismatchError(what, expected.digest, actual);
    if (held !== undefined) yield held;
  })();
  Object.defineProperty(out, VERIFIED, { value: { digest: expected.digest }, enumerable: false });
  return out;
}
