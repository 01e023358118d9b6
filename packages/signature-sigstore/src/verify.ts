import { InvalidConfigurationError, SignatureInvalidError, throwIfAborted, type Digest, type SigstoreSignature } from "@stevedore/types";
import { base64Decode } from "./internal/encoding.js";
import { importSigstorePublicKey, type SigstorePublicKey } from "./keys.js";
import { SIGSTORE_PAYLOAD_MIME_TYPE, SIGSTORE_SIGNATURE_ANNOTATION, parseSigstorePayload, type SigstorePayload } from "./payload.js";

/** A sigstore signature that verified: the claims of its (now trusted) payload. */
export interface VerifiedSigstoreSignature {
  /** The digest of the signed manifest; the caller must still check it against the manifest. */
  dockerManifestDigest: Digest;
  /** The identity the signature claims, as written; the caller must still check it. */
  dockerReference: string;
  /** The whole payload (creator and timestamp included). */
  payload: SigstorePayload;
  /** Which of the given public keys made the signature (index from 0). */
  keyIndex: number;
}

/**
 * Verifies a sigstore signature made with a key, in containers/image's
 * order: the MIME type and the signature annotation must be there, then the
 * signature must verify against one of `publicKeys` (over the payload
 * bytes exactly as stored), and only then is the payload parsed (strictly,
 * see `parseSigstorePayload`). Throws SignatureInvalidError with the
 * reason. The digest and identity it returns are NOT checked here: compare
 * them with the manifest and the expected identity (as `@stevedore/policy`
 * does), or use {@link createSigstoreVerifier} with a policy.
 */
export async function verifySigstoreSignature(
  signature: SigstoreSignature,
  publicKeys: readonly SigstorePublicKey[],
  options: { signal?: AbortSignal } = {},
): Promise<VerifiedSigstoreSignature> {
  throwIfAborted(options.signal);
  if (signature.format !== "sigstore-json") throw new SignatureInvalidError(`not a sigstore signature (format ${JSON.stringify(signature.format)})`);
  if (signature.untrustedMIMEType !== SIGSTORE_PAYLOAD_MIME_TYPE) {
    throw new SignatureInvalidError(
      `not a sigstore signature: the attachment's MIME type is ${JSON.stringify(signature.untrustedMIMEType)}, not ${JSON.stringify(SIGSTORE_PAYLOAD_MIME_TYPE)}`,
    );
  }
  if (publicKeys.length === 0) throw new InvalidConfigurationError("cannot verify a sigstore signature without any trusted public key");
  const annotations = signature.untrustedAnnotations;
  if (!Object.prototype.hasOwnProperty.call(annotations, SIGSTORE_SIGNATURE_ANNOTATION)) {
    throw new SignatureInvalidError(`missing ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  }
  const b64 = annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  const raw = typeof b64 === "string" ? base64Decode(b64) : undefined;
  if (raw === undefined) throw new SignatureInvalidError(`the ${SIGSTORE_SIGNATURE_ANNOTATION} annotation is not valid base64`);
  let keyIndex = -1;
  for (const [i, key] of publicKeys.entries()) {
    throwIfAborted(options.signal);
    if (await key.verify(raw, signature.untrustedPayload)) {
      keyIndex = i;
      break;
    }
  }
  if (keyIndex < 0) {
    const which = publicKeys.length === 1 ? "the trusted public key" : `any of the ${publicKeys.length} trusted public keys`;
    throw new SignatureInvalidError(`cryptographic signature verification failed: the signature does not match ${which}`);
  }
  const payload = parseSigstorePayload(signature.untrustedPayload);
  return { dockerManifestDigest: payload.dockerManifestDigest, dockerReference: payload.dockerReference, payload, keyIndex };
}

/**
 * A verifier of `sigstoreSigned` policy requirements; it has the shape of
 * `@stevedore/policy`'s `SigstoreVerifier` (pass it as the policy context's
 * `sigstoreVerifier`).
 */
export interface SigstoreKeyVerifier {
  /** Public keys only: Fulcio, Rekor and private-CA (pki) requirements are refused by the policy as not supported. */
  readonly capabilities: { readonly publicKeys: true; readonly fulcio: false; readonly rekor: false; readonly pki: false };
  /**
   * Verifies `signature` against `trust.publicKeys` (PEM bytes, as the
   * policy read them from `keyPath`/`keyPaths`/`keyData`/`keyDatas`) and
   * returns its claims; the policy then checks digest and identity. A
   * malformed key throws InvalidConfigurationError naming it; a signature
   * that does not verify throws SignatureInvalidError.
   */
  verify(
    signature: SigstoreSignature,
    trust: { readonly publicKeys: readonly Uint8Array[]; readonly requirement?: { readonly keyPath?: string; readonly keyPaths?: readonly string[] } },
    options?: { signal?: AbortSignal },
  ): Promise<VerifiedSigstoreSignature>;
}

/**
 * Makes the sigstore verifier for `@stevedore/policy`
 * (`createPolicyContext(policy, { sigstoreVerifier: createSigstoreVerifier() })`).
 * Imported keys are cached per key buffer.
 */
export function createSigstoreVerifier(): SigstoreKeyVerifier {
  const cache = new WeakMap<Uint8Array, Promise<SigstorePublicKey>>();
  function load(bytes: Uint8Array, what: string): Promise<SigstorePublicKey> {
    let p = cache.get(bytes);
    if (p === undefined) {
      p = importSigstorePublicKey(bytes, what);
      cache.set(bytes, p);
    }
    return p;
  }
  return Object.freeze({
    capabilities: Object.freeze({ publicKeys: true, fulcio: false, rekor: false, pki: false } as const),
    async verify(
      signature: SigstoreSignature,
      trust: { readonly publicKeys: readonly Uint8Array[]; readonly requirement?: { readonly keyPath?: string; readonly keyPaths?: readonly string[] } },
      options: { signal?: AbortSignal } = {},
    ): Promise<VerifiedSigstoreSignature> {
      throwIfAborted(options.signal);
      const paths = trust.requirement?.keyPaths ?? (trust.requirement?.keyPath !== undefined ? [trust.requirement.keyPath] : undefined);
      const keys = await Promise.all(
        trust.publicKeys.map((bytes, i) => {
          const path = paths?.[i];
          const what = path !== undefined ? `the public key ${path}` : trust.publicKeys.length === 1 ? "the public key" : `public key ${i + 1}`;
          return load(bytes, what);
        }),
      );
      if (keys.length === 0) throw new InvalidConfigurationError("the sigstoreSigned requirement has no public keys (Fulcio and pki trust roots are not supported)");
      return verifySigstoreSignature(signature, keys, options);
    },
  });
}
