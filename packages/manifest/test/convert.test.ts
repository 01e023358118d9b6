import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseSchema2List, parseSchema2Manifest } from "@stevedore/manifest-docker";
import { parseSchema1Manifest, verifySchema1Signatures } from "@stevedore/manifest-docker-schema1";
import { parseOCIIndex, parseOCIManifest } from "@stevedore/manifest-oci";
import { digestOf, InternalError, NotAnImageError, UnsupportedError, UnsupportedManifestTypeError, type BlobInfo, type Digest } from "@stevedore/types";
import {
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  formatInspectJSON,
  GZIPPED_EMPTY_LAYER,
  GZIPPED_EMPTY_LAYER_DIGEST,
  inspectInfo,
  ManifestLayerCompressionIncompatibleError,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  parseImageManifest,
  parseManifest,
  updateInstances,
  updateManifest,
  updateNeedsConfig,
  updateNeedsLayerDiffIDs,
  type ImageManifestView,
} from "@stevedore/manifest";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (o: unknown) => enc.encode(JSON.stringify(o));
const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;

const dockerConfig = json({
  architecture: "amd64",
  os: "linux",
  created: "2021-05-06T07:08:09.100Z",
  author: "me <me@example.com>",
  docker_version: "20.10.1",
  config: { Env: ["PATH=/bin"], Cmd: ["sh"], Labels: { b: "2", a: "1" }, Hostname: "dropped" },
  container_config: { Cmd: ["/bin/sh", "-c", "#(nop)"] },
  rootfs: { type: "layers", diff_ids: [D("1"), D("2")] },
  history: [
    { created: "2021-05-06T07:08:09Z", created_by: "ADD base" },
    { created: "2021-05-06T07:08:10Z", created_by: "ENV X=1", empty_layer: true },
    { created: "2021-05-06T07:08:11Z", created_by: "RUN make", comment: "built" },
  ],
});

const s2Manifest = () =>
  parseImageManifest(
    json({
      schemaVersion: 2,
      mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: dockerConfig.byteLength, digest: digestOf(dockerConfig) },
      layers: [
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 100, digest: D("a") },
        { mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", size: 200, digest: D("b"), urls: ["https://example.com/b"] },
      ],
    }),
  );

const ociManifest = (layers: unknown[], configType = "application/vnd.oci.image.config.v1+json") =>
  parseImageManifest(
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: configType, size: dockerConfig.byteLength, digest: digestOf(dockerConfig) },
      layers,
      annotations: { "org.example": "x" },
    }),
  );

const ociLayers = () => [
  { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 100, digest: D("a"), annotations: { keep: "me" } },
  { mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", size: 200, digest: D("b"), urls: ["https://example.com/b"] },
];

describe("updateManifest() without changes", () => {
  test("keeps the original bytes when there is nothing to do", async () => {
    for (const name of ["image-spec-manifest.json", "docker-schema2.json", "skopeo-signed.manifest.json", "docker-list.json", "image-spec-index.json"]) {
      const v = parseManifest(fixture(name));
      const r = await updateManifest(v, {});
      expect(r.bytes).toBe(v.bytes);
      expect(r.changed).toBe(false);
      expect(r.newBlobs).toEqual([]);
    }
  });

  test("keeps the original bytes when the layer edits change nothing", async () => {
    const v = parseImageManifest(fixture("image-spec-manifest.json"));
    const infos: BlobInfo[] = v.layers.map((l) => ({ digest: l.digest, size: l.size, compressionOperation: "preserve" }));
    const r = await updateManifest({ bytes: v.bytes, mimeType: v.mimeType }, { layerInfos: infos, targetMIMEType: OCI_MANIFEST_MEDIA_TYPE });
    expect(r.bytes).toBe(v.bytes);
  });
});

describe("updateManifest() layer edits", () => {
  test("OCI: new digests, sizes and compressions are written; annotations and URLs kept", async () => {
    const v = ociManifest(ociLayers());
    const r = await updateManifest(v, {
      layerInfos: [
        { digest: D("c"), size: 90, compressionOperation: "compress", compressionAlgorithm: "zstd" },
        { digest: D("b"), size: -1, compressionOperation: "decompress" },
      ],
    });
    expect(r.changed).toBe(true);
    const m = parseOCIManifest(r.bytes);
    expect(m.layers).toEqual([
      { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", size: 90, digest: D("c"), annotations: { keep: "me" } },
      { mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar", size: 200, digest: D("b"), urls: ["https://example.com/b"] },
    ]);
    expect(m.annotations).toEqual({ "org.example": "x" });
    expect(r.digest).toBe(digestOf(r.bytes));
  });

  test("a recompressed zstd:chunked layer loses its table-of-contents annotations", async () => {
    const v = ociManifest([
      { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", size: 5, digest: D("a"), annotations: { "io.github.containers.zstd-chunked.manifest-checksum": D("f"), "io.github.containers.zstd-chunked.manifest-position": "1:2:3:4", other: "y" } },
    ]);
    expect(v.layers[0]?.compression).toBe("zstd:chunked");
    const r = await updateManifest(v, { layerInfos: [{ digest: D("c"), size: 7, compressionOperation: "compress", compressionAlgorithm: "gzip" }] });
    expect(parseOCIManifest(r.bytes).layers[0]?.annotations).toEqual({ other: "y" });
  });

  test("schema 2: zstd is refused with the error the copy engine catches", async () => {
    await expect(updateManifest(s2Manifest(), { layerInfos: [{ size: 1, compressionOperation: "compress", compressionAlgorithm: "zstd" }, { size: 2 }] })).rejects.toThrow(
      ManifestLayerCompressionIncompatibleError,
    );
  });

  test("a wrong number of layer edits is an InternalError", async () => {
    await expect(updateManifest(s2Manifest(), { layerInfos: [{ size: 1 }] })).rejects.toThrow(InternalError);
  });
});

describe("updateManifest() conversions", () => {
  test("OCI → schema 2: media types mapped, URLs kept, annotations dropped, same config blob", async () => {
    const v = ociManifest(ociLayers());
    expect(updateNeedsConfig(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE })).toBe(false);
    const r = await updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE });
    expect(r.mimeType).toBe(DOCKER_SCHEMA2_MEDIA_TYPE);
    expect(r.newBlobs).toEqual([]);
    const m = parseSchema2Manifest(r.bytes);
    expect(m.config).toEqual({ mediaType: "application/vnd.docker.container.image.v1+json", size: dockerConfig.byteLength, digest: digestOf(dockerConfig) });
    expect(m.layers).toEqual([
      { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 100, digest: D("a") },
      { mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", size: 200, digest: D("b"), urls: ["https://example.com/b"] },
    ]);
    expect(dec.decode(r.bytes)).not.toContain("annotations");
  });

  test("OCI with zstd layers → schema 2 fails, unless the copy recompresses them to gzip", async () => {
    const v = ociManifest([{ mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", size: 1, digest: D("a") }]);
    await expect(updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE })).rejects.toThrow(ManifestLayerCompressionIncompatibleError);
    const r = await updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE, layerInfos: [{ digest: D("e"), size: 3, compressionOperation: "compress", compressionAlgorithm: "gzip" }] });
    expect(parseSchema2Manifest(r.bytes).layers[0]).toEqual({ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 3, digest: D("e") });
  });

  test("an OCI artifact is not converted to Docker formats (NotAnImageError) but can be copied unchanged", async () => {
    const v = parseImageManifest(fixture("image-spec-artifact.json"));
    await expect(updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE })).rejects.toThrow(NotAnImageError);
    await expect(updateManifest(v, { targetMIMEType: DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE })).rejects.toThrow(/this is an OCI artifact \(config type application\/vnd.oci.empty.v1\+json\), not a container image/);
    const same = await updateManifest(v, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, layerInfos: [{ digest: v.layers[0]?.digest, size: 2, compressionOperation: "preserve" }] });
    expect(same.bytes).toBe(v.bytes);
    expect(() => inspectInfo(v, undefined)).toThrow(NotAnImageError);
  });

  test("schema 2 → OCI: the config is rewritten as an OCI config and returned as a new blob", async () => {
    const v = s2Manifest();
    expect(updateNeedsConfig(v, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE })).toBe(true);
    await expect(updateManifest(v, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE })).rejects.toThrow(/needs the image config/);
    const r = await updateManifest(v, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, configBytes: dockerConfig });
    const m = parseOCIManifest(r.bytes);
    expect(r.newBlobs).toHaveLength(1);
    const cfg = r.newBlobs[0];
    expect(cfg?.isConfig).toBe(true);
    expect(m.config).toEqual({ mediaType: "application/vnd.oci.image.config.v1+json", digest: cfg?.digest, size: cfg?.size });
    expect(dec.decode(cfg?.bytes)).toBe(
      '{"created":"2021-05-06T07:08:09.1Z","author":"me \\u003cme@example.com\\u003e","architecture":"amd64","os":"linux",' +
        '"config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Labels":{"a":"1","b":"2"}},' +
        `"rootfs":{"type":"layers","diff_ids":["${D("1")}","${D("2")}"]},` +
        '"history":[{"created":"2021-05-06T07:08:09Z","created_by":"ADD base"},{"created":"2021-05-06T07:08:10Z","created_by":"ENV X=1","empty_layer":true},{"created":"2021-05-06T07:08:11Z","created_by":"RUN make","comment":"built"}]}',
    );
    expect(m.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"]);
    expect(m.layers[1]?.urls).toEqual(["https://example.com/b"]);
  });

  test("schema 2 → schema 1: one entry per history item, the empty layer added, name and tag from the destination, signed", async () => {
    const v = s2Manifest();
    const r = await updateManifest(v, {
      targetMIMEType: DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
      configBytes: dockerConfig,
      embeddedReference: { name: "docker.io/library/busybox", tag: "1.36" },
      layerInfos: [{ digest: D("c"), size: 1 }, { size: 2 }],
    });
    expect(r.mimeType).toBe(DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE);
    expect(r.newBlobs).toEqual([{ digest: GZIPPED_EMPTY_LAYER_DIGEST, size: 32, mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", bytes: GZIPPED_EMPTY_LAYER, isConfig: false, emptyLayer: true }]);
    expect(digestOf(GZIPPED_EMPTY_LAYER)).toBe(GZIPPED_EMPTY_LAYER_DIGEST);
    const p = parseSchema1Manifest(r.bytes);
    expect(p.manifest.name).toBe("library/busybox");
    expect(p.manifest.tag).toBe("1.36");
    expect(p.manifest.architecture).toBe("amd64");
    expect(p.manifest.fsLayers.map((l) => l.blobSum)).toEqual([D("b"), GZIPPED_EMPTY_LAYER_DIGEST, D("c")]);
    expect(p.manifest.v1Compatibility.map((c) => [c.throwAway, c.cmd])).toEqual([
      [false, ["/bin/sh", "-c", "#(nop)"]], // the top entry is the full config, its container_config included
      [true, ["ENV X=1"]],
      [false, ["ADD base"]],
    ]);
    const top = JSON.parse(p.manifest.history[0]?.v1Compatibility ?? "");
    expect(top.config.Hostname).toBe("dropped");
    expect(top.rootfs).toBeUndefined();
    expect(top.history).toBeUndefined();
    expect(top.parent).toBe(p.manifest.v1Compatibility[1]?.id);
    expect(await verifySchema1Signatures(r.bytes)).toHaveLength(1);
    expect(r.view.kind === "image" && r.view.layers.map((l) => l.emptyLayer)).toEqual([false, true, false]);
  });

  test("schema 1 → schema 2 and OCI: needs diffIDs, drops empty layers, synthesises the config", async () => {
    const v = parseImageManifest(fixture("skopeo-signed.manifest.json"));
    expect(updateNeedsLayerDiffIDs(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE })).toBe(true);
    expect(updateNeedsLayerDiffIDs(v, {})).toBe(false);
    expect(updateNeedsLayerDiffIDs(s2Manifest(), { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE })).toBe(false);
    await expect(updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE })).rejects.toThrow(/needs the layers' diffIDs/);
    const layerInfos = v.layers.map((l, i) => ({ digest: l.digest, size: 100 + i }));
    const layerDiffIDs = [D("1"), D("2"), D("3")];
    const r = await updateManifest(v, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE, layerInfos, layerDiffIDs });
    const m = parseSchema2Manifest(r.bytes);
    expect(m.layers).toEqual([{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 100, digest: v.layers[0]?.digest }]);
    const cfgBlob = r.newBlobs[0];
    expect(m.config).toEqual({ mediaType: "application/vnd.docker.container.image.v1+json", size: cfgBlob?.size, digest: cfgBlob?.digest });
    const cfg = JSON.parse(dec.decode(cfgBlob?.bytes));
    expect(cfg.rootfs).toEqual({ type: "layers", diff_ids: [D("1")] });
    expect(cfg.history.map((h: { empty_layer?: boolean }) => h.empty_layer ?? false)).toEqual([false, true, true]);
    expect(cfg.id).toBeUndefined();
    expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort());

    const o = await updateManifest(v, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, layerInfos, layerDiffIDs });
    const om = parseOCIManifest(o.bytes);
    expect(om.layers.map((l) => [l.mediaType, l.size])).toEqual([["application/vnd.oci.image.layer.v1.tar+gzip", 100]]);
    expect(om.config.digest).toBe(o.newBlobs[0]?.digest);
    expect(JSON.parse(dec.decode(o.newBlobs[0]?.bytes)).rootfs).toEqual({ type: "layers", diff_ids: [D("1")] });
  });

  test("schema 1 → schema 1 with another name: re-signed, digest changes; the same name keeps the bytes", async () => {
    const v = parseImageManifest(fixture("skopeo-signed.manifest.json"));
    const same = await updateManifest(v, { embeddedReference: { name: "", tag: "" } });
    expect(same.bytes).toBe(v.bytes);
    const r = await updateManifest(v, { embeddedReference: { name: "localhost:5000/ns/app", tag: "v1" } });
    expect(r.changed).toBe(true);
    expect((r.view as ImageManifestView).embeddedReference).toEqual({ name: "ns/app", tag: "v1" });
    expect(r.digest).not.toBe(v.digest);
  });

  test("an image manifest cannot become a list, nor a list an image", async () => {
    await expect(updateManifest(s2Manifest(), { targetMIMEType: DOCKER_LIST_MEDIA_TYPE })).rejects.toThrow(UnsupportedManifestTypeError);
    await expect(updateManifest(parseManifest(fixture("docker-list.json")), { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE })).rejects.toThrow(/not a list type/);
    await expect(updateManifest(s2Manifest(), { targetMIMEType: "application/x-nope" })).rejects.toThrow(/unsupported type/);
  });
});

describe("list conversions and updateInstances()", () => {
  test("Docker list → OCI index: entries and platforms field by field, features dropped", async () => {
    const r = await updateManifest(parseManifest(fixture("docker-list.json")), { targetMIMEType: OCI_INDEX_MEDIA_TYPE });
    const idx = parseOCIIndex(r.bytes);
    expect(idx.mediaType).toBe(OCI_INDEX_MEDIA_TYPE);
    expect(idx.manifests.map((m) => [m.digest.slice(7, 11), m.size, m.platform])).toEqual([
      ["e692", 7143, { architecture: "ppc64le", os: "linux" }],
      ["5b0b", 7682, { architecture: "amd64", os: "linux" }],
      ["9834", 7682, { architecture: "arm", os: "linux", variant: "v7" }],
      ["ec4b", 7682, { architecture: "amd64", os: "windows", osVersion: "10.0.14393.1066", osFeatures: ["win32k"] }],
    ]);
  });

  test("OCI index → Docker list needs a platform for every entry", async () => {
    const idx = json({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: D("a"), size: 3 }] });
    await expect(updateManifest(parseManifest(idx), { targetMIMEType: DOCKER_LIST_MEDIA_TYPE })).rejects.toThrow(UnsupportedError);
    const r = await updateManifest(parseManifest(idx), { targetMIMEType: DOCKER_LIST_MEDIA_TYPE, defaultPlatform: { os: "linux", architecture: "amd64" } });
    expect(parseSchema2List(r.bytes).manifests[0]?.platform).toEqual({ architecture: "amd64", os: "linux" });
    const r2 = await updateManifest(parseManifest(fixture("image-spec-index.json")), { targetMIMEType: DOCKER_LIST_MEDIA_TYPE });
    expect(dec.decode(r2.bytes)).not.toContain("annotations");
  });

  test("updateInstances() replaces digest, size and media type of each instance", async () => {
    const v = parseManifest(fixture("image-spec-index.json"));
    const r = await updateInstances(v as never, [
      { digest: D("1"), size: 11, mediaType: DOCKER_SCHEMA2_MEDIA_TYPE },
      { digest: D("2"), size: 22, mediaType: OCI_MANIFEST_MEDIA_TYPE },
    ]);
    const idx = parseOCIIndex(r.bytes);
    expect(idx.manifests.map((m) => [m.digest, m.size, m.mediaType, m.platform?.architecture])).toEqual([
      [D("1"), 11, DOCKER_SCHEMA2_MEDIA_TYPE, "ppc64le"],
      [D("2"), 22, OCI_MANIFEST_MEDIA_TYPE, "amd64"],
    ]);
    expect(idx.annotations).toEqual({ "com.example.key1": "value1", "com.example.key2": "value2" });
    await expect(updateInstances(v as never, [{ digest: D("1"), size: 1, mediaType: "x" }])).rejects.toThrow(InternalError);
    await expect(updateInstances(v as never, [{ digest: D("1"), size: -1, mediaType: "x" }, { digest: D("1"), size: 1, mediaType: "x" }])).rejects.toThrow(/invalid size/);
  });
});

describe("inspectInfo()", () => {
  test("schema 2: skopeo's fields from the config", () => {
    const info = inspectInfo(s2Manifest(), dockerConfig, { reference: { name: "docker.io/library/x" }, tags: ["a", "b"] });
    expect(info).toEqual({
      Name: "docker.io/library/x",
      Digest: s2Manifest().digest,
      RepoTags: ["a", "b"],
      Created: "2021-05-06T07:08:09.1Z",
      DockerVersion: "20.10.1",
      Labels: { b: "2", a: "1" },
      Architecture: "amd64",
      Os: "linux",
      Layers: [D("a"), D("b")],
      LayersData: [
        { MIMEType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Digest: D("a"), Size: 100, Annotations: null },
        { MIMEType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Digest: D("b"), Size: 200, Annotations: null },
      ],
      Env: ["PATH=/bin"],
      Author: "me <me@example.com>",
    });
    const text = formatInspectJSON(info);
    expect(text.split("\n").slice(0, 4)).toEqual(["{", '    "Name": "docker.io/library/x",', `    "Digest": "${s2Manifest().digest}",`, '    "RepoTags": [']);
    expect(text).toContain('"Author": "me \\u003cme@example.com\\u003e"\n}');
    expect(text).toContain('"Labels": {\n        "a": "1",\n        "b": "2"\n    },');
  });

  test("OCI: Created is null when the config has none; the config must match its digest", () => {
    const cfg = json({ architecture: "arm64", variant: "v8", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
    const v = parseImageManifest(json({ schemaVersion: 2, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(cfg), size: cfg.byteLength }, layers: [] }));
    const info = inspectInfo(v, cfg);
    expect(info.Created).toBeNull();
    expect(info.Variant).toBe("v8");
    expect(info.Labels).toBeNull();
    expect(info.Env).toBeNull();
    expect(() => inspectInfo(v, dockerConfig)).toThrow(/digest mismatch for image config/);
  });

  test("schema 1: the tag and the config from the history", () => {
    const info = inspectInfo(parseManifest(fixture("bad-signature.manifest.json")), undefined);
    expect(info.Tag).toBe("latest");
    expect(info.Created).toBe("2016-03-03T11:29:44.222098366Z");
    expect(info.DockerVersion).toBe("1.8.2-fc22");
    expect(info.Labels).toEqual({ Checksum: "4fef81d30f31f9213c642881357e6662846a0f884c2366c13ebad807b4031368  ./tests/test-images/Dockerfile.2", Name: "atomic-test-2" });
    expect(info.LayersData.map((l) => l.Size)).toEqual([-1, -1, -1]);
    expect(info.Author).toBe('"William Temple <wtemple at redhat dot com>"');
  });

  test("a list has no inspect data", () => {
    expect(() => inspectInfo(parseManifest(fixture("docker-list.json")), undefined)).toThrow(UnsupportedManifestTypeError);
  });
});
