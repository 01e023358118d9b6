import { UnsupportedError } from "@stevedore/types";

/** The Web Crypto API of this runtime; UnsupportedError when there is none. */
export function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (s === undefined) throw new UnsupportedError("sigstore signatures need the Web Crypto API (crypto.subtle), which this runtime does not provide");
  return s;
}

/** `n` cryptographically random bytes. */
export function randomBytes(n: number): Uint8Array {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c === undefined) throw new UnsupportedError("sigstore keys need the Web Crypto API (crypto.getRandomValues), which this runtime does not provide");
  const out = new Uint8Array(n);
  c.getRandomValues(out);
  return out;
}

/** A copy of `b` backed by its own ArrayBuffer (Web Crypto's BufferSource typing wants one). */
export function own(b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}
