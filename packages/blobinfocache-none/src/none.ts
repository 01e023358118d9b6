import type { BlobInfoCache, BlobLocationCandidate, CandidateLocationsOptions, CompressorName, Digest } from "@stevedore/types";

/**
 * A {@link BlobInfoCache} that records nothing and knows nothing: every
 * lookup returns undefined or an empty list. Use it when blob reuse across
 * copies is not wanted (containers/image's `none.NoCache`).
 */
export const noneCache: BlobInfoCache = Object.freeze({
  /** A no-op. */
  open(): void {},
  /** A no-op. */
  close(): void {},
  /** Always undefined. */
  uncompressedDigest(_anyDigest: Digest): Digest | undefined {
    return undefined;
  },
  /** Records nothing. */
  recordDigestUncompressedPair(_anyDigest: Digest, _uncompressed: Digest): void {},
  /** Records nothing. */
  recordDigestCompressorName(_digest: Digest, _name: CompressorName): void {},
  /** Records nothing. */
  recordKnownLocation(_transport: string, _scope: string, _digest: Digest, _location: string): void {},
  /** Always a new empty array. */
  candidateLocations(_transport: string, _scope: string, _digest: Digest, _options: CandidateLocationsOptions): BlobLocationCandidate[] {
    return [];
  },
});

/** The {@link noneCache} (one shared, frozen value: it has no state). */
export function createNoneCache(): BlobInfoCache {
  return noneCache;
}
