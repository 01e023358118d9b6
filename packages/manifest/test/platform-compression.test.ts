import { describe, expect, test } from "vitest";
import { ImageNotFoundError, UnsupportedError, type Digest } from "@stevedore/types";
import {
  canChangeLayerCompression,
  chooseInstance,
  chooseInstances,
  DOCKER_LIST_MEDIA_TYPE,
  formatSupportsCompression,
  ManifestLayerCompressionIncompatibleError,
  OCI_INDEX_MEDIA_TYPE,
  parseManifest,
  updatedLayerMediaType,
  wantedPlatforms,
  type ListManifestView,
} from "@stevedore/manifest";

const enc = new TextEncoder();
const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;

function list(type: "oci" | "docker", entries: { d: string; p?: Record<string, string>; zstd?: boolean }[]): ListManifestView {
  const doc = {
    schemaVersion: 2,
    mediaType: type === "oci" ? OCI_INDEX_MEDIA_TYPE : DOCKER_LIST_MEDIA_TYPE,
    manifests: entries.map((e) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: D(e.d),
      size: 1,
      ...(e.p ? { platform: e.p } : {}),
      ...(e.zstd ? { annotations: { "io.github.containers.compression.zstd": "true" } } : {}),
    })),
  };
  return parseManifest(enc.encode(JSON.stringify(doc))) as ListManifestView;
}

describe("wantedPlatforms()", () => {
  test.each<[Record<string, string>, (string | undefined)[]]>([
    [{ os: "linux", architecture: "arm", variant: "v8" }, ["v8", "v7", "v6", "v5", undefined]],
    [{ os: "linux", architecture: "arm", variant: "v6" }, ["v6", "v5", undefined]],
    [{ os: "linux", architecture: "arm64", variant: "v8" }, ["v8", undefined]],
    [{ os: "linux", architecture: "arm64" }, [undefined, "v8"]],
    [{ os: "linux", architecture: "amd64" }, [undefined]],
    [{ os: "linux", architecture: "riscv64", variant: "rva22" }, ["rva22", undefined]],
  ])("%j gives variants %j", (w, variants) => {
    expect(wantedPlatforms(w as never).map((p) => p.variant)).toEqual(variants);
  });
});

describe("chooseInstance()", () => {
  const docker = list("docker", [
    { d: "1", p: { os: "linux", architecture: "amd64" } },
    { d: "2", p: { os: "linux", architecture: "arm", variant: "v6" } },
    { d: "3", p: { os: "linux", architecture: "arm", variant: "v7" } },
    { d: "4", p: { os: "linux", architecture: "arm64", variant: "v8" } },
    { d: "5", p: { os: "windows", architecture: "amd64" } },
  ]);

  test.each<[Record<string, string>, string]>([
    [{ os: "linux", architecture: "amd64" }, "1"],
    [{ os: "windows", architecture: "amd64" }, "5"],
    [{ os: "linux", architecture: "arm", variant: "v7" }, "3"],
    [{ os: "linux", architecture: "arm", variant: "v8" }, "3"],
    [{ os: "linux", architecture: "arm", variant: "v6" }, "2"],
    [{ os: "linux", architecture: "arm64" }, "4"],
  ])("picks for %j the instance %s", (w, d) => {
    expect(chooseInstance(docker, w as never).digest).toBe(D(d));
  });

  test("throws ImageNotFoundError naming the wanted platform and the available ones", () => {
    expect(() => chooseInstance(docker, { os: "linux", architecture: "s390x" })).toThrow(ImageNotFoundError);
    expect(() => chooseInstance(docker, { os: "linux", architecture: "arm", variant: "v5" })).toThrow(
      /architecture "arm", variant "v5", OS "linux" \(the list has: linux\/amd64, linux\/arm\/v6, linux\/arm\/v7, linux\/arm64\/v8, windows\/amd64\)/,
    );
  });

  test("an exact variant beats an entry without variant; without a variant the plain entry wins", () => {
    const l = list("oci", [
      { d: "1", p: { os: "linux", architecture: "arm64" } },
      { d: "2", p: { os: "linux", architecture: "arm64", variant: "v8" } },
    ]);
    expect(chooseInstance(l, { os: "linux", architecture: "arm64", variant: "v8" }).digest).toBe(D("2"));
    expect(chooseInstance(l, { os: "linux", architecture: "arm64" }).digest).toBe(D("1"));
  });

  test("in an OCI index an entry without platform is the last resort", () => {
    const l = list("oci", [{ d: "1" }, { d: "2", p: { os: "linux", architecture: "amd64" } }]);
    expect(chooseInstance(l, { os: "linux", architecture: "amd64" }).digest).toBe(D("2"));
    expect(chooseInstance(l, { os: "linux", architecture: "s390x" }).digest).toBe(D("1"));
  });

  test("prefers zstd instances unless asked for gzip", () => {
    const l = list("oci", [
      { d: "1", p: { os: "linux", architecture: "amd64" } },
      { d: "2", p: { os: "linux", architecture: "amd64" }, zstd: true },
    ]);
    expect(chooseInstance(l, { os: "linux", architecture: "amd64" }).digest).toBe(D("2"));
    expect(chooseInstance(l, { os: "linux", architecture: "amd64" }, { preferGzip: true }).digest).toBe(D("1"));
  });

  test("chooseInstances() gives one instance per platform, in list order, without duplicates", () => {
    const got = chooseInstances(docker, [
      { os: "linux", architecture: "arm64" },
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "amd64" },
    ]);
    expect(got.map((i) => i.digest)).toEqual([D("1"), D("4")]);
    expect(() => chooseInstances(docker, [{ os: "plan9", architecture: "amd64" }])).toThrow(ImageNotFoundError);
  });
});

describe("updatedLayerMediaType()", () => {
  const oci = "application/vnd.oci.image.layer.v1.tar";
  const ociNd = "application/vnd.oci.image.layer.nondistributable.v1.tar";
  const s2 = "application/vnd.docker.image.rootfs.diff.tar";
  const s2f = "application/vnd.docker.image.rootfs.foreign.diff.tar";
  test.each<[string, "oci" | "docker-schema2", string, Record<string, string | undefined>, string]>([
    ["OCI gzip → decompress", "oci", `${oci}+gzip`, { compressionOperation: "decompress" }, oci],
    ["OCI tar → compress gzip", "oci", oci, { compressionOperation: "compress", compressionAlgorithm: "gzip" }, `${oci}+gzip`],
    ["OCI gzip → compress zstd", "oci", `${oci}+gzip`, { compressionOperation: "compress", compressionAlgorithm: "zstd" }, `${oci}+zstd`],
    ["OCI zstd:chunked", "oci", oci, { compressionOperation: "compress", compressionAlgorithm: "zstd:chunked" }, `${oci}+zstd`],
    ["OCI non-distributable stays non-distributable", "oci", `${ociNd}+gzip`, { compressionOperation: "compress", compressionAlgorithm: "zstd" }, `${ociNd}+zstd`],
    ["preserve keeps the type", "oci", `${oci}+gzip`, { compressionOperation: "preserve" }, `${oci}+gzip`],
    ["preserve with an algorithm forces its variant", "oci", `${oci}+gzip`, { compressionOperation: "preserve", compressionAlgorithm: "zstd" }, `${oci}+zstd`],
    ["compress without an algorithm keeps the type", "oci", oci, { compressionOperation: "compress" }, oci],
    ["schema 2 gzip → decompress", "docker-schema2", `${s2}.gzip`, { compressionOperation: "decompress" }, s2],
    ["schema 2 foreign → gzip", "docker-schema2", s2f, { compressionOperation: "compress", compressionAlgorithm: "gzip" }, `${s2f}.gzip`],
    ["decompressing an already uncompressed layer", "docker-schema2", s2, { compressionOperation: "decompress" }, s2],
  ])("%s", (_w, format, mt, info, out) => {
    expect(updatedLayerMediaType(format, mt, info as never)).toBe(out);
  });

  test("zstd in Docker schema 2 is ManifestLayerCompressionIncompatibleError, an UnsupportedError", () => {
    const f = () => updatedLayerMediaType("docker-schema2", "application/vnd.docker.image.rootfs.diff.tar.gzip", { compressionOperation: "compress", compressionAlgorithm: "zstd" });
    expect(f).toThrow(ManifestLayerCompressionIncompatibleError);
    expect(f).toThrow(UnsupportedError);
    expect(f).toThrow(/zstd compression is not supported.*Docker schema 2/);
  });

  test("refuses compression changes for artifact and encrypted layers, and any encryption change", () => {
    expect(() => updatedLayerMediaType("oci", "application/vnd.cncf.helm.chart.content.v1.tar+gzip", { compressionOperation: "decompress" })).toThrow(/unsupported layer media type/);
    expect(() => updatedLayerMediaType("oci", "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", { compressionOperation: "decompress" })).toThrow(UnsupportedError);
    expect(() => updatedLayerMediaType("oci", "application/vnd.oci.image.layer.v1.tar+gzip", { cryptoOperation: "encrypt" })).toThrow(/encryption and decryption are not supported/);
    expect(updatedLayerMediaType("oci", "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", { compressionOperation: "preserve" })).toBe("application/vnd.oci.image.layer.v1.tar+gzip+encrypted");
  });

  test("formatSupportsCompression() and canChangeLayerCompression()", () => {
    expect(formatSupportsCompression("docker-schema2", "zstd")).toBe(false);
    expect(formatSupportsCompression("oci", "zstd:chunked")).toBe(true);
    expect(formatSupportsCompression("docker-schema1", "gzip")).toBe(true);
    expect(formatSupportsCompression("oci", "xz")).toBe(false);
    expect(canChangeLayerCompression("oci", "application/vnd.cncf.helm.chart.content.v1.tar+gzip")).toBe(false);
    expect(canChangeLayerCompression("docker-schema2", "application/vnd.docker.image.rootfs.diff.tar.gzip")).toBe(true);
  });
});
