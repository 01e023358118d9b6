import {
  UNKNOWN_COMPRESSION,
  isDigest,
  type BlobInfoCache,
  type CompressorName,
  type Digest,
} from "@stevedore/types";
import {
  lookUpCandidateLocations,
  lookUpUncompressedDigest,
  type BlobInfoCacheReader,
  type CandidateQueryOptions,
  type CandidateWithLocationInfo,
  type StoredLocation,
} from "./lookup.js";

/** Options of {@link createMemoryCache}. */
export interface MemoryCacheOptions {
  /** The clock used for "last seen" times; defaults to the system clock. Tests inject their own. */
  now?: () => Date;
}

type Locations = Map<string, Map<string, Map<Digest, Map<string, number>>>>;

/** Whether `s` is a usable name (transport, scope, location, compressor). */
function isName(s: unknown, allowEmpty: boolean): s is string {
  return typeof s === "string" && (allowEmpty || s.length > 0);
}

/**
 * A {@link BlobInfoCache} kept in maps, for one process: what a copy learns
 * is forgotten when the object is dropped. Used on its own (browsers, tests,
 * one-off copies) and as the fallback of the persistent sqlite cache.
 *
 * Malformed input (a string that is not a digest, an empty location) is
 * ignored by the record methods, which never throw.
 */
export class MemoryBlobInfoCache implements BlobInfoCache {
  readonly #now: () => Date;
  /** compressed (or any) digest → its uncompressed digest */
  readonly #uncompressed = new Map<Digest, Digest>();
  /** uncompressed digest → the digests recorded as decompressing to it */
  readonly #byUncompressed = new Map<Digest, Set<Digest>>();
  /** digest → compressor name (never `unknown`) */
  readonly #compressors = new Map<Digest, CompressorName>();
  /** transport → scope → digest → location → last seen (ms) */
  readonly #locations: Locations = new Map();

  readonly #reader: BlobInfoCacheReader = {
    recordedUncompressedDigest: (d) => this.#uncompressed.get(d),
    digestsWithUncompressedDigest: (u) => this.#byUncompressed.get(u) ?? [],
    recordedCompressor: (d) => this.#compressors.get(d),
    knownLocations: (t, s, d) => this.#storedLocations(t, s, d),
  };

  /** Prefer {@link createMemoryCache}. */
  constructor(options: MemoryCacheOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** Starts a batch of use; a no-op for this backend. */
  open(): void {}

  /** Ends a batch of use; a no-op for this backend. */
  close(): void {}

  /**
   * The uncompressed digest of `anyDigest`: the recorded one; `anyDigest`
   * itself when it was recorded as the uncompressed side of a pair or with
   * compressor `uncompressed`; otherwise undefined.
   */
  uncompressedDigest(anyDigest: Digest): Digest | undefined {
    if (!isDigest(anyDigest)) return undefined;
    return lookUpUncompressedDigest(this.#reader, anyDigest);
  }

  /**
   * Records that `anyDigest` decompresses to `uncompressed` (only for pairs
   * verified locally). A later pair for the same `anyDigest` replaces the
   * earlier one.
   */
  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void {
    if (!isDigest(anyDigest) || !isDigest(uncompressed)) return;
    const previous = this.#uncompressed.get(anyDigest);
    if (previous === uncompressed) return;
    if (previous !== undefined) {
      const set = this.#byUncompressed.get(previous);
      set?.delete(anyDigest);
      if (set?.size === 0) this.#byUncompressed.delete(previous);
    }
    this.#uncompressed.set(anyDigest, uncompressed);
    let set = this.#byUncompressed.get(uncompressed);
    if (set === undefined) {
      set = new Set();
      this.#byUncompressed.set(uncompressed, set);
    }
    set.add(anyDigest);
  }

  /** Records that `digest` is stored with compressor `name`; `unknown` forgets what was recorded. */
  recordDigestCompressorName(digest: Digest, name: CompressorName): void {
    if (!isDigest(digest) || !isName(name, false)) return;
    if (name === UNKNOWN_COMPRESSION) this.#compressors.delete(digest);
    else this.#compressors.set(digest, name);
  }

  /** Records that `digest` was seen at `location` within `scope` of `transport`, now. */
  recordKnownLocation(transport: string, scope: string, digest: Digest, location: string): void {
    this.#recordLocation(transport, scope, digest, location, this.#now().getTime());
  }

  /**
   * Records that `digest` was seen at `location` at the given time (for
   * importing what another cache knew). A location keeps its latest time.
   */
  recordKnownLocationAt(transport: string, scope: string, digest: Digest, location: string, lastSeen: Date): void {
    this.#recordLocation(transport, scope, digest, location, lastSeen.getTime());
  }

  /**
   * Places where `digest` (or, with `canSubstitute`, another compression of
   * its content) may be found, best first, at most five. See
   * {@link lookUpCandidateLocations} for the order and
   * {@link CandidateQueryOptions} for the extra filters.
   */
  candidateLocations(transport: string, scope: string, digest: Digest, options: CandidateQueryOptions): CandidateWithLocationInfo[] {
    if (!isDigest(digest) || !isName(transport, true) || !isName(scope, true)) return [];
    return lookUpCandidateLocations(this.#reader, transport, scope, digest, options ?? { canSubstitute: false });
  }

  #recordLocation(transport: string, scope: string, digest: Digest, location: string, ms: number): void {
    if (!isName(transport, true) || !isName(scope, true) || !isDigest(digest) || !isName(location, false)) return;
    if (!Number.isFinite(ms)) return;
    let byScope = this.#locations.get(transport);
    if (byScope === undefined) this.#locations.set(transport, (byScope = new Map()));
    let byDigest = byScope.get(scope);
    if (byDigest === undefined) byScope.set(scope, (byDigest = new Map()));
    let byLocation = byDigest.get(digest);
    if (byLocation === undefined) byDigest.set(digest, (byLocation = new Map()));
    const previous = byLocation.get(location);
    if (previous === undefined || previous < ms) byLocation.set(location, ms);
  }

  *#storedLocations(transport: string, scope: string, digest: Digest): Iterable<StoredLocation> {
    const byLocation = this.#locations.get(transport)?.get(scope)?.get(digest);
    if (byLocation === undefined) return;
    for (const [location, lastSeen] of byLocation) yield { location, lastSeen };
  }
}

/** A new, empty in-memory {@link BlobInfoCache}. */
export function createMemoryCache(options: MemoryCacheOptions = {}): MemoryBlobInfoCache {
  return new MemoryBlobInfoCache(options);
}
