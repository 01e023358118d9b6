import type { Digest } from "./digest.js";
import type { ImageDestination } from "./destination.js";
import type { ImageSource } from "./source.js";
import type { SystemContext } from "./context.js";

/**
 * A docker image reference as `@stevedore/reference` produces it:
 * a normalised, fully-qualified repository name with an optional tag and digest.
 */
export interface DockerReference {
  /** The full repository name, e.g. `docker.io/library/busybox`. */
  readonly name: string;
  /** The tag, when the reference has one. */
  readonly tag?: string;
  /** The digest, when the reference has one. */
  readonly digest?: Digest;
  /** The canonical form `name[:tag][@digest]`. */
  toString(): string;
}

/** Options of I/O methods: every one can be cancelled. */
export interface IoOptions {
  signal?: AbortSignal;
}

/**
 * A reference to an image in one transport (the part after `transport:`),
 * able to open the image for reading or writing.
 */
export interface ImageReference {
  /** The transport this reference belongs to. */
  readonly transport: ImageTransport;
  /**
   * The reference as text within its transport; `transport.parseReference`
   * of it yields an equivalent reference. Must not contain credentials.
   */
  stringWithinTransport(): string;
  /**
   * The docker reference this image is known by (used for signing identity
   * and policy), or undefined when the transport has none (e.g. `dir:`).
   */
  dockerReference(): DockerReference | undefined;
  /**
   * The identity used to look up policy and registries.d configuration,
   * without the transport name; "" when the reference has none.
   */
  policyConfigurationIdentity(): string;
  /**
   * Namespaces of the identity, most specific first, without the transport
   * default "". Usually the identity itself is not among them; a transport
   * may list it first when its identity leaves part of the reference out
   * (`oci:` identifies a layout by its directory, as containers/image does).
   */
  policyConfigurationNamespaces(): string[];
  /** Opens the image for reading. The caller must `close()` the source. */
  newImageSource(ctx?: SystemContext, options?: IoOptions): Promise<ImageSource>;
  /** Opens the image for writing. The caller must `close()` the destination. */
  newImageDestination(ctx?: SystemContext, options?: IoOptions): Promise<ImageDestination>;
  /** Deletes the image; transports that cannot throw `UnsupportedError`. */
  deleteImage(ctx?: SystemContext, options?: IoOptions): Promise<void>;
}

/** The version of the transport contract; plugins are checked against it at load time. */
export const TRANSPORT_API_VERSION = 1;

/** A way to store images: `docker`, `oci`, `dir`, ... */
export interface ImageTransport {
  /** The contract version this transport implements ({@link TRANSPORT_API_VERSION}). */
  readonly apiVersion: number;
  /** The name before the colon in `name:reference`. */
  readonly name: string;
  /** Parses the part after `name:`; throws `InvalidReferenceError`. */
  parseReference(reference: string): ImageReference;
  /**
   * Checks a policy.json scope for this transport (e.g. an absolute path for
   * `oci`); throws `InvalidReferenceError` when it is not valid.
   */
  validatePolicyConfigurationScope(scope: string): void;
}

/** The fields of a transport descriptor. */
export interface TransportDefinition {
  name: string;
  parseReference(reference: string): ImageReference;
  validatePolicyConfigurationScope(scope: string): void;
}

/** Makes a frozen, typed transport descriptor. Nothing is registered anywhere. */
export function defineTransport(definition: TransportDefinition): ImageTransport {
  const { name, parseReference, validatePolicyConfigurationScope } = definition;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new TypeError(`invalid transport name "${name}": lowercase letters, digits and "-" only`);
  }
  const t: ImageTransport = Object.freeze({
    apiVersion: TRANSPORT_API_VERSION,
    name,
    parseReference: (s: string) => parseReference.call(t, s),
    validatePolicyConfigurationScope: (s: string) => validatePolicyConfigurationScope.call(t, s),
  });
  return t;
}
