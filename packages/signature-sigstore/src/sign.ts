import { manifestDigest } from "@stevedore/manifest";
import { parseNormalizedNamed } from "@stevedore/reference";
import { throwIfAborted, type DockerReference, type SigstoreSignature } from "@stevedore/types";
import { base64Encode } from "./internal/encoding.js";
import { loadSigstorePrivateKey, type SigstorePrivateKey } from "./keys.js";
import { SIGSTORE_PAYLOAD_MIME_TYPE, SIGSTORE_SIGNATURE_ANNOTATION, createSigstorePayload } from "./payload.js";

/** Options of {@link signSigstore} and {@link signSigstoreWithKey}. */
export interface SignSigstoreOptions {
  /** `optional.creator`; default `Stevedore <version>`; `null` leaves it out. */
  creator?: string | null;
  /** `optional.timestamp` in integer seconds; default now; `null` leaves it out. */
  timestamp?: number | null;
  signal?: AbortSignal;
}

/** The identity text a signature claims: the normalised full form, as containers/image writes it. */
function identityText(ref: string | DockerReference): string {
  return parseNormalizedNamed(typeof ref === "string" ? ref : ref.toString()).toString();
}

/**
 * Signs `manifest` for `dockerReference` with an already decrypted key:
 * the payload names the manifest's digest (`@stevedore/manifest`'s
 * `manifestDigest`, i.e. of the JWS payload for signed schema 1) and the
 * normalised reference (`busybox` → `docker.io/library/busybox`); the
 * signature goes base64-encoded into the `dev.cosignproject.cosign/signature`
 * annotation. Returns a `sigstore-json` signature ready for a destination's
 * `putSignatures`.
 */
export async function signSigstoreWithKey(
  manifest: Uint8Array,
  dockerReference: string | DockerReference,
  key: SigstorePrivateKey,
  options: SignSigstoreOptions = {},
): Promise<SigstoreSignature> {
  throwIfAborted(options.signal);
  const payload = createSigstorePayload({
    dockerManifestDigest: manifestDigest(manifest),
    dockerReference: identityText(dockerReference),
    ...(options.creator !== undefined ? { creator: options.creator } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  const signature = await key.sign(payload);
  throwIfAborted(options.signal);
  return {
    format: "sigstore-json",
    untrustedMIMEType: SIGSTORE_PAYLOAD_MIME_TYPE,
    untrustedPayload: payload,
    untrustedAnnotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: base64Encode(signature) },
  };
}

/**
 * Signs `manifest` for `dockerReference` with the cosign private key
 * `privateKeyPem` (decrypted with `passphrase`; see
 * `loadSigstorePrivateKey`), as `skopeo copy --sign-by-sigstore-private-key`
 * does. To sign several manifests, decrypt the key once with
 * {@link createSigstoreSigner} instead: the key derivation is deliberately slow.
 */
export async function signSigstore(
  manifest: Uint8Array,
  dockerReference: string | DockerReference,
  privateKeyPem: Uint8Array | string,
  passphrase: string,
  options: SignSigstoreOptions = {},
): Promise<SigstoreSignature> {
  const key = await loadSigstorePrivateKey(privateKeyPem, passphrase, options.signal ? { signal: options.signal } : {});
  return signSigstoreWithKey(manifest, dockerReference, key, options);
}

/** Signs manifests with one decrypted key; fits `@stevedore/copy`'s `Signer`. */
export interface SigstoreSigner {
  /** For progress messages, e.g. `sigstore key cosign.key`. */
  readonly description: string;
  /** The decrypted key. */
  readonly key: SigstorePrivateKey;
  /** Signs `manifest` for `identity` (see {@link signSigstoreWithKey}). */
  sign(manifest: Uint8Array, identity: string | DockerReference, options?: { signal?: AbortSignal }): Promise<SigstoreSignature>;
}

/** Options of {@link createSigstoreSigner}. */
export interface CreateSigstoreSignerOptions {
  /** Names the key in messages and in `description`, e.g. its file name. */
  what?: string;
  /** Passed on to every signature: `optional.creator`. */
  creator?: string | null;
  signal?: AbortSignal;
}

/**
 * Decrypts `privateKeyPem` once and returns a signer for many manifests,
 * e.g. every instance of a multi-architecture copy.
 */
export async function createSigstoreSigner(
  privateKeyPem: Uint8Array | string,
  passphrase: string,
  options: CreateSigstoreSignerOptions = {},
): Promise<SigstoreSigner> {
  const what = options.what ?? "the sigstore private key";
  const key = await loadSigstorePrivateKey(privateKeyPem, passphrase, { what, ...(options.signal ? { signal: options.signal } : {}) });
  return Object.freeze({
    description: options.what !== undefined ? `sigstore key ${options.what}` : "a sigstore key",
    key,
    sign(manifest: Uint8Array, identity: string | DockerReference, o: { signal?: AbortSignal } = {}) {
      return signSigstoreWithKey(manifest, identity, key, {
        ...(options.creator !== undefined ? { creator: options.creator } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    },
  });
}
