import type { BlobInfoCache, BlobLocationCandidate, CandidateLocationsOptions, CompressorName, Digest } from "@stevedore/types";
import type { TestApi } from "./api.js";

/**
 * A clock the suite controls, handed to the factory: a backend under test
 * takes its "last seen" times from `now()`. By default every `now()` call
 * returns a time one second after the previous one, so what is recorded
 * later is strictly newer.
 */
export interface BlobInfoCacheTestClock {
  /** The current test time (then moves on by a second unless held). */
  now(): Date;
}

/** Makes a fresh, empty cache for one test, taking its times from `clock`. */
export type BlobInfoCacheFactory = (clock: BlobInfoCacheTestClock) => BlobInfoCache;

/** Options of {@link blobInfoCacheConformance}. */
export interface BlobInfoCacheConformanceOptions {
  /**
   * The backend records nothing by design (the `none` cache): every test
   * still runs its calls, and asserts that every lookup returns nothing.
   */
  recordsNothing?: boolean;
  /** Called after each test with the cache it used (close files, remove temporary directories). */
  cleanup?: (cache: BlobInfoCache) => void | Promise<void>;
}

/** The extra candidate filters Stevedore's own backends accept (see `@stevedore/blobinfocache-memory`). */
interface ExtendedOptions extends CandidateLocationsOptions {
  requiredCompression?: CompressorName;
  acceptCompression?: (name: CompressorName) => boolean;
  includeUnknownLocations?: boolean;
}

const hex = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;
const UNKNOWN = hex("1");
const U = hex("2"); // uncompressed
const A = hex("3"); // gzip twin of U
const B = hex("4"); // zstd twin of U
const X = hex("5"); // unrelated
const C = hex("6"); // another gzip twin of U
const K = hex("7"); // bzip2, location unknown
const FU = hex("a"); // uncompressed, for the compression filters
const G = hex("b"); // gzip twin of FU
const Z = hex("c"); // zstd twin of FU
const ZC = hex("d"); // zstd:chunked twin of FU
const U2 = hex("e"); // another uncompressed digest

const T = "stevedore-test-transport";
const T2 = "another-transport";
const START = Date.UTC(2024, 0, 1, 0, 0, 0);

/** What the suite compares: a candidate without its time. */
interface Seen {
  digest: Digest;
  compressorName: CompressorName;
  location: string;
  unknownLocation?: boolean;
}

class Clock implements BlobInfoCacheTestClock {
  ms = START;
  held = false;
  now(): Date {
    const d = new Date(this.ms);
    if (!this.held) this.ms += 1000;
    return d;
  }
  /** Stops the clock at `ms` until released. */
  hold(ms: number): void {
    this.ms = ms;
    this.held = true;
  }
  release(): void {
    this.held = false;
  }
}

type Mode = "without open()" | "inside open()/close()" | "across several open()/close() batches";
const MODES: readonly Mode[] = ["without open()", "inside open()/close()", "across several open()/close() batches"];

/**
 * Wraps `cache` so that every second record call ends the current batch and
 * starts another: some facts are then already flushed and others still
 * pending, and lookups must merge both.
 */
function splitIntoBatches(cache: BlobInfoCache): BlobInfoCache {
  let records = 0;
  const after = (): void => {
    records++;
    if (records % 2 === 0) {
      cache.close?.();
      cache.open?.();
    }
  };
  return {
    open: () => cache.open?.(),
    close: () => cache.close?.(),
    uncompressedDigest: (d) => cache.uncompressedDigest(d),
    candidateLocations: (t, s, d, o) => cache.candidateLocations(t, s, d, o),
    recordDigestUncompressedPair: (a, u) => {
      cache.recordDigestUncompressedPair(a, u);
      after();
    },
    recordDigestCompressorName: (d, n) => {
      cache.recordDigestCompressorName(d, n);
      after();
    },
    recordKnownLocation: (t, s, d, l) => {
      cache.recordKnownLocation(t, s, d, l);
      after();
    },
  };
}

/**
 * The behaviour every {@link BlobInfoCache} backend must have, as
 * containers/image's BlobInfoCache2 defines it: uncompressed digests,
 * compressor names, known locations and the prioritisation of
 * `candidateLocations` (exact digest first, newest first; then compressed
 * twins, newest first then by digest; then the uncompressed digest; at most
 * five; substitutes of unknown compression skipped). Every test runs three
 * times: without `open()`, inside one `open()`/`close()`, and across
 * several batches.
 *
 * ```ts
 * import { describe, test, expect } from "vitest";
 * blobInfoCacheConformance({ describe, test, expect }, "memory", (clock) => createMemoryCache({ now: () => clock.now() }));
 * ```
 */
export function blobInfoCacheConformance(
  api: TestApi,
  name: string,
  factory: BlobInfoCacheFactory,
  options: BlobInfoCacheConformanceOptions = {},
): void {
  const { describe, test, expect } = api;
  const nothing = options.recordsNothing === true;

  /** `expected`, or what a cache that records nothing returns instead. */
  const want = <V>(expected: V, empty: V): V => (nothing ? empty : expected);
  const seen = (cs: readonly BlobLocationCandidate[]): Seen[] =>
    cs.map((c) => {
      const s: Seen = { digest: c.digest, compressorName: c.compressorName, location: c.location };
      if ((c as { unknownLocation?: boolean }).unknownLocation === true) s.unknownLocation = true;
      return s;
    });
  const cand = (digest: Digest, compressorName: CompressorName, location: string): Seen => ({ digest, compressorName, location });
  const expectCandidates = (actual: readonly BlobLocationCandidate[], expected: Seen[]): void => {
    expect(Array.isArray(actual)).toBe(true);
    expect(seen(actual)).toEqual(want(expected, []));
  };
  const sub = { canSubstitute: true } as const;
  const exact = { canSubstitute: false } as const;

  function cacheTest(title: string, body: (cache: BlobInfoCache, clock: Clock) => void): void {
    for (const mode of MODES) {
      test(`${mode}: ${title}`, async () => {
        const clock = new Clock();
        const raw = factory(clock);
        try {
          let cache = raw;
          if (mode !== "without open()") raw.open?.();
          if (mode === "across several open()/close() batches") cache = splitIntoBatches(raw);
          body(cache, clock);
          if (mode !== "without open()") raw.close?.();
        } finally {
          await options.cleanup?.(raw);
        }
      });
    }
  }

  /** U with twins A (gzip) and B (zstd), U paired with itself, X unrelated (zstd:chunked). */
  function recordFamily(cache: BlobInfoCache, withCompressors: boolean): void {
    cache.recordDigestUncompressedPair(A, U);
    cache.recordDigestUncompressedPair(B, U);
    cache.recordDigestUncompressedPair(U, U);
    if (withCompressors) {
      cache.recordDigestCompressorName(U, "uncompressed");
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordDigestCompressorName(B, "zstd");
      cache.recordDigestCompressorName(X, "zstd:chunked");
    }
  }

  /** For each of U, A, B, X: location "<name>2" then, later, "<name>1", in `scope`. */
  function recordFamilyLocations(cache: BlobInfoCache, scope: string): void {
    for (const suffix of ["2", "1"]) {
      for (const [n, d] of [["U", U], ["A", A], ["B", B], ["X", X]] as const) {
        cache.recordKnownLocation(T, scope, d, scope + n + suffix);
      }
    }
  }

  describe(`BlobInfoCache conformance: ${name}`, () => {
    cacheTest("uncompressedDigest() returns undefined for a digest nothing is known about", (cache) => {
      expect(cache.uncompressedDigest(UNKNOWN)).toBeUndefined();
      recordFamily(cache, true);
      expect(cache.uncompressedDigest(UNKNOWN)).toBeUndefined();
    });

    cacheTest("uncompressedDigest() returns the uncompressed digest recorded for each compressed digest", (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      cache.recordDigestUncompressedPair(B, U);
      expect(cache.uncompressedDigest(A)).toBe(want(U, undefined));
      expect(cache.uncompressedDigest(B)).toBe(want(U, undefined));
    });

    cacheTest("uncompressedDigest() returns a digest recorded as the uncompressed side of a pair as itself", (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      expect(cache.uncompressedDigest(U)).toBe(want(U, undefined));
    });

    cacheTest("uncompressedDigest() returns a digest paired with itself as itself", (cache) => {
      cache.recordDigestUncompressedPair(X, X);
      expect(cache.uncompressedDigest(X)).toBe(want(X, undefined));
    });

    cacheTest('uncompressedDigest() returns a digest recorded with compressor "uncompressed" as itself', (cache) => {
      cache.recordDigestCompressorName(X, "uncompressed");
      expect(cache.uncompressedDigest(X)).toBe(want(X, undefined));
      cache.recordDigestCompressorName(A, "gzip");
      expect(cache.uncompressedDigest(A)).toBeUndefined();
    });

    cacheTest("recordDigestUncompressedPair() recording the same pairs twice keeps them", (cache) => {
      for (let i = 0; i < 2; i++) {
        cache.recordDigestUncompressedPair(A, U);
        expect(cache.uncompressedDigest(A)).toBe(want(U, undefined));
        cache.recordDigestUncompressedPair(B, U);
        expect(cache.uncompressedDigest(B)).toBe(want(U, undefined));
        cache.recordDigestUncompressedPair(U, U);
        expect(cache.uncompressedDigest(U)).toBe(want(U, undefined));
      }
    });

    cacheTest("recordDigestUncompressedPair() with another uncompressed digest replaces the earlier pair", (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordKnownLocation(T, "s", A, "repoA");
      cache.recordDigestUncompressedPair(A, U2);
      expect(cache.uncompressedDigest(A)).toBe(want(U2, undefined));
      // U was known only as A's uncompressed side; after the change nothing is known about it.
      expect(cache.uncompressedDigest(U)).toBeUndefined();
      expect(cache.uncompressedDigest(U2)).toBe(want(U2, undefined));
      expectCandidates(cache.candidateLocations(T, "s", U, sub), []);
      expectCandidates(cache.candidateLocations(T, "s", U2, sub), [cand(A, "gzip", "repoA")]);
    });

    cacheTest('recordDigestCompressorName() with "unknown" forgets the recorded compressor', (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      cache.recordKnownLocation(T, "s", A, "repoA");
      cache.recordDigestCompressorName(A, "gzip");
      expectCandidates(cache.candidateLocations(T, "s", A, exact), [cand(A, "gzip", "repoA")]);
      expectCandidates(cache.candidateLocations(T, "s", U, sub), [cand(A, "gzip", "repoA")]);
      cache.recordDigestCompressorName(A, "unknown");
      expectCandidates(cache.candidateLocations(T, "s", A, exact), [cand(A, "unknown", "repoA")]);
      expectCandidates(cache.candidateLocations(T, "s", U, sub), []);
      cache.recordDigestCompressorName(A, "zstd");
      expectCandidates(cache.candidateLocations(T, "s", U, sub), [cand(A, "zstd", "repoA")]);
    });

    cacheTest("recordKnownLocation() keeps transports, scopes and digests apart", (cache) => {
      recordFamily(cache, true);
      for (let i = 0; i < 2; i++) {
        cache.recordKnownLocation(T, "s1", A, "t-s1-A");
        cache.recordKnownLocation(T2, "s1", A, "t2-s1-A");
        cache.recordKnownLocation(T, "s2", A, "t-s2-A");
        cache.recordKnownLocation(T, "s1", B, "t-s1-B");
      }
      expectCandidates(cache.candidateLocations(T, "s1", A, exact), [cand(A, "gzip", "t-s1-A")]);
      expectCandidates(cache.candidateLocations(T2, "s1", A, exact), [cand(A, "gzip", "t2-s1-A")]);
      expectCandidates(cache.candidateLocations(T, "s2", A, exact), [cand(A, "gzip", "t-s2-A")]);
      expectCandidates(cache.candidateLocations(T, "s1", B, exact), [cand(B, "zstd", "t-s1-B")]);
      expectCandidates(cache.candidateLocations(T2, "s2", A, exact), []);
      expectCandidates(cache.candidateLocations(T2, "s1", A, sub), [cand(A, "gzip", "t2-s1-A")]);
      expectCandidates(cache.candidateLocations(T, "s3", A, sub), []);
    });

    cacheTest("candidateLocations() returns nothing for a digest nothing is known about", (cache) => {
      expectCandidates(cache.candidateLocations(T, "s", UNKNOWN, exact), []);
      expectCandidates(cache.candidateLocations(T, "s", UNKNOWN, sub), []);
      recordFamily(cache, true);
      recordFamilyLocations(cache, "s");
      expectCandidates(cache.candidateLocations(T, "s", UNKNOWN, sub), []);
    });

    cacheTest("candidateLocations() without substitution returns only the exact digest, newest first", (cache) => {
      recordFamily(cache, true);
      for (const scope of ["A", "B"]) recordFamilyLocations(cache, scope);
      for (const scope of ["A", "B"]) {
        for (const [n, d, c] of [["U", U, "uncompressed"], ["A", A, "gzip"], ["B", B, "zstd"], ["X", X, "zstd:chunked"]] as const) {
          expectCandidates(cache.candidateLocations(T, scope, d, exact), [cand(d, c, scope + n + "1"), cand(d, c, scope + n + "2")]);
        }
      }
    });

    cacheTest("candidateLocations() with substitution returns the digest, then its compressed twins, then the uncompressed digest", (cache) => {
      recordFamily(cache, true);
      for (const scope of ["A", "B"]) recordFamilyLocations(cache, scope);
      for (const s of ["A", "B"]) {
        expectCandidates(cache.candidateLocations(T, s, A, sub), [
          cand(A, "gzip", s + "A1"),
          cand(A, "gzip", s + "A2"),
          cand(B, "zstd", s + "B1"),
          cand(B, "zstd", s + "B2"),
          cand(U, "uncompressed", s + "U1"), // the sixth, U2, is beyond the limit
        ]);
        expectCandidates(cache.candidateLocations(T, s, B, sub), [
          cand(B, "zstd", s + "B1"),
          cand(B, "zstd", s + "B2"),
          cand(A, "gzip", s + "A1"),
          cand(A, "gzip", s + "A2"),
          cand(U, "uncompressed", s + "U1"),
        ]);
      }
    });

    cacheTest("candidateLocations() of an uncompressed digest returns its own locations, then the twins newest first", (cache) => {
      recordFamily(cache, true);
      recordFamilyLocations(cache, "s");
      // Recorded in the order U2 A2 B2 X2 U1 A1 B1 X1: among the twins B1 is the newest.
      expectCandidates(cache.candidateLocations(T, "s", U, sub), [
        cand(U, "uncompressed", "sU1"),
        cand(U, "uncompressed", "sU2"),
        cand(B, "zstd", "sB1"),
        cand(A, "gzip", "sA1"),
        cand(B, "zstd", "sB2"),
      ]);
    });

    cacheTest("candidateLocations() with substitution of a digest with no relations returns only its own locations", (cache) => {
      recordFamily(cache, true);
      recordFamilyLocations(cache, "s");
      expectCandidates(cache.candidateLocations(T, "s", X, sub), [cand(X, "zstd:chunked", "sX1"), cand(X, "zstd:chunked", "sX2")]);
    });

    cacheTest("candidateLocations() returns at most five candidates, the newest", (cache) => {
      cache.recordDigestCompressorName(A, "gzip");
      for (let i = 1; i <= 8; i++) cache.recordKnownLocation(T, "s", A, `repo${i}`);
      expectCandidates(
        cache.candidateLocations(T, "s", A, exact),
        [8, 7, 6, 5, 4].map((i) => cand(A, "gzip", `repo${i}`)),
      );
    });

    cacheTest("candidateLocations() puts a location recorded again before the others", (cache) => {
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordKnownLocation(T, "s", A, "first");
      cache.recordKnownLocation(T, "s", A, "second");
      expectCandidates(cache.candidateLocations(T, "s", A, exact), [cand(A, "gzip", "second"), cand(A, "gzip", "first")]);
      cache.recordKnownLocation(T, "s", A, "first");
      expectCandidates(cache.candidateLocations(T, "s", A, exact), [cand(A, "gzip", "first"), cand(A, "gzip", "second")]);
    });

    cacheTest("candidateLocations() reports when each location was last seen", (cache, clock) => {
      const t1 = START + 3_600_000;
      const t2 = t1 + 60_000;
      cache.recordDigestCompressorName(A, "gzip");
      clock.hold(t1);
      cache.recordKnownLocation(T, "s", A, "repo");
      const first = cache.candidateLocations(T, "s", A, exact);
      expect(first.map((c) => c.lastSeen?.getTime())).toEqual(want([t1], []));
      clock.hold(t2);
      cache.recordKnownLocation(T, "s", A, "repo");
      const second = cache.candidateLocations(T, "s", A, exact);
      expect(second.map((c) => c.lastSeen?.getTime())).toEqual(want([t2], []));
      for (const c of second) expect(c.lastSeen).toBeInstanceOf(Date);
    });

    cacheTest("candidateLocations() orders twins seen at the same time by digest", (cache, clock) => {
      for (const d of [C, B, A]) {
        cache.recordDigestUncompressedPair(d, U);
        cache.recordDigestCompressorName(d, "gzip");
      }
      clock.hold(START + 10_000);
      for (const d of [C, B, A]) cache.recordKnownLocation(T, "s", d, "repo");
      clock.release();
      expectCandidates(cache.candidateLocations(T, "s", U, sub), [cand(A, "gzip", "repo"), cand(B, "gzip", "repo"), cand(C, "gzip", "repo")]);
    });

    cacheTest("candidateLocations() skips substitutes whose compressor is unknown but keeps the asked digest", (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      cache.recordDigestUncompressedPair(B, U);
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordKnownLocation(T, "s", U, "repoU");
      cache.recordKnownLocation(T, "s", A, "repoA");
      cache.recordKnownLocation(T, "s", B, "repoB");
      expectCandidates(cache.candidateLocations(T, "s", A, sub), [cand(A, "gzip", "repoA"), cand(U, "uncompressed", "repoU")]);
      expectCandidates(cache.candidateLocations(T, "s", B, sub), [
        cand(B, "unknown", "repoB"),
        cand(A, "gzip", "repoA"),
        cand(U, "uncompressed", "repoU"),
      ]);
      expectCandidates(cache.candidateLocations(T, "s", B, exact), [cand(B, "unknown", "repoB")]);
    });

    cacheTest('candidateLocations() reports the uncompressed side of a pair as "uncompressed"', (cache) => {
      cache.recordDigestUncompressedPair(A, U);
      cache.recordKnownLocation(T, "s", U, "repoU");
      expectCandidates(cache.candidateLocations(T, "s", U, exact), [cand(U, "uncompressed", "repoU")]);
    });

    cacheTest("candidateLocations() with requiredCompression returns only candidates of that compression", (cache) => {
      for (const [d, c] of [[G, "gzip"], [Z, "zstd"], [ZC, "zstd:chunked"]] as const) {
        cache.recordDigestUncompressedPair(d, FU);
        cache.recordDigestCompressorName(d, c);
        cache.recordKnownLocation(T, "s", d, c);
      }
      cache.recordKnownLocation(T, "s", FU, "plain");
      const q = (o: ExtendedOptions): Seen[] => seen(cache.candidateLocations(T, "s", FU, o));
      expect(q({ canSubstitute: true })).toEqual(
        want([cand(FU, "uncompressed", "plain"), cand(ZC, "zstd:chunked", "zstd:chunked"), cand(Z, "zstd", "zstd"), cand(G, "gzip", "gzip")], []),
      );
      expect(q({ canSubstitute: true, requiredCompression: "gzip" })).toEqual(want([cand(G, "gzip", "gzip")], []));
      expect(q({ canSubstitute: true, requiredCompression: "zstd" })).toEqual(
        want([cand(ZC, "zstd:chunked", "zstd:chunked"), cand(Z, "zstd", "zstd")], []),
      );
      expect(q({ canSubstitute: true, requiredCompression: "uncompressed" })).toEqual(want([cand(FU, "uncompressed", "plain")], []));
      expect(q({ canSubstitute: true, requiredCompression: "xz" })).toEqual([]);
      expect(q({ canSubstitute: false, requiredCompression: "gzip" })).toEqual([]);
    });

    cacheTest("candidateLocations() with acceptCompression drops the candidates it rejects", (cache) => {
      for (const [d, c] of [[G, "gzip"], [Z, "zstd"]] as const) {
        cache.recordDigestUncompressedPair(d, FU);
        cache.recordDigestCompressorName(d, c);
        cache.recordKnownLocation(T, "s", d, c);
      }
      cache.recordKnownLocation(T, "s", FU, "plain");
      const asked: string[] = [];
      const o: ExtendedOptions = {
        canSubstitute: true,
        acceptCompression: (c) => {
          asked.push(c);
          return c !== "zstd";
        },
      };
      expectCandidates(cache.candidateLocations(T, "s", G, o), [cand(G, "gzip", "gzip"), cand(FU, "uncompressed", "plain")]);
      if (!nothing) expect(asked).toContain("zstd");
    });

    cacheTest("candidateLocations() with includeUnknownLocations adds known variants without a location last, at most two", (cache) => {
      const o: ExtendedOptions = { canSubstitute: true, includeUnknownLocations: true };
      cache.recordDigestCompressorName(K, "bzip2");
      expectCandidates(cache.candidateLocations(T, "s", K, o), [{ digest: K, compressorName: "bzip2", location: "", unknownLocation: true }]);
      for (const c of cache.candidateLocations(T, "s", K, o)) expect(c.lastSeen).toBeUndefined();
      cache.recordKnownLocation(T, "s", K, "somewhere");
      expectCandidates(cache.candidateLocations(T, "s", K, o), [cand(K, "bzip2", "somewhere")]);

      // U has twins A, B, C (known compressors) and no locations anywhere.
      for (const d of [A, B, C]) {
        cache.recordDigestUncompressedPair(d, U);
        cache.recordDigestCompressorName(d, "gzip");
      }
      const unknownAt = (d: Digest): Seen => ({ digest: d, compressorName: "gzip", location: "", unknownLocation: true });
      expectCandidates(cache.candidateLocations(T, "s", A, o), [unknownAt(A), unknownAt(B)]);
      // Without the option, nothing is known.
      expectCandidates(cache.candidateLocations(T, "s", A, sub), []);
      // Located candidates come first; unknown ones fill what is left of the five.
      for (let i = 1; i <= 4; i++) cache.recordKnownLocation(T, "s", C, `c${i}`);
      expectCandidates(cache.candidateLocations(T, "s", A, o), [
        cand(C, "gzip", "c4"),
        cand(C, "gzip", "c3"),
        cand(C, "gzip", "c2"),
        cand(C, "gzip", "c1"),
        unknownAt(A),
      ]);
      cache.recordKnownLocation(T, "s", C, "c5");
      expect(seen(cache.candidateLocations(T, "s", A, o)).some((c) => c.unknownLocation === true)).toBe(false);
    });

    cacheTest("record methods ignore malformed digests and names without throwing", (cache) => {
      const bad = ["", "nonsense", "sha256:xyz", "SHA256:" + "2".repeat(64)] as unknown as Digest[];
      for (const d of bad) {
        expect(() => cache.recordDigestUncompressedPair(d, U)).not.toThrow();
        expect(() => cache.recordDigestUncompressedPair(A, d)).not.toThrow();
        expect(() => cache.recordDigestCompressorName(d, "gzip")).not.toThrow();
        expect(() => cache.recordKnownLocation(T, "s", d, "repo")).not.toThrow();
        expect(cache.uncompressedDigest(d)).toBeUndefined();
        expect(cache.candidateLocations(T, "s", d, sub)).toEqual([]);
      }
      expect(() => cache.recordKnownLocation(T, "s", A, "")).not.toThrow();
      expect(cache.uncompressedDigest(A)).toBeUndefined();
      expect(cache.uncompressedDigest(U)).toBeUndefined();
      expect(cache.candidateLocations(T, "s", A, sub)).toEqual([]);
    });

    cacheTest("candidateLocations() returns copies that the caller may change", (cache) => {
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordKnownLocation(T, "s", A, "repo");
      const first = cache.candidateLocations(T, "s", A, exact);
      const before = first[0]?.lastSeen?.getTime();
      if (first[0] !== undefined) {
        first[0].location = "changed";
        first[0].lastSeen?.setTime(0);
      }
      first.push(cand(B, "zstd", "added"));
      const again = cache.candidateLocations(T, "s", A, exact);
      expectCandidates(again, [cand(A, "gzip", "repo")]);
      expect(again[0]?.lastSeen?.getTime()).toBe(before);
    });
  });

  describe(`BlobInfoCache conformance: ${name}: open() and close()`, () => {
    test("nested open()/close() pairs keep what was recorded inside them", async () => {
      const clock = new Clock();
      const cache = factory(clock);
      try {
        cache.open?.();
        cache.open?.();
        cache.recordDigestUncompressedPair(A, U);
        cache.recordDigestCompressorName(A, "gzip");
        cache.recordKnownLocation(T, "s", A, "repo");
        cache.close?.();
        expect(cache.uncompressedDigest(A)).toBe(want(U, undefined));
        cache.close?.();
        expect(cache.uncompressedDigest(A)).toBe(want(U, undefined));
        expectCandidates(cache.candidateLocations(T, "s", U, sub), [cand(A, "gzip", "repo")]);
        cache.open?.();
        expectCandidates(cache.candidateLocations(T, "s", A, exact), [cand(A, "gzip", "repo")]);
        cache.close?.();
      } finally {
        await options.cleanup?.(cache);
      }
    });

    test("close() without open() does not throw and loses nothing", async () => {
      const cache = factory(new Clock());
      try {
        cache.recordDigestUncompressedPair(A, U);
        expect(() => cache.close?.()).not.toThrow();
        expect(cache.uncompressedDigest(A)).toBe(want(U, undefined));
      } finally {
        await options.cleanup?.(cache);
      }
    });
  });
}
