/**
 * Stevedore's error classes. Every failure a user can cause or meet has its
 * own class with a stable string `code`; lower-level failures ride along as
 * `cause`. `instanceof` works across two copies of this package: each class
 * is branded with a `Symbol.for` key and checks the brand in
 * `Symbol.hasInstance`.
 */

const BRAND = Symbol.for("@stevedore/types/error-codes");

type Branded = { [BRAND]?: ReadonlySet<string> };

/** Options accepted by every error constructor. */
export interface StevedoreErrorOptions {
  /** The lower-level failure this one wraps. */
  cause?: unknown;
}

/** The base class of every error Stevedore throws on purpose. */
export class StevedoreError extends Error {
  /** A stable, machine-readable identifier, e.g. `ERR_MANIFEST_UNKNOWN`. */
  readonly code: string;

  /** The code of this class; subclasses override it. */
  static readonly code: string = "ERR_STEVEDORE";

  constructor(message: string, options?: StevedoreErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as typeof StevedoreError;
    this.code = ctor.code;
    this.name = ctor.name;
    // Record every code along the prototype chain so that a copy of this
    // package elsewhere in node_modules can recognise the instance.
    const codes = new Set<string>();
    for (let c: unknown = ctor; typeof c === "function" && "code" in c; c = Object.getPrototypeOf(c)) {
      codes.add((c as typeof StevedoreError).code);
    }
    Object.defineProperty(this, BRAND, { value: codes, enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const codes = (value as Branded)[BRAND];
    if (codes === undefined) return false;
    return codes.has(this.code);
  }
}

function define<T extends string>(code: T, name: string) {
  const cls = class extends StevedoreError {
    static override readonly code: string = code;
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

/** A bug in Stevedore; the CLI prints its stack trace. */
export class InternalError extends define("ERR_INTERNAL", "InternalError") {}

/** A transport-specific or docker reference string could not be parsed. */
export class InvalidReferenceError extends define("ERR_INVALID_REFERENCE", "InvalidReferenceError") {}

/** `transport:rest` named a transport that is not registered. */
export class UnknownTransportError extends define("ERR_UNKNOWN_TRANSPORT", "UnknownTransportError") {
  /** The transport name that was asked for. */
  readonly transport: string;
  /** The names that are registered. */
  readonly known: readonly string[];
  constructor(transport: string, known: readonly string[], options?: StevedoreErrorOptions) {
    super(
      `unknown transport "${transport}"; known transports: ${known.length ? known.join(", ") : "(none registered)"}`,
      options,
    );
    this.transport = transport;
    this.known = known;
  }
}

/** A transport plugin failed its load-time checks. */
export class InvalidTransportPluginError extends define("ERR_INVALID_TRANSPORT_PLUGIN", "InvalidTransportPluginError") {}

/** A digest string is malformed or uses an unsupported algorithm. */
export class InvalidDigestError extends define("ERR_INVALID_DIGEST", "InvalidDigestError") {}

/** Content did not hash to the digest it was expected to have. */
export class DigestMismatchError extends define("ERR_DIGEST_MISMATCH", "DigestMismatchError") {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string, options?: StevedoreErrorOptions) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`, options);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content was longer or shorter than the size it was expected to have. */
export class SizeMismatchError extends define("ERR_SIZE_MISMATCH", "SizeMismatchError") {
  readonly expected: number;
  /** The size seen; for content that was too long, at least this many bytes. */
  readonly actual: number;
  constructor(what: string, expected: number, actual: number, options?: StevedoreErrorOptions & { atLeast?: boolean }) {
    super(
      `size mismatch for ${what}: expected ${expected} bytes, got ${options?.atLeast ? "more than " + expected : actual}`,
      options,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Content exceeded a safety limit (manifest, config, token, error body, ...). */
export class SizeLimitExceededError extends define("ERR_SIZE_LIMIT_EXCEEDED", "SizeLimitExceededError") {}

/** The manifest (or the tag naming it) does not exist. */
export class ManifestUnknownError extends define("ERR_MANIFEST_UNKNOWN", "ManifestUnknownError") {}

/** The manifest is not valid for its format. */
export class InvalidManifestError extends define("ERR_INVALID_MANIFEST", "InvalidManifestError") {}

/** A manifest's MIME type is not one Stevedore knows, or not one an operation can handle. */
export class UnsupportedManifestTypeError extends define("ERR_UNSUPPORTED_MANIFEST_TYPE", "UnsupportedManifestTypeError") {}

/** The destination refused the manifest's format; the copy engine may try another. */
export class ManifestTypeRejectedError extends define("ERR_MANIFEST_TYPE_REJECTED", "ManifestTypeRejectedError") {}

/** A blob does not exist at the source. */
export class BlobUnknownError extends define("ERR_BLOB_UNKNOWN", "BlobUnknownError") {}

/** The repository or image does not exist. */
export class NameUnknownError extends define("ERR_NAME_UNKNOWN", "NameUnknownError") {}

/** Credentials were missing or refused. */
export class UnauthorizedError extends define("ERR_UNAUTHORIZED", "UnauthorizedError") {}

/** The credentials were accepted but do not allow this operation. */
export class DeniedError extends define("ERR_DENIED", "DeniedError") {}

/** The registry asked us to slow down (HTTP 429) and retries ran out. */
export class TooManyRequestsError extends define("ERR_TOO_MANY_REQUESTS", "TooManyRequestsError") {}

/** A registry or server answered in a way the protocol does not allow. */
export class ProtocolError extends define("ERR_PROTOCOL", "ProtocolError") {}

/** A network operation failed (connection refused, reset, timed out). */
export class NetworkError extends define("ERR_NETWORK", "NetworkError") {}

/** The trust policy rejected the image. */
export class PolicyRejectedError extends define("ERR_POLICY_REJECTED", "PolicyRejectedError") {}

/** policy.json (or another configuration file) is invalid. */
export class InvalidConfigurationError extends define("ERR_INVALID_CONFIGURATION", "InvalidConfigurationError") {}

/** A signature could not be verified or its contents are not acceptable. */
export class SignatureInvalidError extends define("ERR_SIGNATURE_INVALID", "SignatureInvalidError") {}

/** The transport, format or backend does not support the operation. */
export class UnsupportedError extends define("ERR_UNSUPPORTED", "UnsupportedError") {}

/** The destination cannot do something the operation needs (e.g. store signatures). */
export class UnsupportedCapabilityError extends define("ERR_UNSUPPORTED_CAPABILITY", "UnsupportedCapabilityError") {}

/** An OCI artifact reached an operation that needs a container image. */
export class NotAnImageError extends define("ERR_NOT_AN_IMAGE", "NotAnImageError") {}

/** A source holds several images and the reference did not say which one. */
export class AmbiguousImageError extends define("ERR_AMBIGUOUS_IMAGE", "AmbiguousImageError") {}

/** The image (or the named instance) does not exist in a local format. */
export class ImageNotFoundError extends define("ERR_IMAGE_NOT_FOUND", "ImageNotFoundError") {}

/** An archive or layout contains an entry that is unsafe or malformed. */
export class InvalidArchiveError extends define("ERR_INVALID_ARCHIVE", "InvalidArchiveError") {}

/** The destination already holds something it must not overwrite. */
export class DestinationExistsError extends define("ERR_DESTINATION_EXISTS", "DestinationExistsError") {}

/** A required system tool is not installed. */
export class MissingToolError extends define("ERR_MISSING_TOOL", "MissingToolError") {}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends define("ERR_ABORTED", "AbortError") {}

/** Throws an {@link AbortError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof AbortError) throw reason;
    throw new AbortError("the operation was aborted", { cause: reason });
  }
}
