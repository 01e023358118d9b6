import { describe, expect, test } from "vitest";
import { openImage, unparsedInstance, wantedPlatformOf } from "@stevedore/image";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import {
  BlobUnknownError,
  DigestMismatchError,
  NotAnImageError,
  UnsupportedError,
  defineTransport,
  digestOf,
  streamOf,
  utf8,
  type Digest,
  type ImageReference,
  type ImageSource,
} from "@stevedore/types";

/** An ImageSource over bytes in memory, counting manifest reads. */
function memorySource(manifests: Map<string, Uint8Array>, blobs: Map<string, Uint8Array>, top: Uint8Array, digest?: Digest) {
  const reads = { manifest: 0 };
  const transport = defineTransport({
    name: "memory",
    parseReference: () => ref,
    validatePolicyConfigurationScope() {},
  });
  const ref: ImageReference = {
    transport,
    stringWithinTransport: () => "image",
    dockerReference: () => (digest ? { name: "example.com/app", digest, toString: () => `example.com/app@${digest}` } : { name: "example.com/app", tag: "1", toString: () => "example.com/app:1" }),
    policyConfigurationIdentity: () => "",
    policyConfigurationNamespaces: () => [],
    newImageSource: () => Promise.reject(new UnsupportedError("x")),
    newImageDestination: () => Promise.reject(new UnsupportedError("x")),
    deleteImage: () => Promise.reject(new UnsupportedError("x")),
  };
  const source: ImageSource = {
    reference: ref,
    capabilities: { threadSafeGetBlob: true, getBlobAt: false },
    async getManifest(instance) {
      reads.manifest++;
      const bytes = instance ? manifests.get(instance) : top;
      if (!bytes) throw new BlobUnknownError(`no manifest ${instance}`);
      return { bytes, mimeType: "" };
    },
    async getBlob(info) {
      const b = blobs.get(info.digest!);
      if (!b) throw new BlobUnknownError(`no blob ${info.digest}`);
      return { stream: streamOf(b), size: b.length };
    },
    getSignatures: async () => [],
    layerInfosForCopy: async () => undefined,
    close: async () => {},
  };
  return { source, reads };
}

describe("unparsedInstance()", () => {
  test("reads the manifest once and verifies it against the reference's digest", async () => {
    const img = makeFixtureImage();
    const { source, reads } = memorySource(new Map(), img.blobs, img.manifest, img.digest);
    const u = unparsedInstance(source);
    expect((await u.manifest()).bytes).toBe(img.manifest);
    await u.manifest();
    expect(reads.manifest).toBe(1);
    expect(await u.digest()).toBe(img.digest);
  });

  test("a manifest that does not match the reference's digest is refused", async () => {
    const img = makeFixtureImage();
    const other = digestOf(utf8("something else"));
    const { source } = memorySource(new Map(), img.blobs, img.manifest, other);
    await expect(unparsedInstance(source).manifest()).rejects.toThrow(DigestMismatchError);
  });
});

describe("openImage()", () => {
  test("gives the config, layers, size and skopeo's inspect fields", async () => {
    const img = makeFixtureImage({ layers: 2, labels: { a: "b" } });
    const { source } = memorySource(new Map(), img.blobs, img.manifest);
    const image = await openImage(source);
    expect(await image.configBlob()).toEqual(img.config.bytes);
    expect(image.layerInfos().map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    expect(image.size()).toBe(img.manifest.length + img.config.size + img.layers.reduce((n, l) => n + l.size, 0));
    const info = await image.inspect({ tags: ["1", "2"] });
    expect(info.Name).toBe("example.com/app");
    expect(info.RepoTags).toEqual(["1", "2"]);
    expect(info.Labels).toEqual({ a: "b" });
    expect(info.Layers).toEqual(img.layers.map((l) => l.digest));
    expect(info.Architecture).toBe("amd64");
  });

  test("a config that does not match its digest is refused", async () => {
    const img = makeFixtureImage();
    const blobs = new Map(img.blobs);
    blobs.set(img.config.digest, utf8(JSON.stringify({ architecture: "evil" })));
    const { source } = memorySource(new Map(), blobs, img.manifest);
    await expect((await openImage(source)).configBlob()).rejects.toThrow(/config|size|digest/);
  });

  test("a list needs a platform and then opens the matching instance", async () => {
    const idx = makeFixtureIndex([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
    ]);
    const manifests = new Map(idx.images.map((i) => [i.digest as string, i.manifest]));
    const blobs = new Map(idx.images.flatMap((i) => [...i.blobs]));
    const { source } = memorySource(manifests, blobs, idx.manifest);
    await expect(openImage(source)).rejects.toThrow(/a platform must be chosen/);
    const image = await openImage(source, { platform: { os: "linux", architecture: "arm64" } });
    expect(image.instanceDigest).toBe(idx.images[1]!.digest);
    expect(image.list?.instances).toHaveLength(2);
    expect((await image.inspect()).Architecture).toBe("arm64");
  });

  test("inspecting an OCI artifact fails with NotAnImageError", async () => {
    const cfg = utf8("{}");
    const layer = utf8("model weights");
    const d = (b: Uint8Array) => digestOf(b);
    const manifest = utf8(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.example.model.config.v1+json", digest: d(cfg), size: cfg.length },
        layers: [{ mediaType: "application/vnd.example.model.weights", digest: d(layer), size: layer.length }],
      }),
    );
    const { source } = memorySource(new Map(), new Map([[d(cfg), cfg], [d(layer), layer]]), manifest);
    const image = await openImage(source);
    expect(image.view.isArtifact).toBe(true);
    await expect(image.inspect()).rejects.toThrow(NotAnImageError);
  });
});

describe("wantedPlatformOf()", () => {
  const runtime = { os: "linux", architecture: "arm", variant: "v7" };
  test("uses the runtime's platform by default", () => expect(wantedPlatformOf(undefined, runtime)).toEqual(runtime));
  test("an architecture override drops the runtime's variant", () =>
    expect(wantedPlatformOf({ architectureChoice: "amd64" }, runtime)).toEqual({ os: "linux", architecture: "amd64" }));
  test("explicit choices win", () =>
    expect(wantedPlatformOf({ osChoice: "windows", architectureChoice: "arm64", variantChoice: "v8" }, runtime)).toEqual({ os: "windows", architecture: "arm64", variant: "v8" }));
});
