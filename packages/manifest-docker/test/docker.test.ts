import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidManifestError, StevedoreError, type Digest } from "@stevedore/types";
import {
  DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  parseSchema2List,
  parseSchema2Manifest,
  serializeSchema2List,
  serializeSchema2Manifest,
  type Schema2List,
  type Schema2Manifest,
} from "@stevedore/manifest-docker";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (o: unknown) => enc.encode(JSON.stringify(o));

describe("parseSchema2Manifest()", () => {
  test("parses a schema 2 manifest field by field, foreign layer URLs included", () => {
    const m = parseSchema2Manifest(fixture("docker-schema2.json"));
    expect(m.config).toEqual({
      mediaType: "application/vnd.docker.container.image.v1+json",
      size: 7023,
      digest: "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    });
    expect(m.layers).toHaveLength(3);
    expect(m.layers[2]).toEqual({
      mediaType: DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
      size: 73109,
      digest: "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
      urls: ["https://mcr.microsoft.example/layer"],
    });
  });

  test("serialises in the Go library's field order (mediaType, size, digest)", () => {
    const m = parseSchema2Manifest(fixture("docker-schema2.json"));
    const out = dec.decode(serializeSchema2Manifest(m));
    expect(out.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:b5b2')).toBe(true);
    expect(out).toContain('"urls":["https://mcr.microsoft.example/layer"]}]}');
    expect(parseSchema2Manifest(enc.encode(out))).toEqual(m);
  });

  const base = () => JSON.parse(dec.decode(fixture("docker-schema2.json"))) as Record<string, any>;
  test.each<[string, (o: Record<string, any>) => void, RegExp]>([
    ["a missing mediaType", (o) => delete o.mediaType, /mediaType: missing/],
    ["an OCI mediaType", (o) => (o.mediaType = "application/vnd.oci.image.manifest.v1+json"), /mediaType: is "application\/vnd.oci/],
    ["an OCI layer type", (o) => (o.layers[0].mediaType = "application/vnd.oci.image.layer.v1.tar+gzip"), /is not a Docker schema 2 layer type/],
    ["schemaVersion 1", (o) => (o.schemaVersion = 1), /must be 2/],
    ["an invalid digest", (o) => (o.layers[1].digest = "sha256:zz"), /layers\[1\]\.digest/],
    ["a negative size", (o) => (o.config.size = -5), /config\.size: must not be negative/],
    ["a size in exponent form", (o) => (o.config.size = 1e21), /config\.size/],
    ["fsLayers (ambiguous)", (o) => (o.fsLayers = []), /ambiguous manifest/],
    ["manifests (ambiguous)", (o) => (o.manifests = []), /ambiguous manifest/],
  ])("refuses %s with InvalidManifestError", (_w, mutate, message) => {
    const o = base();
    mutate(o);
    expect(() => parseSchema2Manifest(json(o))).toThrow(InvalidManifestError);
    expect(() => parseSchema2Manifest(json(o))).toThrow(message);
  });

  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
  const desc = (mediaType: fc.Arbitrary<string>) =>
    fc.record({ mediaType, size: fc.nat(), digest, urls: fc.array(fc.webUrl(), { minLength: 1, maxLength: 2 }) }, { requiredKeys: ["mediaType", "size", "digest"] });
  const manifest: fc.Arbitrary<Schema2Manifest> = fc.record({
    schemaVersion: fc.constant(2 as const),
    mediaType: fc.constant(DOCKER_SCHEMA2_MEDIA_TYPE),
    config: desc(fc.string({ minLength: 1 })),
    layers: fc.array(desc(fc.constantFrom("application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar", DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE)), { maxLength: 4 }),
  });

  test("round-trips random valid manifests", () => {
    fc.assert(
      fc.property(manifest, (m) => {
        const bytes = serializeSchema2Manifest(m);
        expect(parseSchema2Manifest(bytes)).toEqual(m);
      }),
      { numRuns: 200 },
    );
  });

  test("never crashes on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseSchema2Manifest(b);
        } catch (e) {
          expect(e).toBeInstanceOf(StevedoreError);
        }
      }),
    );
  });
});

describe("parseSchema2List()", () => {
  test("parses platforms, including Docker's features and Windows os.version", () => {
    const l = parseSchema2List(fixture("docker-list.json"));
    expect(l.manifests.map((m) => m.platform)).toEqual([
      { architecture: "ppc64le", os: "linux" },
      { architecture: "amd64", os: "linux", features: ["sse4"] },
      { architecture: "arm", os: "linux", variant: "v7" },
      { architecture: "amd64", os: "windows", osVersion: "10.0.14393.1066", osFeatures: ["win32k"] },
    ]);
  });

  test("serialises in Go's order and parses back to the same list", () => {
    const l = parseSchema2List(fixture("docker-list.json"));
    const out = serializeSchema2List(l);
    expect(dec.decode(out)).toContain(
      '{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":7682,"digest":"sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.14393.1066","os.features":["win32k"]}}',
    );
    expect(parseSchema2List(out)).toEqual<Schema2List>(l);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ["an entry without platform", { schemaVersion: 2, mediaType: DOCKER_LIST_MEDIA_TYPE, manifests: [{ mediaType: "x", size: 1, digest: `sha256:${"1".repeat(64)}` }] }, /platform: missing/],
    ["a platform without architecture", { schemaVersion: 2, mediaType: DOCKER_LIST_MEDIA_TYPE, manifests: [{ mediaType: "x", size: 1, digest: `sha256:${"1".repeat(64)}`, platform: { os: "linux" } }] }, /architecture: missing/],
    ["layers (ambiguous)", { schemaVersion: 2, mediaType: DOCKER_LIST_MEDIA_TYPE, manifests: [], layers: [] }, /ambiguous/],
    ["no mediaType", { schemaVersion: 2, manifests: [] }, /mediaType: missing/],
  ])("refuses a list with %s", (_w, o, message) => {
    expect(() => parseSchema2List(json(o))).toThrow(message);
  });
});
