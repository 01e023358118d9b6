import { fromUtf8, type BlobInfoCache, type Digest } from "@stevedore/types";

/** A cache that records nothing, so suites do not depend on a cache backend. */
export const nullCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

export interface Descriptor {
  digest: Digest;
  size: number;
  mediaType?: string;
}

/** The config and layer descriptors of a schema2/OCI manifest, or the instances of an index (JSON only, no validation). */
export function descriptorsOf(manifest: Uint8Array): { config?: Descriptor; layers: Descriptor[]; manifests?: Descriptor[] } {
  const m = JSON.parse(fromUtf8(manifest)) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
  return { config: m.config, layers: m.layers ?? [], manifests: m.manifests };
}
