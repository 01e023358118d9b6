import type { Digest } from "./digest.js";

/** A compressor name as the cache records it: an algorithm name, `uncompressed`, or `unknown`. */
export type CompressorName = string;

/** The compressor name for blobs known to be uncompressed. */
export const UNCOMPRESSED: CompressorName = "uncompressed";
/** The compressor name for blobs whose compression is not known. */
export const UNKNOWN_COMPRESSION: CompressorName = "unknown";

/** A place where a blob might be found, as returned by `candidateLocations`. */
export interface BlobLocationCandidate {
  /** The blob's digest at that place (may differ from the one asked for when substituting). */
  digest: Digest;
  /** What compression that digest has (`uncompressed`, `gzip`, ... or `unknown`). */
  compressorName: CompressorName;
  /** The transport-specific location (e.g. a repository name for `docker`). */
  location: string;
  /** When the location was last seen; undefined when the location is not known. */
  lastSeen?: Date;
  /**
   * The blob's digest is a candidate but no location of it is known
   * (`location` is ""): the caller may look for it by digest alone.
   * Only returned with `includeUnknownLocations`.
   */
  unknownLocation?: boolean;
}

/** Options of {@link BlobInfoCache.candidateLocations}. */
export interface CandidateLocationsOptions {
  /** Other digests of the same content (other compressions) may be returned. */
  canSubstitute: boolean;
  /**
   * Only substitutes with this compressor are acceptable (`zstd` also
   * accepts `zstd:chunked`). The exact digest is always acceptable.
   */
  requiredCompression?: CompressorName;
  /** A further filter on substitutes' compressor names (e.g. what the manifest format can carry). */
  acceptCompression?: (compressorName: CompressorName) => boolean;
  /** Also return a few digests with no known location (`unknownLocation: true`). */
  includeUnknownLocations?: boolean;
}

/**
 * What Stevedore remembers about blobs across copies: which compressed blob
 * is which uncompressed content, with which compressor, and where each blob
 * was seen. Methods are synchronous (the backends are in-memory or sqlite);
 * a backend must never throw from a record* method: the cache is advisory.
 */
export interface BlobInfoCache {
  /** Starts a batch of use (e.g. one copy); writes may be buffered until `close`. */
  open?(): void;
  /** Ends a batch started with `open`; flushes buffered writes. */
  close?(): void;
  /**
   * The uncompressed digest of `anyDigest`: the recorded one, `anyDigest`
   * itself when it is known to be uncompressed, or undefined.
   */
  uncompressedDigest(anyDigest: Digest): Digest | undefined;
  /**
   * Records that `anyDigest` decompresses to `uncompressed`. Only for pairs
   * verified locally. Many compressed digests may map to one uncompressed.
   */
  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void;
  /** Records that `digest` is stored with compressor `name` (`unknown` forgets it). */
  recordDigestCompressorName(digest: Digest, name: CompressorName): void;
  /** Records that `digest` was seen at `location` within `scope` of `transport`, now. */
  recordKnownLocation(transport: string, scope: string, digest: Digest, location: string): void;
  /**
   * Places where `digest` (or, with `canSubstitute`, another compression of
   * its content) may be found, best first, at most a handful: the exact
   * digest's locations (newest first, returned even when its compressor is
   * unknown), then other compressions of the same content (skipped when
   * their compressor is unknown), then the uncompressed digest.
   */
  candidateLocations(transport: string, scope: string, digest: Digest, options: CandidateLocationsOptions): BlobLocationCandidate[];
}
