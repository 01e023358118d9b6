import type { Key, Message, PrivateKey, Subkey } from "openpgp";
import {
  InvalidConfigurationError,
  SignatureInvalidError,
  SizeLimits,
  UnauthorizedError,
  UnsupportedError,
  throwIfAborted,
  type SignatureMechanism,
  type SignOptions,
  type VerifiedSignature,
} from "@stevedore/types";
import { findSigningKey, fingerprintOf, keyIdHex } from "./internal/keys.js";
import { loadOpenPgp, type OpenPgpModule } from "./internal/load.js";

/** OpenPGP packet tags that mean "encrypted", which a signed message must not contain. */
const ENCRYPTED_TAGS = new Set([1, 3, 9, 18, 20]);

/** Message hash algorithms refused for signatures (as openpgp.js's defaults; `@stevedore/signature-gpg` matches). */
const WEAK_HASHES: Readonly<Record<number, string>> = { 1: "MD5", 2: "SHA1", 3: "RIPEMD160" };

/** Checks the cheap, format-level properties every mechanism refuses the same way. */
export function checkSignatureBytes(sig: Uint8Array): void {
  if (sig.length === 0) throw new SignatureInvalidError("invalid signature: the data is empty");
  if (sig.length > SizeLimits.signature) {
    throw new SignatureInvalidError(`invalid signature: ${sig.length} bytes is more than the limit of ${SizeLimits.signature}`);
  }
  if (((sig[0] ?? 0) & 0x80) === 0) {
    throw new SignatureInvalidError("invalid signature: not a binary OpenPGP message (ASCII armor and clear-signed text are not accepted)");
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Parses `sig` as a binary OpenPGP message and returns its decompressed form
 * with exactly one literal data packet; throws SignatureInvalidError otherwise.
 */
async function readSignedMessage(pgp: OpenPgpModule, sig: Uint8Array): Promise<Message<Uint8Array>> {
  checkSignatureBytes(sig);
  let msg: Message<Uint8Array>;
  try {
    // A small compressed message may expand enormously: bound the signed contents.
    const config = { maxDecompressedMessageSize: SizeLimits.signature };
    msg = (await pgp.readMessage({ binaryMessage: sig, config })).unwrapCompressed();
  } catch (e) {
    throw new SignatureInvalidError(`invalid signature: not valid OpenPGP data (${message(e)})`, { cause: e });
  }
  const tags = msg.packets.map((p) => (p.constructor as unknown as { tag: number }).tag);
  if (tags.some((t) => ENCRYPTED_TAGS.has(t))) {
    throw new SignatureInvalidError("invalid signature: the OpenPGP message is encrypted, not signed");
  }
  const literals = msg.packets.filterByTag(pgp.enums.packet.literalData).length;
  if (literals !== 1) {
    throw new SignatureInvalidError(`invalid signature: expected one literal data packet in the OpenPGP message, found ${literals}`);
  }
  return msg;
}

/**
 * The number of signatures in a message: one-pass signature packets (whose
 * trailing signature packets openpgp.js links to them instead of listing)
 * plus signature packets that precede the literal data.
 */
function signatureCount(pgp: OpenPgpModule, msg: Message<Uint8Array>): number {
  return (
    msg.packets.filterByTag(pgp.enums.packet.onePassSignature).length + msg.packets.filterByTag(pgp.enums.packet.signature).length
  );
}

/** Options of {@link OpenPgpMechanism}. */
export interface OpenPgpMechanismOptions {
  /** Keys trusted for verification (public keys, or private keys whose public part is used). */
  verificationKeys: readonly Key[];
  /** Private keys available for signing. */
  signingKeys: readonly PrivateKey[];
}

/**
 * A {@link SignatureMechanism} on openpgp.js: pure JavaScript, runs in
 * browsers. Signatures are binary OpenPGP signed messages (one-pass
 * signature, literal data, signature), the format `gpg --sign` and skopeo
 * produce. Made by {@link openpgpMechanismProvider}.
 */
export class OpenPgpMechanism implements SignatureMechanism {
  readonly #verificationKeys: readonly Key[];
  readonly #signingKeys: readonly PrivateKey[];
  #closed = false;

  /** Use {@link openpgpMechanismProvider} instead of constructing one directly. */
  constructor(options: OpenPgpMechanismOptions) {
    this.#verificationKeys = options.verificationKeys.map((k) => (k.isPrivate() ? k.toPublic() : k));
    this.#signingKeys = options.signingKeys;
  }

  #checkOpen(): void {
    if (this.#closed) throw new UnsupportedError("this openpgp signature mechanism has been closed");
  }

  /** Resolves when the mechanism holds at least one private key; throws UnsupportedError otherwise. */
  async supportsSigning(): Promise<void> {
    this.#checkOpen();
    if (this.#signingKeys.length === 0) {
      throw new UnsupportedError("signing is not supported by this openpgp mechanism: it was given no private keys");
    }
  }

  /**
   * Signs `input` with the private key `keyIdentity` names (fingerprint, key
   * ID, `<email>` or user ID, as `gpg --local-user`). A wrong or missing
   * passphrase of a protected key throws UnauthorizedError; an identity that
   * names no private key throws InvalidConfigurationError.
   */
  async sign(input: Uint8Array, keyIdentity: string, options: SignOptions = {}): Promise<Uint8Array> {
    this.#checkOpen();
    throwIfAborted(options.signal);
    const pgp = await loadOpenPgp();
    const choice = findSigningKey(this.#signingKeys, keyIdentity);
    if (!choice) {
      throw new InvalidConfigurationError(`no private key for signing identity "${keyIdentity}" is available to the openpgp mechanism`);
    }
    let key = choice.key;
    const fpr = fingerprintOf(key);
    if (!key.isDecrypted()) {
      if (options.passphrase === undefined || options.passphrase === "") {
        throw new UnauthorizedError(`the private key ${fpr} is protected by a passphrase, and none was given`);
      }
      try {
        key = await pgp.decryptKey({ privateKey: key, passphrase: options.passphrase });
      } catch (e) {
        throw new UnauthorizedError(`cannot unlock the private key ${fpr}: wrong passphrase`, { cause: e });
      }
    }
    throwIfAborted(options.signal);
    try {
      const msg = await pgp.createMessage({ binary: input, format: "binary" });
      return await pgp.sign({
        message: msg,
        signingKeys: key,
        ...(choice.keyID ? { signingKeyIDs: [choice.keyID] } : {}),
        format: "binary",
      });
    } catch (e) {
      throw new InvalidConfigurationError(`cannot sign with the key ${fpr}: ${message(e)}`, { cause: e });
    }
  }

  /**
   * Verifies a signed message against the trusted keys and returns the
   * signed contents and the primary key fingerprint of the signer (also when
   * a subkey made the signature, as gpg reports it). Rejects, with
   * SignatureInvalidError and the reason: data that is not one signed binary
   * OpenPGP message, a signature count other than one, an unknown key, a
   * bad signature, a key that is expired or revoked now, an expired
   * signature, and weak algorithms.
   */
  async verify(unverifiedSignature: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<VerifiedSignature> {
    this.#checkOpen();
    throwIfAborted(options.signal);
    const pgp = await loadOpenPgp();
    const msg = await readSignedMessage(pgp, unverifiedSignature);
    const count = signatureCount(pgp, msg);
    if (count === 0) throw new SignatureInvalidError("invalid signature: the OpenPGP message is not signed");
    if (count !== 1) throw new SignatureInvalidError(`invalid signature: expected exactly one signature, found ${count}`);

    const [signedByID] = msg.getSigningKeyIDs();
    if (!signedByID) throw new SignatureInvalidError("invalid signature: the OpenPGP message is not signed");
    const keyID = keyIdHex(signedByID);
    let signer: Key | undefined;
    let signingKey: Key | Subkey | undefined;
    for (const k of this.#verificationKeys) {
      const found = k.getKeys(signedByID)[0];
      if (found) {
        signer = k;
        signingKey = found;
        break;
      }
    }
    if (!signer || !signingKey) {
      throw new SignatureInvalidError(`invalid signature: signed by unknown key ID ${keyID} (no trusted public key has that ID)`);
    }
    const fpr = fingerprintOf(signer);

    // Cryptographic check first. The date `null` skips openpgp.js's "created
    // in the future" and expiry checks, which are made below against the
    // current time the way gpg makes them.
    let contents: Uint8Array;
    let sigPacket: { created: Date | null; hashAlgorithm: number; getExpirationTime(): Date | number };
    try {
      const result = await pgp.verify({ message: msg, verificationKeys: [signer], format: "binary", date: null as unknown as Date });
      const first = result.signatures[0];
      if (!first || result.signatures.length !== 1) {
        throw new SignatureInvalidError(`invalid signature: expected exactly one signature, found ${result.signatures.length}`);
      }
      await first.verified;
      const s = (await first.signature).packets[0];
      if (!s) throw new SignatureInvalidError("invalid signature: the signature packet is missing");
      sigPacket = s as unknown as typeof sigPacket;
      contents = result.data;
    } catch (e) {
      if (e instanceof SignatureInvalidError) throw e;
      const m = message(e);
      if (/did not match|verification failed/i.test(m)) {
        throw new SignatureInvalidError(`invalid signature: bad signature by key ID ${keyID} (the signed data or the signature was modified)`, { cause: e });
      }
      const weak = /insecure message hash algorithm: (\w+)/i.exec(m);
      if (weak) throw new SignatureInvalidError(`invalid signature: made with the weak hash algorithm ${weak[1]}`, { cause: e });
      if (/key/i.test(m)) throw classifyKeyProblem(e, fpr, keyID);
      throw new SignatureInvalidError(`invalid signature: ${m}`, { cause: e });
    }
    const weakHash = WEAK_HASHES[sigPacket.hashAlgorithm];
    if (weakHash) throw new SignatureInvalidError(`invalid signature: made with the weak hash algorithm ${weakHash}`);

    const now = new Date();
    // The key must be valid now, not only when it signed (gpg reports EXPKEYSIG/REVKEYSIG otherwise).
    try {
      await signer.verifyPrimaryKey(now);
      await signer.getSigningKey(signedByID, now);
    } catch (e) {
      throw classifyKeyProblem(e, fpr, keyID);
    }
    const expires = sigPacket.getExpirationTime();
    if (expires instanceof Date && expires <= now) {
      throw new SignatureInvalidError(`invalid signature: the signature by key ${fpr} expired at ${expires.toISOString()}`);
    }
    return { contents, keyIdentity: fpr };
  }

  /**
   * The contents and the signing key ID (16 uppercase hex digits) of a signed
   * message, WITHOUT verifying anything. Never base a decision on them.
   */
  async untrustedSignatureContents(untrustedSignature: Uint8Array): Promise<{ contents: Uint8Array; shortKeyIdentifier: string }> {
    this.#checkOpen();
    const pgp = await loadOpenPgp();
    const msg = await readSignedMessage(pgp, untrustedSignature);
    const [id] = msg.getSigningKeyIDs();
    if (!id || signatureCount(pgp, msg) === 0) throw new SignatureInvalidError("invalid signature: the OpenPGP message is not signed");
    const contents = msg.getLiteralData();
    if (!contents) throw new SignatureInvalidError("invalid signature: the OpenPGP message has no literal data");
    return { contents, shortKeyIdentifier: keyIdHex(id) };
  }

  /** Forgets the keys; the mechanism cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}

function classifyKeyProblem(e: unknown, fpr: string, keyID: string): SignatureInvalidError {
  const m = message(e);
  if (/revoked/i.test(m)) return new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) has been revoked`, { cause: e });
  if (/expired/i.test(m)) return new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) has expired`, { cause: e });
  return new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) cannot be used to verify it: ${m}`, { cause: e });
}
