import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { digestOf, InvalidDigestError, InvalidManifestError, SignatureInvalidError, SizeLimitExceededError, StevedoreError, UnsupportedManifestTypeError } from "@stevedore/types";
import {
  defaultAcceptMIMETypes,
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA1_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  guessMIMEType,
  manifestDigest,
  matchesDigest,
  normalizeMIMEType,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  parseImageManifest,
  parseManifest,
  verifyManifestSignatures,
} from "@stevedore/manifest";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (o: unknown) => enc.encode(JSON.stringify(o));

describe("normalizeMIMEType()", () => {
  test.each([
    [OCI_MANIFEST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE],
    [OCI_INDEX_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE],
    [DOCKER_SCHEMA2_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE],
    [DOCKER_LIST_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE],
    [DOCKER_SCHEMA1_MEDIA_TYPE, DOCKER_SCHEMA1_MEDIA_TYPE],
    [DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
    [`${DOCKER_SCHEMA2_MEDIA_TYPE}; charset=utf-8`, DOCKER_SCHEMA2_MEDIA_TYPE],
    ["application/json", DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
    ["text/plain", DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
    ["", DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
    ["application/x-unknown", DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
  ])("maps %j to %s", (input, output) => {
    expect(normalizeMIMEType(input)).toBe(output);
  });

  test("the default Accept list is the Go library's, in its order", () => {
    expect(defaultAcceptMIMETypes).toEqual([
      OCI_MANIFEST_MEDIA_TYPE,
      DOCKER_SCHEMA2_MEDIA_TYPE,
      DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
      DOCKER_SCHEMA1_MEDIA_TYPE,
      DOCKER_LIST_MEDIA_TYPE,
      OCI_INDEX_MEDIA_TYPE,
    ]);
  });
});

describe("guessMIMEType()", () => {
  test.each([
    ["image-spec-manifest.json", OCI_MANIFEST_MEDIA_TYPE],
    ["image-spec-artifact.json", OCI_MANIFEST_MEDIA_TYPE],
    ["image-spec-index.json", OCI_INDEX_MEDIA_TYPE],
    ["docker-schema2.json", DOCKER_SCHEMA2_MEDIA_TYPE],
    ["docker-list.json", DOCKER_LIST_MEDIA_TYPE],
    ["skopeo-signed.manifest.json", DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
  ])("recognises %s as %s", (name, mt) => {
    expect(guessMIMEType(fixture(name))).toBe(mt);
  });

  test.each<[string, unknown, string]>([
    ["OCI by config type (no mediaType)", { schemaVersion: 2, config: { mediaType: "application/vnd.oci.image.config.v1+json" }, layers: [] }, OCI_MANIFEST_MEDIA_TYPE],
    ["schema 2 by config type", { schemaVersion: 2, config: { mediaType: "application/vnd.docker.container.image.v1+json" }, layers: [] }, DOCKER_SCHEMA2_MEDIA_TYPE],
    ["an artifact (other config type)", { schemaVersion: 2, config: { mediaType: "application/vnd.cncf.helm.config.v1+json" }, layers: [] }, OCI_MANIFEST_MEDIA_TYPE],
    ["an index by shape", { schemaVersion: 2, manifests: [] }, OCI_INDEX_MEDIA_TYPE],
    ["unsigned schema 1", { schemaVersion: 1, fsLayers: [] }, DOCKER_SCHEMA1_MEDIA_TYPE],
    ["schema 1 with null signatures", { schemaVersion: 1, signatures: null }, DOCKER_SCHEMA1_MEDIA_TYPE],
    ["schema 1 with signatures", { schemaVersion: 1, signatures: 1 }, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE],
    ["manifests and config together", { schemaVersion: 2, manifests: [], config: { mediaType: "x" } }, ""],
    ["schemaVersion 3", { schemaVersion: 3 }, ""],
    ["no schemaVersion", {}, ""],
    ["a non-string mediaType", { schemaVersion: 2, mediaType: 5 }, ""],
    ["an array", [], ""],
  ])("guesses %s", (_w, doc, mt) => {
    expect(guessMIMEType(json(doc))).toBe(mt);
  });

  test("returns \"\" for non-JSON and throws SizeLimitExceededError over 4 MiB", () => {
    expect(guessMIMEType(enc.encode("<html>"))).toBe("");
    expect(() => guessMIMEType(new Uint8Array(5 * 1024 * 1024))).toThrow(SizeLimitExceededError);
  });
});

describe("parseManifest()", () => {
  test("gives the common view of an OCI manifest: MIME type, digest, config and layers", () => {
    const bytes = fixture("image-spec-manifest.json");
    const v = parseManifest(bytes, OCI_MANIFEST_MEDIA_TYPE);
    if (v.kind !== "image") throw new Error("expected an image");
    expect(v.bytes).toBe(bytes);
    expect(v.mimeType).toBe(OCI_MANIFEST_MEDIA_TYPE);
    expect(v.digest).toBe(digestOf(bytes));
    expect(v.config?.digest).toBe("sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7");
    expect(v.layers.map((l) => [l.size, l.compression, l.emptyLayer])).toEqual([
      [32654, "gzip", false],
      [16724, "gzip", false],
      [73109, "gzip", false],
    ]);
    expect(v.isArtifact).toBe(false);
    expect(v.subject?.size).toBe(7682);
  });

  test("recognises an OCI artifact", () => {
    const v = parseImageManifest(fixture("image-spec-artifact.json"));
    expect(v.isArtifact).toBe(true);
    expect(v.artifactType).toBe("application/vnd.example+type");
    expect(v.layers[0]?.compression).toBe("unknown");
  });

  test("gives the view of a Docker schema 2 manifest, with foreign layers marked", () => {
    const v = parseImageManifest(fixture("docker-schema2.json"), DOCKER_SCHEMA2_MEDIA_TYPE);
    expect(v.config?.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    expect(v.layers.map((l) => [l.compression, l.nonDistributable, l.urls])).toEqual([
      ["gzip", false, undefined],
      ["gzip", false, undefined],
      ["gzip", true, ["https://mcr.microsoft.example/layer"]],
    ]);
  });

  test("gives the view of a signed schema 1 manifest: payload digest, layers base first, empty layers marked", () => {
    const v = parseImageManifest(fixture("skopeo-signed.manifest.json"), "application/json");
    expect(v.mimeType).toBe(DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE);
    expect(v.digest).toBe("sha256:9ab23247cf5c5584e860454c02df1a1568ef3631987ee4e4a4a358b98028ce3f");
    expect(v.config).toBeUndefined();
    expect(v.layers.map((l) => [l.digest.slice(7, 15), l.size, l.emptyLayer])).toEqual([
      ["84866ba4", -1, false],
      ["a3ed95ca", -1, true],
      ["a3ed95ca", -1, true],
    ]);
  });

  test("gives the instances of a Docker list and an OCI index", () => {
    const l = parseManifest(fixture("docker-list.json"));
    if (l.kind !== "list") throw new Error("expected a list");
    expect(l.instances.map((i) => i.platform?.architecture)).toEqual(["ppc64le", "amd64", "arm", "amd64"]);
    expect(l.instances[1]?.platform?.features).toEqual(["sse4"]);
    const x = parseManifest(fixture("image-spec-index.json"), OCI_INDEX_MEDIA_TYPE);
    expect(x.kind === "list" && x.instances.map((i) => i.size)).toEqual([7143, 7682]);
  });

  test("guesses the type when the source reported text/plain", () => {
    expect(parseManifest(fixture("image-spec-index.json"), "text/plain").mimeType).toBe(OCI_INDEX_MEDIA_TYPE);
  });

  test("refuses a document that is not the format its MIME type says", () => {
    expect(() => parseManifest(fixture("image-spec-manifest.json"), DOCKER_SCHEMA2_MEDIA_TYPE)).toThrow(InvalidManifestError);
    expect(() => parseManifest(fixture("docker-list.json"), OCI_MANIFEST_MEDIA_TYPE)).toThrow(/ambiguous manifest/);
  });

  test("refuses a list where an image is needed, naming the fix", () => {
    expect(() => parseImageManifest(fixture("docker-list.json"))).toThrow(UnsupportedManifestTypeError);
    expect(() => parseImageManifest(fixture("docker-list.json"))).toThrow(/choose one of its instances/);
  });

  describe("hostile input", () => {
    const base = () => JSON.parse(dec.decode(fixture("image-spec-manifest.json"))) as Record<string, any>;
    test("a 5 MiB manifest: SizeLimitExceededError", () => {
      const o = base();
      o.annotations = { pad: "x".repeat(5 * 1024 * 1024) };
      expect(() => parseManifest(json(o))).toThrow(SizeLimitExceededError);
      expect(() => manifestDigest(json(o))).toThrow(SizeLimitExceededError);
    });
    test("10 000-deep nesting: InvalidManifestError, no stack overflow", () => {
      const text = `{"schemaVersion":2,"annotations":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
      expect(() => parseManifest(enc.encode(text), OCI_MANIFEST_MEDIA_TYPE)).toThrow(/nesting deeper than 256 levels/);
      expect(() => parseManifest(enc.encode(text))).toThrow(InvalidManifestError);
    });
    test.each<[string, (o: Record<string, any>) => void, RegExp]>([
      ["an invalid digest", (o) => (o.layers[0].digest = "sha256:../../etc/passwd"), /layers\[0\]\.digest: invalid digest/],
      ["a negative size", (o) => (o.layers[1].size = -1), /layers\[1\]\.size: must not be negative/],
      ["a non-integer size", (o) => (o.config.size = 7023.5), /config\.size: must be an integer/],
      ["an ambiguous document", (o) => (o.manifests = []), /ambiguous manifest/],
      ["a wrong schemaVersion", (o) => (o.schemaVersion = 3), /schemaVersion: must be 2/],
    ])("%s: InvalidManifestError", (_w, mutate, message) => {
      const o = base();
      mutate(o);
      expect(() => parseManifest(json(o))).toThrow(InvalidManifestError);
      expect(() => parseManifest(json(o))).toThrow(message);
    });
    test("random bytes never crash: a typed error or a view", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom("", OCI_MANIFEST_MEDIA_TYPE, DOCKER_SCHEMA1_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE, "text/plain"), (bytes, mt) => {
          try {
            parseManifest(bytes, mt);
          } catch (e) {
            expect(e).toBeInstanceOf(StevedoreError);
          }
        }),
        { numRuns: 500 },
      );
    });
    test("random JSON never crashes either", () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          try {
            parseManifest(json(v));
          } catch (e) {
            expect(e).toBeInstanceOf(StevedoreError);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe("parseManifest() on random valid manifests", () => {
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
  const layer = (types: string[]) => fc.record({ mediaType: fc.constantFrom(...types), size: fc.nat(), digest });
  const oci = fc.record({
    schemaVersion: fc.constant(2),
    mediaType: fc.constant(OCI_MANIFEST_MEDIA_TYPE),
    config: fc.record({ mediaType: fc.constantFrom("application/vnd.oci.image.config.v1+json", "application/vnd.example.config+json"), size: fc.nat(), digest }),
    layers: fc.array(layer(["application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd"]), { maxLength: 5 }),
  });
  const s2 = fc.record({
    schemaVersion: fc.constant(2),
    mediaType: fc.constant(DOCKER_SCHEMA2_MEDIA_TYPE),
    config: fc.record({ mediaType: fc.constant("application/vnd.docker.container.image.v1+json"), size: fc.nat(), digest }),
    layers: fc.array(layer(["application/vnd.docker.image.rootfs.diff.tar", "application/vnd.docker.image.rootfs.diff.tar.gzip"]), { maxLength: 5 }),
  });

  test("the view has the document's type, digest, config and layers, whatever the reported MIME type", () => {
    fc.assert(
      fc.property(fc.oneof(oci, s2), fc.constantFrom("", "text/plain", "application/json"), fc.integer({ min: 0, max: 4 }), (doc, reported, indent) => {
        const bytes = enc.encode(JSON.stringify(doc, null, indent));
        const v = parseImageManifest(bytes, reported);
        expect(v.mimeType).toBe(doc.mediaType);
        expect(v.digest).toBe(digestOf(bytes));
        expect(v.config).toEqual(doc.config);
        expect(v.layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest }))).toEqual(doc.layers);
        expect(v.layers.every((l) => l.compression !== "unknown")).toBe(true);
        expect(v.isArtifact).toBe(doc.config.mediaType === "application/vnd.example.config+json");
      }),
      { numRuns: 300 },
    );
  });
});

describe("manifestDigest() and matchesDigest()", () => {
  test("digest the bytes, or a signed schema 1 manifest's payload", () => {
    const oci = fixture("image-spec-manifest.json");
    expect(manifestDigest(oci)).toBe(digestOf(oci));
    expect(manifestDigest(fixture("skopeo-signed.manifest.json"))).toBe("sha256:9ab23247cf5c5584e860454c02df1a1568ef3631987ee4e4a4a358b98028ce3f");
    expect(manifestDigest(fixture("bad-signature.manifest.json"))).toBe("sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000");
  });

  test("matchesDigest() uses the expected digest's algorithm", () => {
    const oci = fixture("image-spec-manifest.json");
    expect(matchesDigest(oci, digestOf(oci))).toBe(true);
    expect(matchesDigest(oci, digestOf(oci, "sha512"))).toBe(true);
    expect(matchesDigest(oci, `sha256:${"0".repeat(64)}`)).toBe(false);
    expect(() => matchesDigest(oci, "sha256:short")).toThrow(InvalidDigestError);
  });
});

describe("verifyManifestSignatures()", () => {
  test("verifies schema 1 signatures and reports broken ones", async () => {
    expect(await verifyManifestSignatures(fixture("skopeo-signed.manifest.json"))).toHaveLength(1);
    await expect(verifyManifestSignatures(fixture("bad-signature.manifest.json"))).rejects.toThrow(SignatureInvalidError);
    expect(await verifyManifestSignatures(fixture("image-spec-manifest.json"))).toEqual([]);
  });
});
