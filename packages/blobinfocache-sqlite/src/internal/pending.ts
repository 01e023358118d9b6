import { UNKNOWN_COMPRESSION, type CompressorName, type Digest } from "@stevedore/types";
import type { BlobInfoCacheReader, MemoryBlobInfoCache, StoredLocation } from "@stevedore/blobinfocache-memory";

/** One pending location record. */
export interface PendingLocation {
  transport: string;
  scope: string;
  digest: Digest;
  location: string;
  lastSeen: number;
}

/**
 * The writes of the current batch (between `open()` and `close()`), held
 * until they are saved in one transaction. Later writes of the same fact
 * replace earlier ones; a compressor of `unknown` stands for "delete".
 */
export class PendingWrites {
  readonly pairs = new Map<Digest, Digest>();
  readonly compressors = new Map<Digest, CompressorName>();
  readonly #locations = new Map<string, Map<string, Map<Digest, Map<string, number>>>>();

  get empty(): boolean {
    return this.pairs.size === 0 && this.compressors.size === 0 && this.#locations.size === 0;
  }

  addLocation(transport: string, scope: string, digest: Digest, location: string, lastSeen: number): void {
    let byScope = this.#locations.get(transport);
    if (byScope === undefined) this.#locations.set(transport, (byScope = new Map()));
    let byDigest = byScope.get(scope);
    if (byDigest === undefined) byScope.set(scope, (byDigest = new Map()));
    let byLocation = byDigest.get(digest);
    if (byLocation === undefined) byDigest.set(digest, (byLocation = new Map()));
    const previous = byLocation.get(location);
    if (previous === undefined || previous < lastSeen) byLocation.set(location, lastSeen);
  }

  locationsOf(transport: string, scope: string, digest: Digest): ReadonlyMap<string, number> | undefined {
    return this.#locations.get(transport)?.get(scope)?.get(digest);
  }

  *locations(): Iterable<PendingLocation> {
    for (const [transport, byScope] of this.#locations) {
      for (const [scope, byDigest] of byScope) {
        for (const [digest, byLocation] of byDigest) {
          for (const [location, lastSeen] of byLocation) yield { transport, scope, digest, location, lastSeen };
        }
      }
    }
  }

  /** Replays these writes into a memory cache (when the file has become unusable). */
  replayInto(cache: MemoryBlobInfoCache): void {
    for (const [d, u] of this.pairs) cache.recordDigestUncompressedPair(d, u);
    for (const [d, c] of this.compressors) cache.recordDigestCompressorName(d, c);
    for (const l of this.locations()) cache.recordKnownLocationAt(l.transport, l.scope, l.digest, l.location, new Date(l.lastSeen));
  }
}

/** What `saved` knows, with `pending` applied on top: what reads inside a batch see. */
export function withPending(saved: BlobInfoCacheReader, pending: PendingWrites | undefined): BlobInfoCacheReader {
  if (pending === undefined || pending.empty) return saved;
  return {
    recordedUncompressedDigest: (d) => pending.pairs.get(d) ?? saved.recordedUncompressedDigest(d),
    digestsWithUncompressedDigest: (u) => {
      const out = new Set<Digest>();
      for (const d of saved.digestsWithUncompressedDigest(u)) {
        const now = pending.pairs.get(d);
        if (now === undefined || now === u) out.add(d);
      }
      for (const [d, now] of pending.pairs) if (now === u) out.add(d);
      return out;
    },
    recordedCompressor: (d) => {
      const c = pending.compressors.get(d);
      if (c === undefined) return saved.recordedCompressor(d);
      return c === UNKNOWN_COMPRESSION ? undefined : c;
    },
    knownLocations: (t, s, d) => {
      const extra = pending.locationsOf(t, s, d);
      const savedLocations = saved.knownLocations(t, s, d);
      if (extra === undefined) return savedLocations;
      const merged = new Map<string, number>();
      for (const l of savedLocations) merged.set(l.location, l.lastSeen);
      for (const [location, lastSeen] of extra) {
        const previous = merged.get(location);
        if (previous === undefined || previous < lastSeen) merged.set(location, lastSeen);
      }
      const out: StoredLocation[] = [];
      for (const [location, lastSeen] of merged) out.push({ location, lastSeen });
      return out;
    },
  };
}
