/**
 * The little of ASN.1 DER this package needs: reading the outer structure of
 * SubjectPublicKeyInfo and PKCS #8 keys (to learn the key's algorithm before
 * Web Crypto imports it), ECDSA signatures, and writing the same.
 *
 * @module
 */

/** Raised for malformed DER; callers turn it into their own typed error. */
export class DerError extends Error {}

/** ASN.1 universal tags used here. */
export const TAG = Object.freeze({
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
});

/** One TLV element: its tag and the bytes of its contents. */
export interface DerElement {
  tag: number;
  contents: Uint8Array;
}

/** Reads consecutive DER elements from `bytes`. */
export class DerReader {
  readonly #b: Uint8Array;
  #i = 0;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.#i >= this.#b.length;
  }

  /** Reads the next element (single-byte tags, definite minimal lengths only). */
  next(): DerElement {
    const b = this.#b;
    if (this.#i + 2 > b.length) throw new DerError("truncated element");
    const tag = b[this.#i++] as number;
    if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
    let len = b[this.#i++] as number;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0) throw new DerError("indefinite lengths are not DER");
      if (n > 4) throw new DerError("length too large");
      if (this.#i + n > b.length) throw new DerError("truncated length");
      if (b[this.#i] === 0) throw new DerError("non-minimal length");
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + (b[this.#i++] as number);
      if (len < 0x80) throw new DerError("non-minimal length");
    }
    if (this.#i + len > b.length) throw new DerError("truncated contents");
    const contents = b.subarray(this.#i, this.#i + len);
    this.#i += len;
    return { tag, contents };
  }

  /** Reads the next element and checks its tag. */
  expect(tag: number, what: string): Uint8Array {
    const e = this.next();
    if (e.tag !== tag) throw new DerError(`expected ${what}`);
    return e.contents;
  }

  /** Throws unless every byte has been read. */
  end(what: string): void {
    if (!this.done) throw new DerError(`unexpected data after ${what}`);
  }
}

/** Reads exactly one element of tag `tag` spanning all of `bytes`. */
export function readOne(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const r = new DerReader(bytes);
  const c = r.expect(tag, what);
  r.end(what);
  return c;
}

/** The dotted text of an OBJECT IDENTIFIER's contents. */
export function oidText(contents: Uint8Array): string {
  if (contents.length === 0) throw new DerError("empty object identifier");
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i] as number;
    if (v === 0 && c === 0x80) throw new DerError("non-minimal object identifier");
    v = v * 128 + (c & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DerError("object identifier arc too large");
    if (!(c & 0x80)) {
      arcs.push(v);
      v = 0;
    } else if (i === contents.length - 1) {
      throw new DerError("truncated object identifier");
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encodes one element. */
export function encode(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = encodeLength(len);
  const out = new Uint8Array(1 + head.length + len);
  out[0] = tag;
  out.set(head, 1);
  let o = 1 + head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The contents of an OBJECT IDENTIFIER for dotted text. */
export function oidContents(text: string): Uint8Array {
  const arcs = text.split(".").map(Number);
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

/** A non-negative INTEGER element for big-endian unsigned `magnitude`. */
function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  const pad = (m[0] as number) & 0x80 ? Uint8Array.of(0) : new Uint8Array(0);
  return encode(TAG.INTEGER, pad, m);
}

/**
 * Converts an ECDSA signature from Web Crypto's IEEE P1363 form (r || s,
 * each `size` bytes) to ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }`.
 */
export function ecdsaP1363ToDer(sig: Uint8Array): Uint8Array {
  const size = sig.length / 2;
  return encode(TAG.SEQUENCE, unsignedInteger(sig.subarray(0, size)), unsignedInteger(sig.subarray(size)));
}

/** The magnitude of a positive, minimally encoded INTEGER's contents, left-padded to `size` bytes. */
function positiveInteger(c: Uint8Array, size: number, what: string): Uint8Array {
  if (c.length === 0) throw new DerError(`empty integer ${what}`);
  if ((c[0] as number) & 0x80) throw new DerError(`negative integer ${what}`);
  if (c.length > 1 && c[0] === 0 && !((c[1] as number) & 0x80)) throw new DerError(`non-minimal integer ${what}`);
  const m = c[0] === 0 ? c.subarray(1) : c;
  if (m.length > size) throw new DerError(`integer ${what} is too large for the curve`);
  if (m.every((b) => b === 0)) throw new DerError(`integer ${what} is zero`);
  const out = new Uint8Array(size);
  out.set(m, size - m.length);
  return out;
}

/**
 * Converts an ASN.1 DER ECDSA signature to IEEE P1363 (r || s, `size` bytes
 * each, for Web Crypto). Strict: one SEQUENCE of two positive, minimally
 * encoded INTEGERs and nothing else. Throws DerError otherwise.
 */
export function ecdsaDerToP1363(der: Uint8Array, size: number): Uint8Array {
  const seq = readOne(der, TAG.SEQUENCE, "an ECDSA signature SEQUENCE");
  const r = new DerReader(seq);
  const rr = positiveInteger(r.expect(TAG.INTEGER, "INTEGER r"), size, "r");
  const ss = positiveInteger(r.expect(TAG.INTEGER, "INTEGER s"), size, "s");
  r.end("the ECDSA signature values");
  const out = new Uint8Array(size * 2);
  out.set(rr);
  out.set(ss, size);
  return out;
}
