import type { UnparsedImage } from "@stevedore/image";
import type {
  BlobInfoCache,
  CompressionAlgorithmName,
  Digest,
  DockerReference,
  Platform,
  ProgressListener,
  Signature,
  SystemContext,
} from "@stevedore/types";

/**
 * The trust policy as the copy engine sees it (`@stevedore/policy`'s
 * `PolicyContext` fits): it resolves when the image may be used and throws
 * `PolicyRejectedError` (naming the reasons) when it may not.
 */
export interface PolicyContext {
  isRunningImageAllowed(image: UnparsedImage, options?: { signal?: AbortSignal }): Promise<unknown>;
}

/** Makes a new signature for a manifest being written (e.g. simple signing with a key). */
export interface Signer {
  /** For messages, e.g. `simple signing with key 0123…`. */
  readonly description: string;
  /** Signs `manifest` (the bytes as written at the destination) for `identity`. */
  sign(manifest: Uint8Array, identity: DockerReference, options?: { signal?: AbortSignal }): Promise<Signature>;
}

/** Which images of a manifest list or index to copy. */
export type ImageListSelection =
  /** One instance, chosen for the platform of `sourceCtx` or the running machine (default). */
  | "system"
  /** Every instance, and the list. */
  | "all"
  /** The instances named in `instances` or matching `instancePlatforms`, and the list (others listed unchanged). */
  | "specific"
  /** Only the list itself. */
  | "index-only";

/** Options of {@link copyImage}. */
export interface CopyOptions {
  /** Settings for reading the source. */
  sourceCtx?: SystemContext;
  /** Settings for writing the destination (also the compression format and level). */
  destinationCtx?: SystemContext;
  /** Where to remember and find blobs (default: an in-memory cache for this copy). */
  blobInfoCache?: BlobInfoCache;
  /** Drop the source's signatures (new ones may still be added by `signers`). */
  removeSignatures?: boolean;
  /** New signatures to add to what is written. */
  signers?: readonly Signer[];
  /** The identity to sign for (default: the destination's docker reference). */
  signIdentity?: DockerReference;
  /** Write this manifest type (converting when needed); for lists, the matching list type is used. */
  forceManifestMIMEType?: string;
  /** Which images of a list to copy (default `system`). */
  imageListSelection?: ImageListSelection;
  /** With `specific`: instance digests to copy. */
  instances?: readonly Digest[];
  /** With `specific`: platforms whose instances to copy. */
  instancePlatforms?: readonly Platform[];
  /** Fail instead of changing any manifest (no conversion, no recompression). */
  preserveDigests?: boolean;
  /** Blobs copied at once when both sides allow it (default 6). */
  maxParallelDownloads?: number;
  /** Compression for layers the destination wants compressed (overrides `destinationCtx.compressionFormat`). */
  compressionFormat?: CompressionAlgorithmName;
  /** Compression level (overrides `destinationCtx.compressionLevel`). */
  compressionLevel?: number;
  /** Recompress layers already compressed with another algorithm than `compressionFormat`. */
  forceCompressionFormat?: boolean;
  /** Structured progress events. */
  progress?: ProgressListener;
  /** Human-readable progress lines, as skopeo prints them ("Copying blob …"). */
  reportWriter?: (line: string) => void;
  /** Cancels the copy; the destination is left as it was. */
  signal?: AbortSignal;
  /** Copy layers that carry foreign URLs instead of keeping them as references. */
  downloadForeignLayers?: boolean;
  /**
   * The platform of the machine, for `system` selection (default: this
   * process's). `sourceCtx`'s architecture/OS/variant choices win over it.
   */
  runtimePlatform?: { os: string; architecture: string; variant?: string };
}

/** What {@link copyImage} wrote. */
export interface CopyResult {
  /** The top-level manifest written (an index when several images were copied). */
  manifest: Uint8Array;
  mimeType: string;
  /** Its digest. */
  digest: Digest;
}
