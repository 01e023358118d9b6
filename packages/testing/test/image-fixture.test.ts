import { execFileSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { digestOf, fromUtf8 } from "@stevedore/types";
import { makeFixtureImage, makeFixtureIndex, makeTar, requireTool } from "@stevedore/testing";

describe("makeTar()", () => {
  test("writes a tar the real tar lists and extracts", () => {
    const tar = requireTool("tar");
    const t = makeTar([
      { name: "a/b.txt", content: new TextEncoder().encode("hello\n") },
      { name: "c.bin", content: new Uint8Array(1000).fill(7) },
    ]);
    expect(execFileSync(tar, ["-tf", "-"], { input: t, encoding: "utf8" }).split("\n").filter(Boolean)).toEqual(["a/b.txt", "c.bin"]);
    expect(execFileSync(tar, ["-xOf", "-", "a/b.txt"], { input: t, encoding: "utf8" })).toBe("hello\n");
  });
});

describe("makeFixtureImage()", () => {
  test("layers are gzip tars whose digests match the config's diff_ids", () => {
    const img = makeFixtureImage({ layers: 3 });
    const cfg = JSON.parse(fromUtf8(img.config.bytes)) as { rootfs: { diff_ids: string[] } };
    expect(cfg.rootfs.diff_ids).toEqual(img.diffIDs);
    img.layers.forEach((l, i) => {
      expect(digestOf(l.bytes)).toBe(l.digest);
      expect(digestOf(new Uint8Array(gunzipSync(l.bytes)))).toBe(img.diffIDs[i]);
    });
    expect(digestOf(img.manifest)).toBe(img.digest);
    const m = JSON.parse(fromUtf8(img.manifest)) as { config: { digest: string }; layers: { digest: string }[] };
    expect(m.config.digest).toBe(img.config.digest);
    expect(m.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
  });

  test("docker format uses schema2 media types; uncompressed layers are their own diff_ids", () => {
    const img = makeFixtureImage({ format: "docker", gzip: false });
    expect(img.mimeType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(img.layers[0]!.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar");
    expect(img.layers.map((l) => l.digest)).toEqual(img.diffIDs);
  });

  test("makeFixtureIndex() lists one image per platform", () => {
    const idx = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
    ]);
    const m = JSON.parse(fromUtf8(idx.manifest)) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(m.manifests.map((x) => x.digest)).toEqual(idx.images.map((i) => i.digest));
    expect(m.manifests[1]!.platform.architecture).toBe("arm64");
  });
});
