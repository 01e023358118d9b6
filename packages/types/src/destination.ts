import type { BlobInfo, CompressionAlgorithmName, CompressionOperation } from "./blob.js";
import type { BlobInfoCache } from "./cache.js";
import type { Digest } from "./digest.js";
import type { ImageReference, IoOptions } from "./reference.js";
import type { RawManifest } from "./source.js";
import type { Signature } from "./signature.js";
import type { BlobStream } from "./stream.js";

/** What layer compression a destination wants. */
export type DesiredLayerCompression = "preserve" | "compress" | "decompress";

/** What an image destination can do and wants. */
export interface ImageDestinationCapabilities {
  /** Manifest MIME types it can store, preferred first; empty = any. */
  readonly supportedManifestMIMETypes: readonly string[];
  /** Whether layers should arrive compressed, decompressed, or as they are. */
  readonly desiredLayerCompression: DesiredLayerCompression;
  /** Signatures can be stored; when false, `signaturesUnsupportedReason` says why. */
  readonly supportsSignatures: boolean;
  /** Why signatures cannot be stored, for error messages. */
  readonly signaturesUnsupportedReason?: string;
  /** Layers that carry foreign URLs may be stored as references only. */
  readonly acceptsForeignLayerURLs: boolean;
  /** Images for another OS than the runtime's make no sense here. */
  readonly mustMatchRuntimeOS: boolean;
  /** The destination does not care about a docker reference embedded in the manifest (schema1). */
  readonly ignoresEmbeddedDockerReference: boolean;
  /** `putBlob` may be called concurrently. */
  readonly threadSafePutBlob: boolean;
}

/** Options of {@link ImageDestination.putBlob}. */
export interface PutBlobOptions extends IoOptions {
  /** Where to record what is learnt (locations, digests). */
  cache: BlobInfoCache;
  /** The blob is the image's config. */
  isConfig?: boolean;
  /** The blob is the well-known empty layer. */
  emptyLayer?: boolean;
  /** The index of the layer in the manifest, when a layer. */
  layerIndex?: number;
  /** Called with the number of new bytes stored. */
  onProgress?: (delta: number) => void;
}

/** What a destination stored. */
export interface StoredBlob {
  digest: Digest;
  size: number;
}

/** Options of {@link ImageDestination.tryReusingBlob}. */
export interface TryReusingBlobOptions extends IoOptions {
  cache: BlobInfoCache;
  /** A blob with other content (another compression of the same data) may be used. */
  canSubstitute: boolean;
  emptyLayer?: boolean;
  layerIndex?: number;
  /** The reference the blob is being copied from (for cross-repository mounts). */
  srcRef?: ImageReference;
  /** When substituting, only a blob with this compression is acceptable. */
  requiredCompression?: CompressionAlgorithmName | "uncompressed";
}

/** A blob the destination already has (or could obtain without the caller's data). */
export interface ReusedBlob {
  digest: Digest;
  size: number;
  /** How the reused blob's compression differs from what was asked, when it does. */
  compressionOperation?: CompressionOperation;
  compressionAlgorithm?: CompressionAlgorithmName;
  /** Why it could be reused, for progress reports: "exists", "mounted", "substituted", ... */
  reason?: string;
}

/** Options of {@link ImageDestination.commit}. */
export interface CommitOptions extends IoOptions {
  /** The top-level manifest of the image being committed (an index when several instances were written). */
  toplevel?: RawManifest;
}

/**
 * An image being written. Obtained from `ImageReference.newImageDestination`;
 * nothing is visible at the destination until `commit()` succeeds, and
 * `close()` without `commit()` leaves the destination as it was.
 */
export interface ImageDestination {
  readonly reference: ImageReference;
  readonly capabilities: ImageDestinationCapabilities;
  /**
   * Stores a blob. Verifies `info.digest` and `info.size` (when known) while
   * streaming; on any failure nothing of the blob remains. Returns the
   * digest and size actually stored (computed when `info.digest` is unknown).
   */
  putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob>;
  /**
   * Checks whether the destination has the blob, or can get it without the
   * caller's data (mount, known compressed twin). Undefined when it cannot.
   */
  tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined>;
  /**
   * Stores a manifest: the top-level one, or an instance of an index when
   * `instanceDigest` is given. May throw `ManifestTypeRejectedError`.
   */
  putManifest(bytes: Uint8Array, instanceDigest?: Digest, options?: IoOptions): Promise<void>;
  /** Stores signatures for the top-level image or an instance; after `putManifest`. */
  putSignatures(signatures: readonly Signature[], instanceDigest?: Digest, options?: IoOptions): Promise<void>;
  /** Makes everything written visible, atomically where the format allows. */
  commit(options?: CommitOptions): Promise<void>;
  /** Releases resources; without a commit, removes what was written. Safe to call twice. */
  close(): Promise<void>;
}
