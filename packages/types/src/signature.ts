import { SignatureInvalidError } from "./errors.js";
import { fromUtf8, utf8 } from "./stream.js";

/** A "simple signing" signature: an OpenPGP signed message of the simple-signing payload. */
export interface SimpleSigningSignature {
  readonly format: "simple-signing";
  /** The OpenPGP bytes, untrusted until verified. */
  readonly untrustedSignature: Uint8Array;
}

/** A sigstore (cosign) signature: a payload and annotations holding the signature. */
export interface SigstoreSignature {
  readonly format: "sigstore-json";
  /** Usually `application/vnd.dev.cosign.simplesigning.v1+json`. */
  readonly untrustedMIMEType: string;
  /** The payload bytes, untrusted until verified. */
  readonly untrustedPayload: Uint8Array;
  /** Layer annotations, including `dev.cosignproject.cosign/signature`. */
  readonly untrustedAnnotations: Readonly<Record<string, string>>;
}

/** A signature as transports store and return it. */
export type Signature = SimpleSigningSignature | SigstoreSignature;

function b64encode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
function b64decode(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Serialises a signature in the storage format of the `dir` transport and of
 * lookaside storage: simple-signing signatures as their raw OpenPGP bytes;
 * other formats as a 0x00 byte, the format name, a newline, and the data.
 */
export function encodeSignatureBlob(sig: Signature): Uint8Array {
  if (sig.format === "simple-signing") return sig.untrustedSignature;
  const json = JSON.stringify({
    mimeType: sig.untrustedMIMEType,
    payload: b64encode(sig.untrustedPayload),
    annotations: sig.untrustedAnnotations,
  });
  const head = utf8(`\0${sig.format}\n`);
  const body = utf8(json);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Parses the storage format written by {@link encodeSignatureBlob}. `what` names the file in errors. */
export function decodeSignatureBlob(blob: Uint8Array, what = "signature"): Signature {
  if (blob.length === 0) throw new SignatureInvalidError(`${what} is empty`);
  if (blob[0] !== 0) return { format: "simple-signing", untrustedSignature: blob };
  const nl = blob.indexOf(0x0a);
  if (nl < 0) throw new SignatureInvalidError(`${what}: missing format name terminator`);
  const format = fromUtf8(blob.subarray(1, nl));
  if (format !== "sigstore-json") {
    throw new SignatureInvalidError(`${what}: unsupported signature format "${format}"`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(blob.subarray(nl + 1)));
  } catch (e) {
    throw new SignatureInvalidError(`${what}: invalid sigstore-json data`, { cause: e });
  }
  const o = parsed as { mimeType?: unknown; payload?: unknown; annotations?: unknown };
  if (
    typeof o !== "object" || o === null ||
    typeof o.mimeType !== "string" || typeof o.payload !== "string" ||
    typeof o.annotations !== "object" || o.annotations === null ||
    Object.values(o.annotations).some((v) => typeof v !== "string")
  ) {
    throw new SignatureInvalidError(`${what}: sigstore-json data must have string "mimeType", base64 "payload" and string "annotations"`);
  }
  let payload: Uint8Array;
  try {
    payload = b64decode(o.payload);
  } catch (e) {
    throw new SignatureInvalidError(`${what}: payload is not base64`, { cause: e });
  }
  return {
    format: "sigstore-json",
    untrustedMIMEType: o.mimeType,
    untrustedPayload: payload,
    untrustedAnnotations: o.annotations as Record<string, string>,
  };
}

/** Options of {@link SignatureMechanism.sign}. */
export interface SignOptions {
  /** Passphrase of the private key (without a trailing newline). */
  passphrase?: string;
  signal?: AbortSignal;
}

/** What a successful verification yields. */
export interface VerifiedSignature {
  /** The signed contents (the payload). */
  contents: Uint8Array;
  /** The full fingerprint of the key that made the signature, uppercase hex. */
  keyIdentity: string;
}

/**
 * An OpenPGP signing/verifying backend (openpgp.js, a gpg subprocess, ...).
 * Mechanisms are made by a {@link SignatureMechanismProvider}.
 */
export interface SignatureMechanism {
  /** Throws `UnsupportedError` when this mechanism cannot sign. */
  supportsSigning(): Promise<void>;
  /** Signs `input` with the key `keyIdentity` (fingerprint or key ID); returns an OpenPGP signed message. */
  sign(input: Uint8Array, keyIdentity: string, options?: SignOptions): Promise<Uint8Array>;
  /**
   * Verifies a signed message against the mechanism's keys. Throws
   * `SignatureInvalidError` (with the reason) when it does not verify.
   */
  verify(unverifiedSignature: Uint8Array, options?: { signal?: AbortSignal }): Promise<VerifiedSignature>;
  /**
   * The contents and the short key ID of a signed message WITHOUT verifying
   * it: never trust them, use only for diagnostics.
   */
  untrustedSignatureContents(untrustedSignature: Uint8Array): Promise<{ contents: Uint8Array; shortKeyIdentifier: string }>;
  /** Releases resources (temporary keyrings). */
  close(): Promise<void>;
}

/** Makes signature mechanisms; one per backend package. */
export interface SignatureMechanismProvider {
  /** The backend's name, e.g. `openpgp` or `gpg`. */
  readonly name: string;
  /**
   * A mechanism over the user's keys: for gpg the keyring in `homeDir` or
   * GNUPGHOME; for openpgp the given armored/binary private and public keys.
   */
  newMechanism(options?: { homeDir?: string; keys?: readonly Uint8Array[] }): Promise<SignatureMechanism>;
  /**
   * A mechanism that trusts exactly the public keys in `keyBlobs` and nothing
   * else, with the fingerprints of those keys.
   */
  newEphemeralMechanism(keyBlobs: readonly Uint8Array[]): Promise<{ mechanism: SignatureMechanism; keyIdentities: string[] }>;
}

