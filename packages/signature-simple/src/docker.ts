import { manifestDigest, matchesDigest } from "@stevedore/manifest";
import { parseNormalizedNamed } from "@stevedore/reference";
import {
  SignatureInvalidError,
  UnauthorizedError,
  throwIfAborted,
  type Digest,
  type DockerReference,
  type SignatureMechanism,
} from "@stevedore/types";
import { createSimpleSigningPayload, parseSimpleSigningPayload, type SimpleSigningPayload } from "./payload.js";

/**
 * How {@link verifyAndExtractSimpleSignature} decides whether a signature
 * is acceptable. Each check throws (usually SignatureInvalidError or
 * PolicyRejectedError) to refuse; they run in this order, each only after
 * the previous one passed: key identity, manifest digest, docker reference.
 */
export interface SignatureAcceptanceRules {
  /** Accepts or refuses the fingerprint of the key that made the (cryptographically valid) signature. */
  validateKeyIdentity(keyIdentity: string): void | Promise<void>;
  /** Accepts or refuses the manifest digest the signature claims. */
  validateSignedDockerManifestDigest(digest: Digest): void | Promise<void>;
  /** Accepts or refuses the docker reference the signature claims (as written in the payload). */
  validateSignedDockerReference(dockerReference: string): void | Promise<void>;
}

/** A signature that has been verified and accepted. */
export interface VerifiedSimpleSignature {
  /** The digest of the signed manifest. */
  dockerManifestDigest: Digest;
  /** The identity the signature claims, as written in the payload. */
  dockerReference: string;
  /** The full fingerprint of the signing key, uppercase hex. */
  keyIdentity: string;
  /** The whole payload (creator and timestamp included). */
  payload: SimpleSigningPayload;
}

/**
 * Verifies `signature` with `mechanism` and applies `rules`: the
 * cryptographic check comes FIRST, then the signer's key must be accepted,
 * and only then is the payload parsed (strictly) and its digest and
 * identity checked. Any failure throws; nothing of the payload is returned
 * before every check passed.
 */
export async function verifyAndExtractSimpleSignature(
  mechanism: SignatureMechanism,
  signature: Uint8Array,
  rules: SignatureAcceptanceRules,
  options: { signal?: AbortSignal } = {},
): Promise<VerifiedSimpleSignature> {
  const verified = await mechanism.verify(signature, options.signal ? { signal: options.signal } : {});
  await rules.validateKeyIdentity(verified.keyIdentity);
  const payload = parseSimpleSigningPayload(verified.contents);
  await rules.validateSignedDockerManifestDigest(payload.dockerManifestDigest);
  await rules.validateSignedDockerReference(payload.dockerReference);
  return {
    dockerManifestDigest: payload.dockerManifestDigest,
    dockerReference: payload.dockerReference,
    keyIdentity: verified.keyIdentity,
    payload,
  };
}

function referenceText(ref: string | DockerReference): string {
  return typeof ref === "string" ? ref : ref.toString();
}

/** Options of {@link signDockerManifest}. */
export interface SignDockerManifestOptions {
  /** Passphrase of the signing key (without a line break). */
  passphrase?: string;
  /** `optional.creator`; default `Stevedore <version>`; `null` leaves it out. */
  creator?: string | null;
  /** `optional.timestamp` in integer seconds; default now; `null` leaves it out. */
  timestamp?: number | null;
  signal?: AbortSignal;
}

/**
 * Makes a simple-signing signature of `manifest` (its digest, computed as
 * `@stevedore/manifest` does, i.e. of the JWS payload for signed schema1)
 * claiming `dockerReference`, signed by `keyIdentity` through `mechanism`.
 * Returns the OpenPGP signed message, ready to store as a signature blob.
 */
export async function signDockerManifest(
  manifest: Uint8Array,
  dockerReference: string | DockerReference,
  mechanism: SignatureMechanism,
  keyIdentity: string,
  options: SignDockerManifestOptions = {},
): Promise<Uint8Array> {
  throwIfAborted(options.signal);
  if (options.passphrase !== undefined && /[\r\n]/.test(options.passphrase)) {
    // gpg reads passphrases line by line: refuse for every mechanism alike.
    throw new UnauthorizedError("invalid passphrase: it must not contain a line break");
  }
  const payload = createSimpleSigningPayload({
    dockerManifestDigest: await manifestDigest(manifest),
    dockerReference: referenceText(dockerReference),
    ...(options.creator !== undefined ? { creator: options.creator } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  return mechanism.sign(payload, keyIdentity, {
    ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * Checks that `signature` was made by one of `expectedKeyIdentities`
 * (fingerprints) for `manifest` as `expectedDockerReference`, using
 * `mechanism`: crypto first, then the key, then the payload (strictly),
 * then the digest (`@stevedore/manifest`'s matchesDigest, schema1 aware),
 * then the identity (both sides normalised, compared exactly). Throws
 * SignatureInvalidError with the reason; InvalidReferenceError when
 * `expectedDockerReference` itself is invalid.
 */
export async function verifyDockerManifestSignature(
  signature: Uint8Array,
  manifest: Uint8Array,
  expectedDockerReference: string | DockerReference,
  mechanism: SignatureMechanism,
  expectedKeyIdentities: string | readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<VerifiedSimpleSignature> {
  const expectedText = referenceText(expectedDockerReference);
  const expected = parseNormalizedNamed(expectedText);
  const keys = (typeof expectedKeyIdentities === "string" ? [expectedKeyIdentities] : [...expectedKeyIdentities]).map((k) => k.toUpperCase());
  return verifyAndExtractSimpleSignature(
    mechanism,
    signature,
    {
      validateKeyIdentity(keyIdentity) {
        if (!keys.includes(keyIdentity.toUpperCase())) {
          throw new SignatureInvalidError(`the signature by key ${keyIdentity} does not match the expected keys ${keys.join(", ") || "(none)"}`);
        }
      },
      async validateSignedDockerManifestDigest(digest) {
        if (!(await matchesDigest(manifest, digest))) {
          throw new SignatureInvalidError(`the signature is for the manifest digest ${digest}, which does not match the manifest`);
        }
      },
      validateSignedDockerReference(signed) {
        let signedRef: DockerReference;
        try {
          signedRef = parseNormalizedNamed(signed);
        } catch (e) {
          throw new SignatureInvalidError(`invalid docker reference ${JSON.stringify(signed)} in the signature`, { cause: e });
        }
        if (signedRef.toString() !== expected.toString()) {
          throw new SignatureInvalidError(`the signature's docker reference ${JSON.stringify(signed)} does not match ${JSON.stringify(expectedText)}`);
        }
      },
    },
    options,
  );
}

/** What a signature claims, read WITHOUT verifying it: for diagnostics only, never for decisions. */
export interface UntrustedSignatureInformation {
  untrustedDockerManifestDigest: Digest;
  untrustedDockerReference: string;
  untrustedCreator?: string;
  untrustedTimestamp?: Date;
  /** The key ID (16 hex digits) the signature names; not a key identity. */
  untrustedShortKeyIdentifier: string;
}

/**
 * Reads a simple signature's payload and key ID WITHOUT any cryptographic
 * verification (e.g. to list the signatures of an image). Never base a
 * security decision on the result. Throws SignatureInvalidError when the
 * data is not a signed message or its payload is malformed.
 */
export async function untrustedSignatureInformation(
  signature: Uint8Array,
  mechanism: SignatureMechanism,
): Promise<UntrustedSignatureInformation> {
  const { contents, shortKeyIdentifier } = await mechanism.untrustedSignatureContents(signature);
  const p = parseSimpleSigningPayload(contents);
  return {
    untrustedDockerManifestDigest: p.dockerManifestDigest,
    untrustedDockerReference: p.dockerReference,
    ...(p.creator !== undefined ? { untrustedCreator: p.creator } : {}),
    ...(p.timestamp !== undefined ? { untrustedTimestamp: new Date(p.timestamp * 1000) } : {}),
    untrustedShortKeyIdentifier: shortKeyIdentifier,
  };
}
