import { blobInfoCacheConformance } from "@stevedore/testing";
import {
  MAX_CANDIDATES,
  MemoryBlobInfoCache,
  createMemoryCache,
  prioritizeCandidates,
  type UnrankedCandidate,
} from "@stevedore/blobinfocache-memory";
import type { Digest } from "@stevedore/types";
import fc from "fast-check";
import { describe, expect, test } from "vitest";

blobInfoCacheConformance({ describe, test, expect }, "memory", (clock) => createMemoryCache({ now: () => clock.now() }));

const d = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;
const U = d("2");
const A = d("3");

describe("MemoryBlobInfoCache", () => {
  test("createMemoryCache() returns a new, empty MemoryBlobInfoCache each time", () => {
    const one = createMemoryCache();
    const two = createMemoryCache();
    expect(one).toBeInstanceOf(MemoryBlobInfoCache);
    one.recordDigestUncompressedPair(A, U);
    expect(one.uncompressedDigest(A)).toBe(U);
    expect(two.uncompressedDigest(A)).toBeUndefined();
  });

  test("recordKnownLocation() without an injected clock stamps the system time", () => {
    const cache = createMemoryCache();
    const before = Date.now();
    cache.recordKnownLocation("docker", "reg", A, "repo");
    const after = Date.now();
    const [c] = cache.candidateLocations("docker", "reg", A, { canSubstitute: false });
    expect(c?.lastSeen?.getTime()).toBeGreaterThanOrEqual(before);
    expect(c?.lastSeen?.getTime()).toBeLessThanOrEqual(after);
  });

  test("recordKnownLocationAt() keeps the latest of the times it is given", () => {
    const cache = createMemoryCache();
    cache.recordKnownLocationAt("docker", "reg", A, "repo", new Date(5000));
    cache.recordKnownLocationAt("docker", "reg", A, "repo", new Date(1000));
    expect(cache.candidateLocations("docker", "reg", A, { canSubstitute: false }).map((c) => c.lastSeen?.getTime())).toEqual([5000]);
    cache.recordKnownLocationAt("docker", "reg", A, "repo", new Date(9000));
    expect(cache.candidateLocations("docker", "reg", A, { canSubstitute: false }).map((c) => c.lastSeen?.getTime())).toEqual([9000]);
  });

  test("recordKnownLocationAt() with an invalid date records nothing", () => {
    const cache = createMemoryCache();
    cache.recordKnownLocationAt("docker", "reg", A, "repo", new Date(Number.NaN));
    expect(cache.candidateLocations("docker", "reg", A, { canSubstitute: false })).toEqual([]);
  });
});

describe("prioritizeCandidates()", () => {
  const digests = ["1", "2", "3", "4", "5"].map(d);
  const arbCandidate = fc.record({
    digest: fc.constantFrom(...digests),
    compressorName: fc.constantFrom("gzip", "zstd", "uncompressed"),
    location: fc.option(fc.constantFrom("a", "b", "c", "d"), { nil: undefined }),
    lastSeen: fc.integer({ min: 0, max: 20 }),
  }).map((c): UnrankedCandidate => (c.location === undefined ? { ...c, lastSeen: undefined } : c));

  test("returns at most five, the asked digest first, the uncompressed digest last, newest first within a digest", () => {
    fc.assert(
      fc.property(
        fc.array(arbCandidate, { maxLength: 30 }),
        fc.constantFrom(...digests),
        fc.option(fc.constantFrom(...digests), { nil: undefined }),
        (cs, primary, uncompressed) => {
          const out = prioritizeCandidates(cs, primary, uncompressed);
          expect(out.length).toBeLessThanOrEqual(MAX_CANDIDATES);
          const located = cs.filter((c) => c.location !== undefined);
          expect(out.filter((c) => c.unknownLocation !== true).length).toBe(Math.min(MAX_CANDIDATES, located.length));
          const rank = (x: Digest): number => (x === primary ? 0 : x === uncompressed ? 2 : 1);
          const known = out.filter((c) => c.unknownLocation !== true);
          for (let i = 1; i < known.length; i++) {
            const p = known[i - 1]!;
            const c = known[i]!;
            expect(rank(p.digest)).toBeLessThanOrEqual(rank(c.digest));
            if (rank(p.digest) === rank(c.digest)) expect(p.lastSeen!.getTime()).toBeGreaterThanOrEqual(c.lastSeen!.getTime());
          }
          // Unknown-location candidates only after the located ones.
          const firstUnknown = out.findIndex((c) => c.unknownLocation === true);
          if (firstUnknown >= 0) expect(out.slice(firstUnknown).every((c) => c.unknownLocation === true)).toBe(true);
        },
      ),
    );
  });
});
