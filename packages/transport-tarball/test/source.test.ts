import { randomBytes } from "node:crypto";
import { appendFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { makeFixtureImage, makeTar } from "@stevedore/testing";
import { InvalidArchiveError, ManifestUnknownError, digestOf, readAll, type Digest, type ImageSource } from "@stevedore/types";
import { TARBALL_HISTORY_COMMENT, newTarballReference } from "@stevedore/transport-tarball";
import { layerFiles, noCache, tempDir, writeLayers, type ImageJSON } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

async function json(s: ImageSource): Promise<ImageJSON> {
  const m = JSON.parse(new TextDecoder().decode((await s.getManifest()).bytes)) as ImageJSON["manifest"];
  const c = await readAll((await s.getBlob({ digest: m.config.digest as Digest, size: m.config.size }, noCache)).stream);
  return { manifest: m, config: JSON.parse(new TextDecoder().decode(c)) as ImageJSON["config"] };
}

async function withSource<T>(files: string[], fn: (s: ImageSource) => Promise<T>, ctx = {}): Promise<T> {
  const s = await newTarballReference(files).newImageSource(ctx);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe("the generated image", () => {
  test("has one layer per file with the media type of its compression, and the uncompressed digests as diff_ids", async () => {
    const img = makeFixtureImage({ layers: 3 });
    const [g] = await writeLayers(t.dir, [layerFiles(img, "gzip")[0]!], ".gz");
    const [n] = await writeLayers(t.dir, [layerFiles(img, "none")[1]!], ".tar");
    const [z] = await writeLayers(t.dir, [layerFiles(img, "zstd")[2]!], ".zst");
    const { manifest, config } = await withSource([g!, n!, z!], json);
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+zstd",
    ]);
    expect(manifest.layers[0]!.digest).toBe(img.layers[0]!.digest);
    expect(manifest.layers[1]!.digest).toBe(img.diffIDs[1]);
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: img.diffIDs });
    expect(config.history.map((h) => h.comment)).toEqual([TARBALL_HISTORY_COMMENT, TARBALL_HISTORY_COMMENT, TARBALL_HISTORY_COMMENT]);
    expect(config.history.map((h) => h.created_by)).toEqual(img.diffIDs.map((d) => `/bin/sh -c #(nop) ADD file:${d.slice(7)} in /`));
  });

  test("created is the newest file's mtime (nanoseconds, UTC) and each history entry has its file's mtime", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const files = await writeLayers(t.dir, layerFiles(img, "gzip"));
    await utimes(files[0]!, 1_700_000_000, 1_700_000_100.25);
    await utimes(files[1]!, 1_700_000_000, 1_600_000_000);
    const { config } = await withSource(files, json);
    expect(config.created).toBe("2023-11-14T22:15:00.25Z");
    expect(config.history.map((h) => h.created)).toEqual(["2023-11-14T22:15:00.25Z", "2020-09-13T12:26:40Z"]);
  });

  test("architecture and os are the runtime's in Go's names, unless the context chooses them", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const files = await writeLayers(t.dir, layerFiles(img, "gzip"));
    const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386", s390x: "s390x", riscv64: "riscv64" };
    const runtime = await withSource(files, json);
    expect(runtime.config.architecture).toBe(goArch[process.arch] ?? process.arch);
    expect(runtime.config.os).toBe(process.platform === "win32" ? "windows" : process.platform);
    const chosen = await withSource(files, json, { architectureChoice: "arm", osChoice: "freebsd", variantChoice: "v7" });
    expect(chosen.config).toMatchObject({ architecture: "arm", os: "freebsd", variant: "v7" });
  });

  test("is the same, byte for byte, every time the same files are opened", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const files = await writeLayers(t.dir, layerFiles(img, "gzip"));
    const a = await withSource(files, async (s) => (await s.getManifest()).bytes);
    const b = await withSource(files, async (s) => (await s.getManifest()).bytes);
    expect(b).toEqual(a);
  });

  test("is generated again when a file changed, and a source opened before fails to serve the changed file", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const files = await writeLayers(t.dir, layerFiles(img, "none"));
    const ref = newTarballReference(files);
    const first = await ref.newImageSource();
    try {
      const before = await json(first);
      await appendFile(files[0]!, new Uint8Array(1024));
      const err = await first.getBlob({ digest: before.manifest.layers[0]!.digest as Digest, size: -1 }, noCache).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArchiveError);
      expect((err as Error).message).toMatch(/changed since the image was opened/);
      const second = await ref.newImageSource();
      try {
        const after = await json(second);
        expect(after.manifest.layers[0]!.digest).not.toBe(before.manifest.layers[0]!.digest);
        expect(after.manifest.layers[0]!.size).toBe(before.manifest.layers[0]!.size + 1024);
        // Zero blocks appended after the end marker do not change the tar's content.
        expect(after.config.rootfs.diff_ids[0]).toBe(after.manifest.layers[0]!.digest);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });

  test("the same file twice gives two layers with one blob", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const files = await writeLayers(t.dir, layerFiles(img, "gzip"));
    const { manifest, config } = await withSource([files[0]!, files[0]!], json);
    expect(manifest.layers.map((l) => l.digest)).toEqual([img.layers[0]!.digest, img.layers[0]!.digest]);
    expect(config.rootfs.diff_ids).toEqual([img.diffIDs[0], img.diffIDs[0]]);
  });

  test("a multi-MiB layer is hashed and served in chunks", async () => {
    const big = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const tar = makeTar([{ name: "big.bin", content: big }]);
    const gz = new Uint8Array(gzipSync(tar));
    await writeFile(join(t.dir, "big.tar.gz"), gz);
    await withSource([join(t.dir, "big.tar.gz")], async (s) => {
      const { manifest, config } = await json(s);
      expect(config.rootfs.diff_ids).toEqual([digestOf(tar)]);
      const { stream, size } = await s.getBlob({ digest: manifest.layers[0]!.digest as Digest, size: manifest.layers[0]!.size }, noCache);
      expect(size).toBe(gz.length);
      let chunks = 0;
      let n = 0;
      for await (const c of stream) {
        chunks++;
        n += c.length;
      }
      expect(n).toBe(gz.length);
      expect(chunks).toBeGreaterThan(1);
    });
  });
});

describe("TarballImageSource", () => {
  test("getManifest(instance) fails with ManifestUnknownError; getSignatures() is empty; layerInfosForCopy() is undefined", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const files = await writeLayers(t.dir, layerFiles(img, "gzip"));
    await withSource(files, async (s) => {
      await expect(s.getManifest(img.digest)).rejects.toBeInstanceOf(ManifestUnknownError);
      expect(await s.getSignatures()).toEqual([]);
      expect(await s.layerInfosForCopy()).toBeUndefined();
      expect((await s.getManifest()).mimeType).toBe("application/vnd.oci.image.manifest.v1+json");
    });
  });

  test("getBlob() records the verified compressed/uncompressed pair and the compressor in the cache", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const files = await writeLayers(t.dir, [layerFiles(img, "gzip")[0]!, layerFiles(img, "zstd")[1]!]);
    const cache = createMemoryCache();
    await withSource(files, async (s) => {
      const { manifest } = await json(s);
      for (const l of manifest.layers) await readAll((await s.getBlob({ digest: l.digest as Digest, size: l.size }, cache)).stream);
      expect(cache.uncompressedDigest(manifest.layers[0]!.digest as Digest)).toBe(img.diffIDs[0]);
      expect(cache.uncompressedDigest(manifest.layers[1]!.digest as Digest)).toBe(img.diffIDs[1]);
      const candidates = cache.candidateLocations("dir", "/x", img.diffIDs[1]!, { canSubstitute: true, includeUnknownLocations: true });
      expect(candidates.some((c) => c.digest === manifest.layers[1]!.digest && c.compressorName === "zstd")).toBe(true);
    });
  });
});
