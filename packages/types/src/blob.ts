import type { Digest } from "./digest.js";

/** Compression algorithms Stevedore knows by name. */
export type CompressionAlgorithmName = "gzip" | "zstd" | "zstd:chunked" | "bzip2" | "xz";

/** What a copy should do to a blob's compression. */
export type CompressionOperation = "preserve" | "compress" | "decompress";

/** What a copy should do to a blob's encryption. */
export type CryptoOperation = "preserve" | "encrypt" | "decrypt";

/**
 * What is known about a blob: as much as a manifest descriptor says, plus
 * what a copy decided about it.
 */
export interface BlobInfo {
  /** The digest, or undefined when not known yet (e.g. output of compression). */
  digest?: Digest;
  /** Size in bytes; −1 when unknown. */
  size: number;
  /** The descriptor's media type, when the manifest has one. */
  mediaType?: string;
  /** Alternative (foreign) URLs the blob can be fetched from. */
  urls?: readonly string[];
  /** Descriptor annotations (OCI). */
  annotations?: Readonly<Record<string, string>>;
  /** Set by a copy: how this blob's compression changes on the way. */
  compressionOperation?: CompressionOperation;
  /** With `compress`: the algorithm used; with `preserve`/`decompress` after reuse: what the stored blob is. */
  compressionAlgorithm?: CompressionAlgorithmName;
  /** Set by a copy: how this blob's encryption changes on the way. */
  cryptoOperation?: CryptoOperation;
}

/** An OCI/Docker platform. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: readonly string[];
}
