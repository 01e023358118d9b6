import {
  UNCOMPRESSED,
  UNKNOWN_COMPRESSION,
  type BlobLocationCandidate,
  type CandidateLocationsOptions,
  type CompressorName,
  type Digest,
} from "@stevedore/types";

/**
 * The most candidates with a known location that `candidateLocations`
 * returns (containers/image's `replacementAttempts`): each one may cost the
 * caller a registry round trip, so only the best few are worth trying.
 */
export const MAX_CANDIDATES = 5;

/**
 * The most candidates without a known location (see
 * {@link CandidateQueryOptions.includeUnknownLocations}) added after the
 * located ones, within {@link MAX_CANDIDATES} in total.
 */
export const MAX_UNKNOWN_LOCATION_CANDIDATES = 2;

/**
 * {@link CandidateLocationsOptions} with the extra filters Stevedore's
 * backends understand (containers/image's `CandidateLocations2Options`).
 * Backends that only know the contract ignore the extra fields.
 */
export interface CandidateQueryOptions extends CandidateLocationsOptions {
  /**
   * Only candidates compressed with this algorithm, or with a variant of it
   * (`zstd` also accepts `zstd:chunked`); `uncompressed` accepts only
   * uncompressed candidates. Candidates of unknown compression never match.
   */
  requiredCompression?: CompressorName;
  /**
   * A further filter on each candidate's compressor name (`unknown`
   * included), e.g. "can the destination's manifest format say this
   * compression?". Return false to drop the candidate.
   */
  acceptCompression?: (compressorName: CompressorName) => boolean;
  /**
   * Also return digests that are known variants of the blob (with a known
   * compressor) but have no recorded location in this scope, as candidates
   * with `unknownLocation: true` and an empty `location`: the caller may look
   * for them where it is about to write (e.g. the destination repository).
   */
  includeUnknownLocations?: boolean;
}

/** A {@link BlobLocationCandidate} that may also say its location is unknown. */
export interface CandidateWithLocationInfo extends BlobLocationCandidate {
  /** True when no location is known in the asked scope (then `location` is "" and `lastSeen` unset). */
  unknownLocation?: boolean;
}

/** A location of one digest as a backend stores it. */
export interface StoredLocation {
  /** The opaque location string. */
  location: string;
  /** When it was last seen, in milliseconds since the epoch. */
  lastSeen: number;
}

/**
 * The raw facts a backend has recorded, as the shared lookup rules
 * ({@link lookUpUncompressedDigest}, {@link lookUpCandidateLocations}) read
 * them. Implementations return only well-formed values (valid digests,
 * non-empty names) and never throw for a missing fact.
 */
export interface BlobInfoCacheReader {
  /** The digest recorded with `recordDigestUncompressedPair(digest, …)`, if any. */
  recordedUncompressedDigest(digest: Digest): Digest | undefined;
  /** Every digest currently recorded as decompressing to `uncompressed` (may include `uncompressed` itself). */
  digestsWithUncompressedDigest(uncompressed: Digest): Iterable<Digest>;
  /** The compressor recorded for `digest` (never `unknown`: that is recorded as nothing). */
  recordedCompressor(digest: Digest): CompressorName | undefined;
  /** Where `digest` was seen within (`transport`, `scope`). */
  knownLocations(transport: string, scope: string, digest: Digest): Iterable<StoredLocation>;
}

/**
 * `uncompressedDigest()` over recorded facts: the recorded pair wins; a
 * digest recorded as the uncompressed side of some pair, or with compressor
 * `uncompressed`, is its own uncompressed digest; otherwise nothing is known.
 */
export function lookUpUncompressedDigest(reader: BlobInfoCacheReader, digest: Digest): Digest | undefined {
  const recorded = reader.recordedUncompressedDigest(digest);
  if (recorded !== undefined) return recorded;
  if (reader.recordedCompressor(digest) === UNCOMPRESSED) return digest;
  for (const _ of reader.digestsWithUncompressedDigest(digest)) return digest;
  return undefined;
}

/**
 * The compressor of `digest` as candidates report it: the recorded one;
 * `uncompressed` for a digest known to be its own uncompressed digest;
 * otherwise `unknown`.
 */
export function lookUpCompressorName(reader: BlobInfoCacheReader, digest: Digest): CompressorName {
  const recorded = reader.recordedCompressor(digest);
  if (recorded !== undefined) return recorded;
  return lookUpUncompressedDigest(reader, digest) === digest ? UNCOMPRESSED : UNKNOWN_COMPRESSION;
}

/** Whether a candidate compressed with `compressorName` passes the filters of `options`. */
export function compressionMatches(compressorName: CompressorName, options: CandidateQueryOptions): boolean {
  const required = options.requiredCompression;
  if (required !== undefined) {
    if (compressorName === UNKNOWN_COMPRESSION) return false;
    if (compressorName !== required && !compressorName.startsWith(required + ":")) return false;
  }
  if (options.acceptCompression !== undefined && !options.acceptCompression(compressorName)) return false;
  return true;
}

/** One candidate before prioritisation. */
export interface UnrankedCandidate {
  digest: Digest;
  compressorName: CompressorName;
  /** The location; undefined when unknown. */
  location: string | undefined;
  /** Milliseconds since the epoch; undefined when the location is unknown. */
  lastSeen: number | undefined;
}

/**
 * `candidateLocations()` over recorded facts, with containers/image's
 * rules: the asked digest's locations come first (newest first); with
 * `canSubstitute`, then the locations of other digests with the same
 * uncompressed digest (newest first, then by digest), and last the
 * uncompressed digest's own (newest first). Substitutes whose compressor
 * is unknown are skipped (the caller could not describe them in a
 * manifest); the asked digest is kept with compressor `unknown`. At most
 * {@link MAX_CANDIDATES} are returned.
 */
export function lookUpCandidateLocations(
  reader: BlobInfoCacheReader,
  transport: string,
  scope: string,
  digest: Digest,
  options: CandidateQueryOptions,
): CandidateWithLocationInfo[] {
  const found: UnrankedCandidate[] = [];
  const add = (d: Digest, substitute: boolean): void => {
    const compressorName = lookUpCompressorName(reader, d);
    if (substitute && compressorName === UNKNOWN_COMPRESSION) return;
    if (!compressionMatches(compressorName, options)) return;
    let any = false;
    for (const l of reader.knownLocations(transport, scope, d)) {
      any = true;
      found.push({ digest: d, compressorName, location: l.location, lastSeen: l.lastSeen });
    }
    if (!any && options.includeUnknownLocations === true && compressorName !== UNKNOWN_COMPRESSION) {
      found.push({ digest: d, compressorName, location: undefined, lastSeen: undefined });
    }
  };

  add(digest, false);
  let uncompressed: Digest | undefined;
  if (options.canSubstitute) {
    uncompressed = lookUpUncompressedDigest(reader, digest);
    if (uncompressed !== undefined) {
      const done = new Set<Digest>([digest, uncompressed]);
      for (const twin of reader.digestsWithUncompressedDigest(uncompressed)) {
        if (done.has(twin)) continue;
        done.add(twin);
        add(twin, true);
      }
      if (uncompressed !== digest) add(uncompressed, true);
    }
  }
  return prioritizeCandidates(found, digest, uncompressed);
}

/**
 * Orders and trims candidates: `primary` first, `uncompressed` (when known
 * and different) last, other digests in between; within each group newest
 * first, ties broken by digest then location so the order is stable.
 * Candidates with a known location are kept up to {@link MAX_CANDIDATES};
 * those without follow, up to {@link MAX_UNKNOWN_LOCATION_CANDIDATES} and
 * within the total. Returns fresh objects.
 */
export function prioritizeCandidates(
  candidates: readonly UnrankedCandidate[],
  primary: Digest,
  uncompressed: Digest | undefined,
): CandidateWithLocationInfo[] {
  const rank = (d: Digest): number => (d === primary ? 0 : d === uncompressed ? 2 : 1);
  const sorted = [...candidates].sort((a, b) => {
    const r = rank(a.digest) - rank(b.digest);
    if (r !== 0) return r;
    const ta = a.lastSeen ?? -Infinity;
    const tb = b.lastSeen ?? -Infinity;
    if (ta !== tb) return ta > tb ? -1 : 1;
    if (a.digest !== b.digest) return a.digest < b.digest ? -1 : 1;
    const la = a.location ?? "";
    const lb = b.location ?? "";
    return la < lb ? -1 : la > lb ? 1 : 0;
  });
  const located = sorted.filter((c) => c.location !== undefined).slice(0, MAX_CANDIDATES);
  const room = Math.min(MAX_UNKNOWN_LOCATION_CANDIDATES, MAX_CANDIDATES - located.length);
  const unlocated = room > 0 ? sorted.filter((c) => c.location === undefined).slice(0, room) : [];
  const out: CandidateWithLocationInfo[] = located.map((c) => ({
    digest: c.digest,
    compressorName: c.compressorName,
    location: c.location ?? "",
    lastSeen: new Date(c.lastSeen ?? 0),
  }));
  for (const c of unlocated) {
    out.push({ digest: c.digest, compressorName: c.compressorName, location: "", unknownLocation: true });
  }
  return out;
}
