import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidManifestError, SizeLimitExceededError, StevedoreError, type Digest } from "@stevedore/types";
import {
  isOCIImage,
  ociArtifactType,
  OCI_EMPTY_MEDIA_TYPE,
  parseOCIIndex,
  parseOCIManifest,
  serializeOCIIndex,
  serializeOCIManifest,
  type OCIDescriptor,
  type OCIManifest,
} from "@stevedore/manifest-oci";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (o: unknown) => enc.encode(JSON.stringify(o));
const D1 = `sha256:${"a".repeat(64)}` as Digest;
const D2 = `sha256:${"b".repeat(64)}` as Digest;

const minimal = () => ({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D1, size: 10 },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D2, size: 20 }],
});

describe("parseOCIManifest()", () => {
  test("parses the image-spec example manifest field by field", () => {
    const m = parseOCIManifest(fixture("image-spec-manifest.json"));
    expect(m.config).toEqual({
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
      size: 7023,
    });
    expect(m.layers.map((l) => [l.digest.slice(7, 15), l.size])).toEqual([
      ["9834876d", 32654],
      ["3c3a4604", 16724],
      ["ec4b8955", 73109],
    ]);
    expect(m.subject?.digest).toBe("sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270");
    expect(m.annotations).toEqual({ "com.example.key1": "value1", "com.example.key2": "value2" });
    expect(isOCIImage(m)).toBe(true);
  });

  test("parses the image-spec artifact example with embedded data", () => {
    const m = parseOCIManifest(fixture("image-spec-artifact.json"));
    expect(m.artifactType).toBe("application/vnd.example+type");
    expect(m.config.mediaType).toBe(OCI_EMPTY_MEDIA_TYPE);
    expect(dec.decode(m.config.data)).toBe("{}");
    expect(isOCIImage(m)).toBe(false);
    expect(ociArtifactType(m)).toBe("application/vnd.example+type");
  });

  test("accepts a manifest without mediaType (image-spec before 1.0.2)", () => {
    const o: Record<string, unknown> = minimal();
    delete o.mediaType;
    expect(parseOCIManifest(json(o)).mediaType).toBeUndefined();
  });

  test.each<[string, (o: Record<string, any>) => void, RegExp]>([
    ["an invalid layer digest", (o) => (o.layers[0].digest = "sha256:xyz"), /layers\[0\]\.digest: invalid digest/],
    ["an uppercase digest", (o) => (o.config.digest = `sha256:${"A".repeat(64)}`), /config\.digest: .*lowercase/],
    ["an unsupported algorithm", (o) => (o.config.digest = `md5:${"a".repeat(32)}`), /unsupported algorithm/],
    ["a negative size", (o) => (o.layers[0].size = -1), /layers\[0\]\.size: must not be negative/],
    ["a fractional size", (o) => (o.layers[0].size = 1.5), /layers\[0\]\.size: must be an integer/],
    ["a size too large to be exact", (o) => (o.layers[0].size = 2 ** 60), /too large/],
    ["a string size", (o) => (o.layers[0].size = "20"), /must be an integer, got a string/],
    ["schemaVersion 1", (o) => (o.schemaVersion = 1), /schemaVersion: must be 2, got 1/],
    ["a missing schemaVersion", (o) => delete o.schemaVersion, /schemaVersion: missing/],
    ["another mediaType", (o) => (o.mediaType = "application/vnd.oci.image.index.v1+json"), /mediaType: is "application\/vnd.oci.image.index.v1\+json"/],
    ["a missing config", (o) => delete o.config, /config: missing/],
    ["missing layers", (o) => delete o.layers, /layers: missing/],
    ["an empty layer mediaType", (o) => (o.layers[0].mediaType = ""), /mediaType: must not be empty/],
    ["a manifests field (ambiguous)", (o) => (o.manifests = []), /ambiguous manifest.*"manifests"/],
    ["an fsLayers field (ambiguous)", (o) => (o.fsLayers = []), /ambiguous manifest.*"fsLayers"/],
    ["a differently cased essential field (ambiguous)", (o) => (o.Manifests = []), /ambiguous manifest.*"Manifests"/],
    ["a differently cased known field", (o) => (o.layers[0].Digest = D1), /unexpected field "Digest".*case-sensitive/],
    ["annotations with a non-string value", (o) => (o.annotations = { a: 1 }), /annotations\["a"\]: must be a string/],
    ["data that is not base64", (o) => (o.config.data = "!!"), /data: is not valid base64/],
    ["data that does not match the digest", (o) => Object.assign(o.config, { data: "e30=", size: 2 }), /data: does not match digest/],
    ["data that does not match the size", (o) => (o.config.data = "e30="), /data: holds 2 bytes but size is 10/],
    ["a platform without os", (o) => (o.config.platform = { architecture: "amd64" }), /config\.platform\.os: missing/],
  ])("refuses %s with InvalidManifestError", (_what, mutate, message) => {
    const o = minimal();
    mutate(o);
    expect(() => parseOCIManifest(json(o))).toThrow(InvalidManifestError);
    expect(() => parseOCIManifest(json(o))).toThrow(message);
  });

  test("refuses non-JSON and non-objects", () => {
    expect(() => parseOCIManifest(enc.encode("not json"))).toThrow(/not valid JSON/);
    expect(() => parseOCIManifest(enc.encode("[]"))).toThrow(/must be a JSON object, got an array/);
  });

  test("refuses a 5 MiB manifest with SizeLimitExceededError", () => {
    const o = minimal() as Record<string, unknown>;
    o.annotations = { big: "x".repeat(5 * 1024 * 1024) };
    expect(() => parseOCIManifest(json(o))).toThrow(SizeLimitExceededError);
  });

  test("allows duplicate keys, the last one winning as in Go", () => {
    const text = dec.decode(json(minimal())).replace('"schemaVersion":2', '"schemaVersion":1,"schemaVersion":2');
    expect(parseOCIManifest(enc.encode(text)).schemaVersion).toBe(2);
  });
});

describe("serializeOCIManifest()", () => {
  test("writes Go's field order and leaves empty optional fields out", () => {
    const m = parseOCIManifest(fixture("image-spec-manifest.json"));
    const out = dec.decode(serializeOCIManifest({ ...m, annotations: { z: "<1>", a: "2" } }));
    expect(out.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":')).toBe(true);
    expect(out).toContain('"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5b0b');
    expect(out.endsWith('"annotations":{"a":"2","z":"\\u003c1\\u003e"}}')).toBe(true);
    expect(dec.decode(serializeOCIManifest({ ...m, annotations: {} }))).not.toContain("annotations");
  });

  test("re-encodes embedded data as standard base64", () => {
    const m = parseOCIManifest(fixture("image-spec-artifact.json"));
    expect(dec.decode(serializeOCIManifest(m))).toContain('"size":2,"data":"e30="}');
  });

  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
  const str = fc.string({ maxLength: 12 });
  const descriptor: fc.Arbitrary<OCIDescriptor> = fc.record(
    {
      mediaType: str.filter((s) => s.length > 0),
      digest,
      size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      urls: fc.array(str, { minLength: 1, maxLength: 2 }),
      annotations: fc.dictionary(str, str, { minKeys: 1, maxKeys: 3 }),
      artifactType: str.filter((s) => s.length > 0),
      platform: fc.record(
        { architecture: str, os: str, variant: str.filter((s) => s.length > 0), osVersion: str.filter((s) => s.length > 0), osFeatures: fc.array(str, { minLength: 1, maxLength: 2 }) },
        { requiredKeys: ["architecture", "os"] },
      ),
    },
    { requiredKeys: ["mediaType", "digest", "size"] },
  );
  const manifest: fc.Arbitrary<OCIManifest> = fc.record(
    {
      schemaVersion: fc.constant(2 as const),
      mediaType: fc.constant("application/vnd.oci.image.manifest.v1+json"),
      artifactType: str.filter((s) => s.length > 0),
      config: descriptor,
      layers: fc.array(descriptor, { maxLength: 4 }),
      subject: descriptor,
      annotations: fc.dictionary(str, str, { minKeys: 1, maxKeys: 3 }),
    },
    { requiredKeys: ["schemaVersion", "config", "layers"] },
  );

  test("round-trips random valid manifests: parse(serialize(m)) equals m and re-serialises to the same bytes", () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const bytes = serializeOCIManifest(m);
        const back = parseOCIManifest(bytes);
        expect(back).toEqual(m);
        expect(serializeOCIManifest(back)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  test("never crashes on random bytes: a typed error or a manifest", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseOCIManifest(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(StevedoreError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseOCIIndex()", () => {
  test("parses the image-spec example index", () => {
    const idx = parseOCIIndex(fixture("image-spec-index.json"));
    expect(idx.manifests.map((m) => m.platform)).toEqual([
      { architecture: "ppc64le", os: "linux" },
      { architecture: "amd64", os: "linux" },
    ]);
    expect(idx.annotations?.["com.example.key1"]).toBe("value1");
  });

  test("accepts an empty index (an empty OCI layout)", () => {
    expect(parseOCIIndex(enc.encode('{"schemaVersion":2,"manifests":[]}')).manifests).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ["layers (ambiguous)", { schemaVersion: 2, manifests: [], layers: [] }, /ambiguous manifest.*"layers"/],
    ["config (ambiguous)", { schemaVersion: 2, manifests: [], config: {} }, /ambiguous/],
    ["no manifests", { schemaVersion: 2 }, /manifests: missing/],
    ["a manifest mediaType", { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", manifests: [] }, /mediaType/],
    ["a bad entry digest", { schemaVersion: 2, manifests: [{ mediaType: "x", digest: "sha256:1", size: 1 }] }, /manifests\[0\]\.digest/],
  ])("refuses an index with %s", (_w, o, message) => {
    expect(() => parseOCIIndex(json(o))).toThrow(message);
  });

  test("serialises an index as Go does and parses it back", () => {
    const idx = parseOCIIndex(fixture("image-spec-index.json"));
    const bytes = serializeOCIIndex(idx);
    expect(dec.decode(bytes)).toBe(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' +
        '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","size":7143,"platform":{"architecture":"ppc64le","os":"linux"}},' +
        '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","size":7682,"platform":{"architecture":"amd64","os":"linux"}}],' +
        '"annotations":{"com.example.key1":"value1","com.example.key2":"value2"}}',
    );
    expect(parseOCIIndex(bytes)).toEqual(idx);
  });
});
