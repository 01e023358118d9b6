import { scryptAsync } from "@noble/hashes/scrypt.js";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { isJsonObject, jsonTypeName, parseJsonStrictly, type JsonObject, type JsonValue } from "@stevedore/signature-simple";
import { InvalidConfigurationError, UnauthorizedError, UnsupportedError, throwIfAborted, utf8 } from "@stevedore/types";
import { DerError, DerReader, TAG, ecdsaDerToP1363, ecdsaP1363ToDer, encode, oidContents, oidText, readOne } from "./internal/der.js";
import { PemError, base64Decode, base64Encode, firstPemBlock, pemEncode } from "./internal/encoding.js";
import { own, randomBytes, subtle } from "./internal/webcrypto.js";

/** The PEM label cosign 2.x writes for an encrypted private key; read, and written on request. */
export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY";

/**
 * The older PEM label of an encrypted cosign private key. Every cosign
 * release and every containers/image version reads it (older
 * containers/image releases read only this one), so Stevedore writes it by
 * default.
 */
export const COSIGN_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY";

/** The kinds of keys sigstore signatures can be made and verified with here. */
export type SigstoreKeyType = "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "rsa" | "ed25519";

/** How Web Crypto handles one key type (the hash is always SHA-256, as in cosign). */
interface Algorithm {
  type: SigstoreKeyType;
  importParams: EcKeyImportParams | RsaHashedImportParams | NamedAlgorithm;
  signParams: EcdsaParams | NamedAlgorithm;
  /** Bytes of one ECDSA signature value (r or s) in IEEE P1363 form. */
  ecdsaSize?: number;
}
type NamedAlgorithm = { name: string };

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const OID_RSA = "1.2.840.113549.1.1.1";
const OID_ED25519 = "1.3.101.112";

const CURVES: Readonly<Record<string, { curve: string; type: SigstoreKeyType; size: number }>> = {
  "1.2.840.10045.3.1.7": { curve: "P-256", type: "ecdsa-p256", size: 32 },
  "1.3.132.0.34": { curve: "P-384", type: "ecdsa-p384", size: 48 },
  "1.3.132.0.35": { curve: "P-521", type: "ecdsa-p521", size: 66 },
};

/** Names of algorithms and curves that are recognised but not supported, for error messages. */
const KNOWN_UNSUPPORTED: Readonly<Record<string, string>> = {
  "1.3.101.113": "Ed448",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.10040.4.1": "DSA",
  "1.2.840.10045.3.1.1": "ECDSA P-192",
  "1.3.132.0.33": "ECDSA P-224",
  "1.3.132.0.10": "ECDSA secp256k1",
  "1.2.156.10197.1.301": "SM2",
};

const RSA_ALGORITHM: Algorithm = {
  type: "rsa",
  importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  signParams: { name: "RSASSA-PKCS1-v1_5" },
};
const ED25519_ALGORITHM: Algorithm = { type: "ed25519", importParams: { name: "Ed25519" }, signParams: { name: "Ed25519" } };

function unsupportedName(oid: string): string {
  return KNOWN_UNSUPPORTED[oid] ?? `the algorithm with OID ${oid}`;
}

/** The algorithm named by an AlgorithmIdentifier's contents. */
function algorithmOf(algId: Uint8Array, what: string): Algorithm {
  const r = new DerReader(algId);
  const oid = oidText(r.expect(TAG.OID, "an algorithm OID"));
  if (oid === OID_EC_PUBLIC_KEY) {
    const params = r.next();
    if (params.tag !== TAG.OID) throw new UnsupportedError(`${what}: ECDSA keys with explicit curve parameters are not supported; use a named curve (P-256)`);
    const curveOid = oidText(params.contents);
    const c = CURVES[curveOid];
    if (c === undefined) {
      const name = KNOWN_UNSUPPORTED[curveOid] ?? `ECDSA on the curve with OID ${curveOid}`;
      throw new UnsupportedError(`${what}: ${name} keys are not supported (supported: ECDSA P-256, P-384, P-521, RSA, Ed25519)`);
    }
    return { type: c.type, importParams: { name: "ECDSA", namedCurve: c.curve }, signParams: { name: "ECDSA", hash: "SHA-256" }, ecdsaSize: c.size };
  }
  if (oid === OID_RSA) return RSA_ALGORITHM;
  if (oid === OID_ED25519) return ED25519_ALGORITHM;
  throw new UnsupportedError(`${what}: ${unsupportedName(oid)} keys are not supported (supported: ECDSA P-256, P-384, P-521, RSA, Ed25519)`);
}

/** Wraps a Web Crypto import failure in the error a caller should see. */
function importFailure(e: unknown, what: string, alg: Algorithm): Error {
  const name = (e as { name?: string }).name;
  if (name === "NotSupportedError") {
    return new UnsupportedError(`${what}: this runtime's Web Crypto API does not support ${alg.type} keys`, { cause: e });
  }
  return new InvalidConfigurationError(`${what} is not a valid ${alg.type} key: ${(e as Error).message}`, { cause: e });
}

/**
 * A public key that verifies sigstore signatures: ECDSA (P-256, P-384,
 * P-521) with SHA-256 and ASN.1 DER signatures, RSA PKCS #1 v1.5 with
 * SHA-256, or Ed25519 — what cosign and containers/image accept.
 */
export interface SigstorePublicKey {
  readonly keyType: SigstoreKeyType;
  /** The SubjectPublicKeyInfo (DER) of the key. */
  readonly spki: Uint8Array;
  /**
   * Whether `signature` (raw bytes: ASN.1 DER for ECDSA) is a valid
   * signature of `payload` by this key. A malformed signature is simply
   * not valid (false), never an exception.
   */
  verify(signature: Uint8Array, payload: Uint8Array): Promise<boolean>;
}

/** Turns DerError/PemError into InvalidConfigurationError naming `what`. */
function configError(e: unknown, what: string): never {
  if (e instanceof DerError || e instanceof PemError) throw new InvalidConfigurationError(`${what}: ${e.message}`, { cause: e });
  throw e;
}

/** A PKCS #1 RSAPublicKey wrapped as SubjectPublicKeyInfo. */
function spkiOfPkcs1(pkcs1: Uint8Array): Uint8Array {
  const algId = encode(TAG.SEQUENCE, encode(TAG.OID, oidContents(OID_RSA)), encode(TAG.NULL));
  return encode(TAG.SEQUENCE, algId, encode(TAG.BIT_STRING, Uint8Array.of(0), pkcs1));
}

/**
 * Imports a public key from PEM text (or its UTF-8 bytes): a `PUBLIC KEY`
 * block (SubjectPublicKeyInfo, what `cosign generate-key-pair` writes) or
 * an `RSA PUBLIC KEY` block (PKCS #1). Only the first PEM block is read.
 * Throws InvalidConfigurationError for malformed data and UnsupportedError
 * naming the key type for keys that are not ECDSA P-256/P-384/P-521, RSA
 * or Ed25519. `what` names the key in messages (e.g. the file).
 */
export async function importSigstorePublicKey(pem: Uint8Array | string, what = "the public key"): Promise<SigstorePublicKey> {
  let spki: Uint8Array;
  let alg: Algorithm;
  try {
    const block = firstPemBlock(pem);
    if (block.type === "PUBLIC KEY") {
      spki = block.bytes;
    } else if (block.type === "RSA PUBLIC KEY") {
      readOne(block.bytes, TAG.SEQUENCE, "an RSAPublicKey SEQUENCE");
      spki = spkiOfPkcs1(block.bytes);
    } else {
      throw new InvalidConfigurationError(`${what}: a PEM block "${block.type}" is not a public key; expected "PUBLIC KEY"`);
    }
    const r = new DerReader(readOne(spki, TAG.SEQUENCE, "a SubjectPublicKeyInfo SEQUENCE"));
    alg = algorithmOf(r.expect(TAG.SEQUENCE, "an AlgorithmIdentifier"), what);
    r.expect(TAG.BIT_STRING, "the public key BIT STRING");
    r.end("the SubjectPublicKeyInfo");
  } catch (e) {
    configError(e, what);
  }
  let key: CryptoKey;
  try {
    key = await subtle().importKey("spki", own(spki), alg.importParams, true, ["verify"]);
  } catch (e) {
    throw importFailure(e, what, alg);
  }
  return publicKeyOf(key, alg, spki);
}

function publicKeyOf(key: CryptoKey, alg: Algorithm, spki: Uint8Array): SigstorePublicKey {
  return Object.freeze({
    keyType: alg.type,
    spki,
    async verify(signature: Uint8Array, payload: Uint8Array): Promise<boolean> {
      let sig = signature;
      if (alg.ecdsaSize !== undefined) {
        try {
          sig = ecdsaDerToP1363(signature, alg.ecdsaSize);
        } catch (e) {
          if (e instanceof DerError) return false;
          throw e;
        }
      }
      try {
        return await subtle().verify(alg.signParams, key, own(sig), own(payload));
      } catch {
        return false;
      }
    },
  });
}

/** The scrypt parameters accepted when decrypting (as go-securesystemslib: legacy, standard, OWASP). */
const ACCEPTED_SCRYPT: readonly { N: number; r: number; p: number }[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];

/** What cosign writes (and every version of containers/image can read). */
const DEFAULT_SCRYPT = { N: 32768, r: 8, p: 1 } as const;

const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const KEY_SIZE = 32;

async function deriveKey(passphrase: string, salt: Uint8Array, params: { N: number; r: number; p: number }, signal?: AbortSignal): Promise<Uint8Array> {
  throwIfAborted(signal);
  try {
    return await scryptAsync(utf8(passphrase), salt, {
      ...params,
      dkLen: KEY_SIZE,
      ...(signal ? { onProgress: () => throwIfAborted(signal) } : {}),
    });
  } finally {
    throwIfAborted(signal);
  }
}

/** Options of the encrypted-envelope functions. */
export interface EnvelopeOptions {
  signal?: AbortSignal;
}

/**
 * Encrypts `plaintext` with `passphrase` into the JSON envelope cosign uses
 * for private keys (go-securesystemslib's `encrypted` format): scrypt
 * (N=32768, r=8, p=1, 32-byte random salt) derives a key for NaCl secretbox
 * (XSalsa20-Poly1305, 24-byte random nonce):
 * `{"kdf":{"name":"scrypt","params":{"N":…,"r":…,"p":…},"salt":…},"cipher":{"name":"nacl/secretbox","nonce":…},"ciphertext":…}`.
 */
export async function encryptSigstoreEnvelope(plaintext: Uint8Array, passphrase: string, options: EnvelopeOptions = {}): Promise<Uint8Array> {
  const salt = randomBytes(SALT_SIZE);
  const nonce = randomBytes(NONCE_SIZE);
  const key = await deriveKey(passphrase, salt, DEFAULT_SCRYPT, options.signal);
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  key.fill(0);
  const doc = {
    kdf: { name: "scrypt", params: { N: DEFAULT_SCRYPT.N, r: DEFAULT_SCRYPT.r, p: DEFAULT_SCRYPT.p }, salt: base64Encode(salt) },
    cipher: { name: "nacl/secretbox", nonce: base64Encode(nonce) },
    ciphertext: base64Encode(ciphertext),
  };
  return utf8(JSON.stringify(doc));
}

function envelopeError(message: string): InvalidConfigurationError {
  return new InvalidConfigurationError(`invalid encrypted sigstore key: ${message}`);
}

function field(obj: JsonObject, key: string, where: string): JsonValue {
  if (!Object.prototype.hasOwnProperty.call(obj, key)) throw envelopeError(`missing "${key}" in ${where}`);
  return obj[key] as JsonValue;
}

function objectField(obj: JsonObject, key: string, where: string): JsonObject {
  const v = field(obj, key, where);
  if (!isJsonObject(v)) throw envelopeError(`${where}.${key} must be an object, not ${jsonTypeName(v)}`);
  return v;
}

function stringField(obj: JsonObject, key: string, where: string): string {
  const v = field(obj, key, where);
  if (typeof v !== "string") throw envelopeError(`${where}.${key} must be a string, not ${jsonTypeName(v)}`);
  return v;
}

function bytesField(obj: JsonObject, key: string, where: string): Uint8Array {
  const b = base64Decode(stringField(obj, key, where));
  if (b === undefined) throw envelopeError(`${where}.${key} is not valid base64`);
  return b;
}

function integerField(obj: JsonObject, key: string, where: string): number {
  const v = field(obj, key, where);
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw envelopeError(`${where}.${key} must be an integer`);
  return v;
}

/**
 * Decrypts a cosign key envelope (see {@link encryptSigstoreEnvelope}).
 * The scrypt parameters must be one of the sets cosign's libraries accept
 * (N = 32768, 65536 or 131072 with r=8, p=1), so that a tampered file
 * cannot make the derivation arbitrarily expensive. Throws
 * InvalidConfigurationError for a malformed envelope and UnauthorizedError
 * when the passphrase is wrong (or the ciphertext was altered).
 */
export async function decryptSigstoreEnvelope(envelope: Uint8Array | string, passphrase: string, options: EnvelopeOptions = {}): Promise<Uint8Array> {
  const doc = parseJsonStrictly(envelope, { error: (m) => envelopeError(m) });
  if (!isJsonObject(doc)) throw envelopeError(`the envelope must be a JSON object, not ${jsonTypeName(doc)}`);
  const kdf = objectField(doc, "kdf", "(top level)");
  const kdfName = stringField(kdf, "name", "kdf");
  if (kdfName !== "scrypt") throw envelopeError(`unknown key derivation function ${JSON.stringify(kdfName)} (expected "scrypt")`);
  const params = objectField(kdf, "params", "kdf");
  const N = integerField(params, "N", "kdf.params");
  const r = integerField(params, "r", "kdf.params");
  const p = integerField(params, "p", "kdf.params");
  const accepted = ACCEPTED_SCRYPT.find((a) => a.N === N && a.r === r && a.p === p);
  if (accepted === undefined) {
    throw envelopeError(`unsupported scrypt parameters N=${N}, r=${r}, p=${p} (accepted: N=32768, 65536 or 131072 with r=8, p=1)`);
  }
  const salt = bytesField(kdf, "salt", "kdf");
  const cipher = objectField(doc, "cipher", "(top level)");
  const cipherName = stringField(cipher, "name", "cipher");
  if (cipherName !== "nacl/secretbox") throw envelopeError(`unknown cipher ${JSON.stringify(cipherName)} (expected "nacl/secretbox")`);
  const nonce = bytesField(cipher, "nonce", "cipher");
  if (nonce.length !== NONCE_SIZE) throw envelopeError(`cipher.nonce must be ${NONCE_SIZE} bytes, not ${nonce.length}`);
  const ciphertext = bytesField(doc, "ciphertext", "(top level)");
  if (ciphertext.length < 16) throw envelopeError("the ciphertext is shorter than its authentication tag");
  const key = await deriveKey(passphrase, salt, accepted, options.signal);
  try {
    return xsalsa20poly1305(key, nonce).decrypt(ciphertext);
  } catch (e) {
    throw new UnauthorizedError("cannot decrypt the sigstore private key: wrong passphrase (or the encrypted key was altered)", { cause: e });
  } finally {
    key.fill(0);
  }
}

/** A decrypted private key that makes sigstore signatures. */
export interface SigstorePrivateKey {
  readonly keyType: SigstoreKeyType;
  /**
   * Signs `payload` as cosign does: ECDSA over SHA-256 with an ASN.1 DER
   * signature, RSA PKCS #1 v1.5 over SHA-256, or plain Ed25519. Returns the
   * raw signature bytes (store them base64-encoded).
   */
  sign(payload: Uint8Array): Promise<Uint8Array>;
  /** The matching public key as a `PUBLIC KEY` PEM block. */
  publicKeyPem(): Promise<string>;
}

/** The algorithm of a PKCS #8 PrivateKeyInfo. */
function pkcs8Algorithm(der: Uint8Array, what: string): Algorithm {
  const r = new DerReader(readOne(der, TAG.SEQUENCE, "a PKCS #8 PrivateKeyInfo SEQUENCE"));
  const version = r.expect(TAG.INTEGER, "the PKCS #8 version");
  const second = r.next();
  if (second.tag === TAG.OCTET_STRING && version.length === 1 && version[0] === 1) {
    throw new InvalidConfigurationError(
      `${what} holds an EC private key in SEC 1 form, not PKCS #8; cosign and containers/image do not accept it either: re-import it with "cosign import-key-pair"`,
    );
  }
  if (second.tag !== TAG.SEQUENCE) throw new DerError("expected a PKCS #8 AlgorithmIdentifier");
  if (!(version.length === 1 && (version[0] === 0 || version[0] === 1))) throw new DerError("unsupported PKCS #8 version");
  const alg = algorithmOf(second.contents, what);
  r.expect(TAG.OCTET_STRING, "the PKCS #8 private key OCTET STRING");
  return alg;
}

/** The SubjectPublicKeyInfo of the public half of `key` (exported through JWK). */
async function spkiOfPrivate(key: CryptoKey, alg: Algorithm): Promise<Uint8Array> {
  const jwk = await subtle().exportKey("jwk", key);
  const pub: JsonWebKey = { kty: jwk.kty as string, ext: true };
  if (jwk.kty === "EC") Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  else if (jwk.kty === "RSA") Object.assign(pub, { n: jwk.n, e: jwk.e, alg: "RS256" });
  else Object.assign(pub, { crv: jwk.crv, x: jwk.x });
  const publicKey = await subtle().importKey("jwk", pub, alg.importParams, true, ["verify"]);
  return new Uint8Array(await subtle().exportKey("spki", publicKey));
}

function privateKeyOf(key: CryptoKey, alg: Algorithm): SigstorePrivateKey {
  let pem: Promise<string> | undefined;
  return Object.freeze({
    keyType: alg.type,
    async sign(payload: Uint8Array): Promise<Uint8Array> {
      const sig = new Uint8Array(await subtle().sign(alg.signParams, key, own(payload)));
      return alg.ecdsaSize !== undefined ? ecdsaP1363ToDer(sig) : sig;
    },
    publicKeyPem(): Promise<string> {
      pem ??= spkiOfPrivate(key, alg).then((spki) => pemEncode("PUBLIC KEY", spki));
      return pem;
    },
  });
}

/** Options of {@link loadSigstorePrivateKey}. */
export interface LoadPrivateKeyOptions {
  /** Names the key in messages, e.g. its file name. */
  what?: string;
  signal?: AbortSignal;
}

/**
 * Decrypts a cosign private key: a PEM block `ENCRYPTED SIGSTORE PRIVATE
 * KEY` (or the older `ENCRYPTED COSIGN PRIVATE KEY`) holding the JSON
 * envelope of {@link decryptSigstoreEnvelope}, itself holding a PKCS #8
 * private key (ECDSA P-256 as `cosign generate-key-pair` makes; P-384,
 * P-521, RSA and Ed25519 work too). Throws InvalidConfigurationError for a
 * malformed file, UnauthorizedError for a wrong passphrase and
 * UnsupportedError for other key types.
 */
export async function loadSigstorePrivateKey(
  pem: Uint8Array | string,
  passphrase: string,
  options: LoadPrivateKeyOptions = {},
): Promise<SigstorePrivateKey> {
  const what = options.what ?? "the sigstore private key";
  let envelope: Uint8Array;
  try {
    const block = firstPemBlock(pem);
    if (block.type !== SIGSTORE_PRIVATE_KEY_PEM_TYPE && block.type !== COSIGN_PRIVATE_KEY_PEM_TYPE) {
      const hint = /PRIVATE KEY$/.test(block.type) ? ` (import an unencrypted key with "cosign import-key-pair" first)` : "";
      throw new InvalidConfigurationError(
        `${what}: a PEM block "${block.type}" is not an encrypted sigstore private key; expected "${SIGSTORE_PRIVATE_KEY_PEM_TYPE}" or "${COSIGN_PRIVATE_KEY_PEM_TYPE}"${hint}`,
      );
    }
    envelope = block.bytes;
  } catch (e) {
    configError(e, what);
  }
  let der: Uint8Array;
  try {
    der = await decryptSigstoreEnvelope(envelope, passphrase, options.signal ? { signal: options.signal } : {});
  } catch (e) {
    if (e instanceof InvalidConfigurationError) throw new InvalidConfigurationError(`${what}: ${e.message}`, { cause: e });
    if (e instanceof UnauthorizedError) throw new UnauthorizedError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
  let alg: Algorithm;
  try {
    alg = pkcs8Algorithm(der, what);
  } catch (e) {
    if (e instanceof DerError) throw new InvalidConfigurationError(`${what}: the decrypted data is not a PKCS #8 private key: ${e.message}`, { cause: e });
    throw e;
  }
  let key: CryptoKey;
  try {
    key = await subtle().importKey("pkcs8", own(der), alg.importParams, true, ["sign"]);
  } catch (e) {
    throw importFailure(e, what, alg);
  } finally {
    der.fill(0);
  }
  return privateKeyOf(key, alg);
}

/** Options of {@link generateSigstoreKeyPair}. */
export interface GenerateKeyPairOptions {
  /** The private key's PEM label; default {@link COSIGN_PRIVATE_KEY_PEM_TYPE}, which every cosign and containers/image reads. */
  pemType?: typeof SIGSTORE_PRIVATE_KEY_PEM_TYPE | typeof COSIGN_PRIVATE_KEY_PEM_TYPE;
  signal?: AbortSignal;
}

/** A new key pair in cosign's file formats. */
export interface SigstoreKeyPair {
  /** The encrypted private key (PEM text), as `cosign.key`. */
  privateKeyPem: string;
  /** The public key (`PUBLIC KEY` PEM text), as `cosign.pub`. */
  publicKeyPem: string;
}

/**
 * Makes a new ECDSA P-256 key pair, as `cosign generate-key-pair` and
 * `skopeo generate-sigstore-key` do: the private key as PKCS #8, encrypted
 * with `passphrase` (see {@link encryptSigstoreEnvelope}) in a PEM block;
 * the public key as a `PUBLIC KEY` PEM block.
 */
export async function generateSigstoreKeyPair(passphrase: string, options: GenerateKeyPairOptions = {}): Promise<SigstoreKeyPair> {
  throwIfAborted(options.signal);
  const s = subtle();
  const pair = await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await s.exportKey("pkcs8", pair.privateKey));
  const spki = new Uint8Array(await s.exportKey("spki", pair.publicKey));
  const envelope = await encryptSigstoreEnvelope(pkcs8, passphrase, options.signal ? { signal: options.signal } : {});
  pkcs8.fill(0);
  return {
    privateKeyPem: pemEncode(options.pemType ?? COSIGN_PRIVATE_KEY_PEM_TYPE, envelope),
    publicKeyPem: pemEncode("PUBLIC KEY", spki),
  };
}
