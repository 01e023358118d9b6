/**
 * libtrust's JSON Web Signature format for schema 1 manifests: the manifest
 * JSON with a `signatures` member appended; each signature's `protected`
 * header records how long the signed prefix is (`formatLength`) and what
 * closes it (`formatTail`), so that the signed payload — the manifest without
 * its signatures — can be cut back out of the document.
 */
import {
  InvalidManifestError,
  SignatureInvalidError,
  UnsupportedError,
  digestOf,
  digestHex,
} from "@stevedore/types";
import {
  goArray,
  goIndent,
  goObject,
  goQuote,
  jsonKind,
  MAX_MANIFEST_SIZE,
  ObjectReader,
  parseJSONDocument,
  readNonNegativeInteger,
  type JSONDocument,
  type JSONObjectNode,
} from "@stevedore/manifest-oci";
import { decodeBase64Url, encodeBase64Url } from "./internal/base64url.js";

/** A JSON Web Key as found in a signature header (string members only). */
export type JWK = Readonly<Record<string, string>>;

/** One signature of a schema 1 manifest. */
export interface Schema1Signature {
  /** The signing key, when the header carries one (`jwk`). */
  jwk?: JWK;
  /** The JWS algorithm (`alg`), e.g. `ES256`. */
  algorithm: string;
  /** A certificate chain (`x5c`), base64 DER, leaf first. */
  certificateChain?: string[];
  /** The signature, base64url. */
  signature: string;
  /** The protected header, base64url, exactly as signed. */
  protected: string;
  /** The `time` of the protected header, when present. */
  time?: string;
}

/** The signature part of a signed schema 1 manifest. */
export interface Schema1JWS {
  signatures: Schema1Signature[];
  /** How many bytes of the document the signed payload keeps. */
  formatLength: number;
  /** What the payload ends with instead of the rest of the document. */
  formatTail: Uint8Array;
  /** The signed payload: the manifest without its signatures. */
  payload: Uint8Array;
}

const WHAT = "Docker schema 1 manifest";

function fail(message: string, cause?: unknown): InvalidManifestError {
  return new InvalidManifestError(`invalid ${WHAT}: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Reads the `signatures` member of a signed schema 1 manifest (already parsed
 * as `doc` from `bytes`) and cuts out the signed payload. Every signature
 * must agree on `formatLength` and `formatTail`. Structure only: the
 * cryptographic check is {@link verifySchema1Signatures}.
 */
export function parseSchema1JWS(bytes: Uint8Array, doc: JSONDocument): Schema1JWS {
  if (doc.root.kind !== "object") throw fail(`must be a JSON object, got ${jsonKind(doc.root)}`);
  const r = new ObjectReader(doc.root, "", fail, ["signatures"]);
  const list = r.array("signatures", true);
  if (list.items.length === 0) throw fail("signatures: the list is empty");
  let formatLength: number | undefined;
  let formatTail: Uint8Array | undefined;
  const signatures = list.items.map((node, i): Schema1Signature => {
    const where = `signatures[${i}]`;
    if (node.kind !== "object") throw fail(`${where}: must be an object, got ${jsonKind(node)}`);
    const sr = new ObjectReader(node, where, fail, ["header", "signature", "protected"]);
    const hr = new ObjectReader(sr.object("header", true), `${where}.header`, fail, ["jwk", "alg", "x5c"]);
    const sig: Schema1Signature = {
      algorithm: hr.string("alg", true),
      signature: sr.string("signature", true),
      protected: sr.string("protected", true),
    };
    const jwkNode = hr.object("jwk");
    if (jwkNode !== undefined) sig.jwk = readJWK(jwkNode, `${where}.header.jwk`);
    const chain = hr.stringArray("x5c");
    if (chain !== undefined) sig.certificateChain = chain;
    if (decodeBase64Url(sig.signature) === undefined) throw fail(`${where}.signature: not valid base64url`);
    const protectedBytes = decodeBase64Url(sig.protected);
    if (protectedBytes === undefined) throw fail(`${where}.protected: not valid base64url`);
    const pdoc = parseJSONDocument(protectedBytes, { what: `${WHAT} (${where}.protected)`, maxSize: MAX_MANIFEST_SIZE });
    if (pdoc.root.kind !== "object") throw fail(`${where}.protected: must be a JSON object`);
    const pr = new ObjectReader(pdoc.root, `${where}.protected`, fail, ["formatLength", "formatTail", "time"]);
    const lenNode = pr.get("formatLength");
    if (lenNode === undefined) throw pr.error("formatLength", "missing");
    const len = readNonNegativeInteger(lenNode, (m) => pr.error("formatLength", m));
    const tail = decodeBase64Url(pr.string("formatTail", true));
    if (tail === undefined) throw pr.error("formatTail", "not valid base64url");
    const time = pr.string("time");
    if (time !== undefined) sig.time = time;
    if (formatLength === undefined) formatLength = len;
    else if (formatLength !== len) throw fail(`${where}.protected: conflicting formatLength ${len} (another signature says ${formatLength})`);
    if (formatTail === undefined) formatTail = tail;
    else if (!equalBytes(formatTail, tail)) throw fail(`${where}.protected: conflicting formatTail`);
    return sig;
  });
  const length = formatLength as number;
  const tail = formatTail as Uint8Array;
  if (length > bytes.byteLength) throw fail(`formatLength ${length} is beyond the end of the document (${bytes.byteLength} bytes)`);
  const payload = new Uint8Array(length + tail.byteLength);
  payload.set(bytes.subarray(0, length), 0);
  payload.set(tail, length);
  return { signatures, formatLength: length, formatTail: tail, payload };
}

function readJWK(node: JSONObjectNode, where: string): JWK {
  const out: Record<string, string> = {};
  for (const [k, v] of node.entries) {
    if (v.kind === "string") out[k] = v.value;
    else if (["kty", "crv", "x", "y", "n", "e", "kid"].includes(k)) throw fail(`${where}.${k}: must be a string, got ${jsonKind(v)}`);
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Keys

interface KeyAlgorithm {
  import: EcKeyImportParams | RsaHashedImportParams;
  verify: EcdsaParams | AlgorithmIdentifier;
  /** Bytes of an EC coordinate (EC keys only). */
  octets?: number;
}

const EC_CURVES: Readonly<Record<string, { alg: string; hash: string; octets: number }>> = {
  "P-256": { alg: "ES256", hash: "SHA-256", octets: 32 },
  "P-384": { alg: "ES384", hash: "SHA-384", octets: 48 },
  "P-521": { alg: "ES512", hash: "SHA-512", octets: 66 },
};
const RSA_ALGS: Readonly<Record<string, string>> = { RS256: "SHA-256", RS384: "SHA-384", RS512: "SHA-512" };

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (s === undefined) throw new UnsupportedError("schema 1 signatures need the Web Crypto API (crypto.subtle), which this runtime does not provide");
  return s;
}

function keyAlgorithm(jwk: JWK, alg: string, where: string): KeyAlgorithm {
  if (jwk.kty === "EC") {
    const curve = EC_CURVES[jwk.crv ?? ""];
    if (curve === undefined) throw new SignatureInvalidError(`${where}: unsupported EC curve ${JSON.stringify(jwk.crv)}`);
    if (alg !== curve.alg) {
      throw new SignatureInvalidError(`${where}: an EC key on curve ${jwk.crv} signs with ${curve.alg}, not ${JSON.stringify(alg)}`);
    }
    return { import: { name: "ECDSA", namedCurve: jwk.crv as string }, verify: { name: "ECDSA", hash: curve.hash }, octets: curve.octets };
  }
  if (jwk.kty === "RSA") {
    const hash = RSA_ALGS[alg];
    if (hash === undefined) throw new SignatureInvalidError(`${where}: unsupported RSA signature algorithm ${JSON.stringify(alg)}`);
    return { import: { name: "RSASSA-PKCS1-v1_5", hash }, verify: { name: "RSASSA-PKCS1-v1_5" } };
  }
  throw new SignatureInvalidError(`${where}: unsupported key type ${JSON.stringify(jwk.kty)}`);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * libtrust's key ID: SHA-256 of the key's DER SubjectPublicKeyInfo, the first
 * 240 bits in base32, as twelve groups of four characters joined by `:`.
 */
export async function libtrustKeyID(key: CryptoKey): Promise<string> {
  const spki = new Uint8Array(await subtle().exportKey("spki", key));
  const hex = digestHex(digestOf(spki));
  const bytes = new Uint8Array(30);
  for (let i = 0; i < 30; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  let b32 = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      b32 += BASE32[(acc >> bits) & 31];
    }
  }
  const groups: string[] = [];
  for (let i = 0; i < b32.length; i += 4) groups.push(b32.slice(i, i + 4));
  return groups.join(":");
}

async function importJWK(jwk: JWK, alg: string, where: string): Promise<{ key: CryptoKey; algo: KeyAlgorithm }> {
  const algo = keyAlgorithm(jwk, alg, where);
  const material: JsonWebKey =
    jwk.kty === "EC" ? { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true } : { kty: "RSA", n: jwk.n, e: jwk.e, ext: true };
  if (algo.octets !== undefined) {
    for (const c of ["x", "y"] as const) {
      const v = decodeBase64Url(jwk[c] ?? "");
      if (v === undefined || v.byteLength !== algo.octets) {
        throw new SignatureInvalidError(`${where}: the key's "${c}" coordinate must be ${algo.octets} bytes of base64url`);
      }
    }
  }
  let key: CryptoKey;
  try {
    key = await subtle().importKey("jwk", material, algo.import, true, ["verify"]);
  } catch (e) {
    throw new SignatureInvalidError(`${where}: the public key cannot be used: ${(e as Error).message}`, { cause: e });
  }
  if (jwk.kid !== undefined) {
    const kid = await libtrustKeyID(key);
    if (kid !== jwk.kid) throw new SignatureInvalidError(`${where}: key ID ${jwk.kid} does not match the key (its ID is ${kid})`);
  }
  return { key, algo };
}

/** A signature that verified. */
export interface VerifiedSchema1Signature {
  /** libtrust's ID of the key that made it. */
  keyID: string;
  /** The JWS algorithm. */
  algorithm: string;
}

const ascii = new TextEncoder();

/**
 * Verifies every signature of a signed schema 1 manifest against the key in
 * its header (ECDSA P-256/P-384/P-521 or RSA PKCS#1 v1.5). These keys are
 * usually ephemeral, so this proves integrity, not who signed. Throws
 * `SignatureInvalidError` naming the signature that failed, and
 * `UnsupportedError` for a signature identified only by a certificate chain.
 */
export async function verifySchema1JWS(jws: Schema1JWS): Promise<VerifiedSchema1Signature[]> {
  const payloadB64 = encodeBase64Url(jws.payload);
  const out: VerifiedSchema1Signature[] = [];
  for (const [i, sig] of jws.signatures.entries()) {
    const where = `schema 1 manifest signature ${i + 1} of ${jws.signatures.length}`;
    if (sig.jwk === undefined) {
      if (sig.certificateChain !== undefined) {
        throw new UnsupportedError(`${where}: signatures identified by an x5c certificate chain are not supported`);
      }
      throw new SignatureInvalidError(`${where}: the header names no key (no "jwk")`);
    }
    const { key, algo } = await importJWK(sig.jwk, sig.algorithm, where);
    const signature = decodeBase64Url(sig.signature) as Uint8Array<ArrayBuffer>;
    if (algo.octets !== undefined && signature.byteLength !== 2 * algo.octets) {
      throw new SignatureInvalidError(`${where}: an ${sig.algorithm} signature must be ${2 * algo.octets} bytes, got ${signature.byteLength}`);
    }
    const ok = await subtle().verify(algo.verify, key, signature, ascii.encode(`${sig.protected}.${payloadB64}`));
    if (!ok) throw new SignatureInvalidError(`${where}: the signature does not match the manifest`);
    out.push({ keyID: sig.jwk.kid ?? (await libtrustKeyID(key)), algorithm: sig.algorithm });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Signing

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c || c === 0x85 || c === 0xa0;
}

/** libtrust's indentation detection: the text between `{\n` and the first quote. */
function detectIndent(payload: Uint8Array): string {
  if (payload.length > 2 && payload[0] === 0x7b && payload[1] === 0x0a) {
    const q = payload.indexOf(0x22, 1);
    if (q > 1) return new TextDecoder().decode(payload.subarray(2, q));
  }
  return "";
}

/** Options of {@link signSchema1Payload}. */
export interface SignSchema1Options {
  /** The key pair to sign with (ECDSA P-256, extractable public key); default: a fresh ephemeral key. */
  keyPair?: CryptoKeyPair;
  /** The `time` recorded in the protected header; default: now. */
  time?: Date;
}

/**
 * Signs a schema 1 payload (an unsigned manifest) as the Go library does when
 * it writes schema 1: one ES256 signature made with a fresh ephemeral P-256
 * key, in libtrust's format (`formatLength`/`formatTail` in the protected
 * header, the key as a JWK in the header). The payload bytes are kept, so the
 * manifest digest is that of `payload`.
 */
export async function signSchema1Payload(payload: Uint8Array, options: SignSchema1Options = {}): Promise<Uint8Array> {
  let close = payload.length - 1;
  while (close >= 0 && isSpace(payload[close] as number)) close--;
  if (close < 0 || payload[close] !== 0x7d) throw new InvalidManifestError("cannot sign a schema 1 manifest that does not end with a JSON object");
  let last = close - 1;
  while (last >= 0 && isSpace(payload[last] as number)) last--;
  if (last < 0 || payload[last] === 0x2c) throw new InvalidManifestError("cannot sign a schema 1 manifest with a trailing comma");
  const formatLength = last + 1;
  const formatTail = payload.subarray(formatLength);
  const indent = detectIndent(payload);

  const s = subtle();
  const keyPair =
    options.keyPair ?? ((await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair);
  const pub = await s.exportKey("jwk", keyPair.publicKey);
  if (pub.kty !== "EC" || pub.crv !== "P-256" || pub.x === undefined || pub.y === undefined) {
    throw new UnsupportedError("schema 1 manifests are signed with ECDSA P-256 keys only");
  }
  const kid = await libtrustKeyID(keyPair.publicKey);
  const time = (options.time ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  const protectedJSON = goObject([
    ["formatLength", String(formatLength)],
    ["formatTail", goQuote(encodeBase64Url(formatTail))],
    ["time", goQuote(time)],
  ]);
  const protectedB64 = encodeBase64Url(ascii.encode(protectedJSON));
  const signature = new Uint8Array(
    await s.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, ascii.encode(`${protectedB64}.${encodeBase64Url(payload)}`)),
  );
  const jwk = goObject([
    ["crv", goQuote("P-256")],
    ["kid", goQuote(kid)],
    ["kty", goQuote("EC")],
    ["x", goQuote(pub.x)],
    ["y", goQuote(pub.y)],
  ]);
  const signatures = goArray([0], () =>
    goObject([
      ["header", goObject([["jwk", jwk], ["alg", goQuote("ES256")]])],
      ["signature", goQuote(encodeBase64Url(signature))],
      ["protected", goQuote(protectedB64)],
    ]),
  );
  const suffix = indent
    ? `,\n${indent}"signatures": ${goIndent(signatures, indent, indent)}\n}`
    : `,"signatures":${signatures}}`;
  const tail = ascii.encode(suffix);
  const out = new Uint8Array(formatLength + tail.byteLength);
  out.set(payload.subarray(0, formatLength), 0);
  out.set(tail, formatLength);
  return out;
}
