import type { BlobInfo } from "./blob.js";
import type { BlobInfoCache } from "./cache.js";
import type { Digest } from "./digest.js";
import type { ImageReference, IoOptions } from "./reference.js";
import type { Signature } from "./signature.js";
import type { BlobStream } from "./stream.js";

/** A manifest as stored: its exact bytes and the MIME type the source reported ("" when unknown). */
export interface RawManifest {
  bytes: Uint8Array;
  mimeType: string;
}

/** What an image source can do beyond the required methods. */
export interface ImageSourceCapabilities {
  /** `getBlob` may be called concurrently. */
  readonly threadSafeGetBlob: boolean;
  /** `getBlobAt` is implemented and may be used. */
  readonly getBlobAt: boolean;
}

/** A byte range of a blob. */
export interface BlobChunk {
  offset: number;
  /** Length in bytes; −1 reads to the end. */
  length: number;
}

/** A blob's body as a source serves it. */
export interface BlobResult {
  stream: BlobStream;
  /** Size in bytes; −1 when the source does not know. */
  size: number;
}

/**
 * An image (or an index of images) being read. Obtained from
 * `ImageReference.newImageSource`; the caller must call `close()`.
 */
export interface ImageSource {
  /** The reference this source was opened from. */
  readonly reference: ImageReference;
  /** What this source can do. */
  readonly capabilities: ImageSourceCapabilities;
  /**
   * The manifest: the top-level one (which may be an index), or the instance
   * with `instanceDigest` inside it. Implementations verify the bytes against
   * `instanceDigest` or the reference's digest.
   */
  getManifest(instanceDigest?: Digest, options?: IoOptions): Promise<RawManifest>;
  /**
   * A blob's body by `info.digest` (layer or config). The caller verifies the
   * digest while reading; the source may use `cache` to record what it learns.
   */
  getBlob(info: BlobInfo, cache: BlobInfoCache, options?: IoOptions): Promise<BlobResult>;
  /** Ranges of a blob, in order. Only when `capabilities.getBlobAt`. */
  getBlobAt?(info: BlobInfo, chunks: readonly BlobChunk[], options?: IoOptions): AsyncIterable<BlobStream>;
  /** The signatures of the top-level image or of an instance. */
  getSignatures(instanceDigest?: Digest, options?: IoOptions): Promise<Signature[]>;
  /**
   * Layer infos to use instead of the manifest's (e.g. a source that serves
   * layers uncompressed), or undefined to use the manifest's.
   */
  layerInfosForCopy(instanceDigest?: Digest, options?: IoOptions): Promise<BlobInfo[] | undefined>;
  /** Releases resources (connections, temp files). Safe to call twice. */
  close(): Promise<void>;
}
