import { manifestDigest, matchesDigest } from "@stevedore/manifest";
import {
  DigestMismatchError,
  imageName,
  type Digest,
  type ImageReference,
  type ImageSource,
  type IoOptions,
  type RawManifest,
  type Signature,
} from "@stevedore/types";

/**
 * An image (or an index) as a source serves it, before anything about it is
 * trusted: its manifest and signatures, read once and cached. This is what a
 * trust policy is evaluated on, before any other information is read.
 */
export interface UnparsedImage {
  /** The reference the image was opened from. */
  readonly reference: ImageReference;
  /** The source it reads from. */
  readonly source: ImageSource;
  /** The instance of an index this image is, or undefined for the top level. */
  readonly instanceDigest?: Digest;
  /**
   * The manifest, verified against `instanceDigest` or the reference's
   * digest (throws `DigestMismatchError` otherwise).
   */
  manifest(options?: IoOptions): Promise<RawManifest>;
  /** The manifest's digest (of the JWS payload for signed schema 1). */
  digest(options?: IoOptions): Promise<Digest>;
  /** The image's signatures, as the source stores them. */
  signatures(options?: IoOptions): Promise<Signature[]>;
}

function once<T>(fn: (options?: IoOptions) => Promise<T>): (options?: IoOptions) => Promise<T> {
  let p: Promise<T> | undefined;
  return (options) => {
    if (!p) {
      p = fn(options);
      // A failed read may be retried by a later call.
      p.catch(() => {
        p = undefined;
      });
    }
    return p;
  };
}

/** The top-level image of `source`, or the instance `instanceDigest` of it. */
export function unparsedInstance(source: ImageSource, instanceDigest?: Digest): UnparsedImage {
  const reference = source.reference;
  const manifest = once(async (options) => {
    const raw = await source.getManifest(instanceDigest, options);
    const expected = instanceDigest ?? reference.dockerReference()?.digest;
    if (expected !== undefined && !matchesDigest(raw.bytes, expected)) {
      throw new DigestMismatchError(
        `manifest of ${imageName(reference)}${instanceDigest ? ` (instance ${instanceDigest})` : ""}: the manifest does not match the digest it was asked for`,
        expected,
        manifestDigest(raw.bytes),
      );
    }
    return raw;
  });
  const signatures = once((options) => source.getSignatures(instanceDigest, options));
  return Object.freeze({
    reference,
    source,
    ...(instanceDigest !== undefined ? { instanceDigest } : {}),
    manifest,
    digest: async (options?: IoOptions) => manifestDigest((await manifest(options)).bytes),
    signatures,
  });
}
