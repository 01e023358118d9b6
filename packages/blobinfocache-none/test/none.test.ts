import { blobInfoCacheConformance } from "@stevedore/testing";
import { createNoneCache, noneCache } from "@stevedore/blobinfocache-none";
import type { Digest } from "@stevedore/types";
import { describe, expect, test } from "vitest";

blobInfoCacheConformance({ describe, test, expect }, "none", () => createNoneCache(), { recordsNothing: true });

const A = `sha256:${"3".repeat(64)}` as Digest;
const U = `sha256:${"2".repeat(64)}` as Digest;

describe("noneCache", () => {
  test("createNoneCache() returns the shared frozen noneCache", () => {
    expect(createNoneCache()).toBe(noneCache);
    expect(Object.isFrozen(noneCache)).toBe(true);
  });

  test("candidateLocations() returns a new empty array on every call", () => {
    noneCache.recordDigestUncompressedPair(A, U);
    noneCache.recordKnownLocation("docker", "registry.example", A, "library/busybox");
    const first = noneCache.candidateLocations("docker", "registry.example", A, { canSubstitute: true });
    first.push({ digest: A, compressorName: "gzip", location: "x" });
    expect(noneCache.candidateLocations("docker", "registry.example", A, { canSubstitute: true })).toEqual([]);
    expect(noneCache.uncompressedDigest(A)).toBeUndefined();
  });
});
