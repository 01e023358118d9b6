import { spawn } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { makeFixtureImage, requireTool, type FixtureImage } from "@stevedore/testing";
import { newDockerArchiveIndexReference, newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import {
  AmbiguousImageError,
  BlobUnknownError,
  ImageNotFoundError,
  InvalidArchiveError,
  ManifestUnknownError,
  UnsupportedError,
  digestHex,
  digestOf,
  fromUtf8,
  readAll,
  type Digest,
  type ImageSource,
} from "@stevedore/types";
import { namesIn, noCache, packTar, removeDir, tempDir, tool, writeDockerArchive } from "./helpers.js";

let dir = "";
beforeEach(async () => {
  dir = await tempDir("da-src-");
});
afterEach(async () => {
  await removeDir(dir);
});

interface Manifest {
  config: { digest: Digest; size: number };
  layers: { digest: Digest; size: number; mediaType: string }[];
}

async function manifestOf(src: ImageSource): Promise<Manifest> {
  return JSON.parse(fromUtf8((await src.getManifest()).bytes)) as Manifest;
}

/** Reads every blob of the image and checks it against the fixture. */
async function expectImage(src: ImageSource, img: FixtureImage): Promise<void> {
  const m = await manifestOf(src);
  expect(m.config.digest).toBe(img.config.digest);
  expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
  for (const l of m.layers) {
    expect(l.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar");
    const { stream, size } = await src.getBlob({ digest: l.digest, size: l.size }, noCache);
    const b = await readAll(stream);
    expect(digestOf(b)).toBe(l.digest);
    expect(b.length).toBe(l.size);
    expect(size).toBe(l.size);
  }
  const cfg = await readAll((await src.getBlob({ digest: img.config.digest, size: -1 }, noCache)).stream);
  expect(cfg).toEqual(img.config.bytes);
}

async function withSource(ref: { newImageSource: (ctx?: object) => Promise<ImageSource> }, fn: (s: ImageSource) => Promise<void>, ctx?: object): Promise<void> {
  const s = await ref.newImageSource(ctx);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

describe("choosing the image", () => {
  const a = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });
  const b = makeFixtureImage({ format: "docker", gzip: false, layers: 1 });

  async function twoImages(): Promise<string> {
    const path = join(dir, "multi.tar");
    await writeDockerArchive(path, [
      { img: a, repoTags: ["busybox:latest", "example.com/a:1", "example.com/a:2"] },
      { img: b, repoTags: ["docker.io/library/b:x", "quay.io/org/b:y"] },
    ]);
    return path;
  }

  test("newImageSource() with a tag picks the image carrying it, in familiar or full form", async () => {
    const path = await twoImages();
    await withSource(newDockerArchiveReference(path, "busybox"), (s) => expectImage(s, a));
    await withSource(newDockerArchiveReference(path, "docker.io/library/busybox:latest"), (s) => expectImage(s, a));
    await withSource(newDockerArchiveReference(path, "example.com/a:2"), (s) => expectImage(s, a));
    await withSource(newDockerArchiveReference(path, "b:x"), (s) => expectImage(s, b));
    await withSource(newDockerArchiveReference(path, "quay.io/org/b:y"), (s) => expectImage(s, b));
  });

  test("newImageSource() with @index picks that image", async () => {
    const path = await twoImages();
    await withSource(newDockerArchiveIndexReference(path, 0), (s) => expectImage(s, a));
    await withSource(newDockerArchiveIndexReference(path, 1), (s) => expectImage(s, b));
  });

  test("newImageSource() without a choice on a two-image archive throws AmbiguousImageError listing the tags", async () => {
    const path = await twoImages();
    const err = await newDockerArchiveReference(path).newImageSource().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousImageError);
    expect((err as Error).message).toContain("@0 (busybox:latest, example.com/a:1, example.com/a:2)");
    expect((err as Error).message).toContain("@1 (docker.io/library/b:x, quay.io/org/b:y)");
  });

  test("newImageSource() with an absent tag or index throws ImageNotFoundError naming what exists", async () => {
    const path = await twoImages();
    const e1 = await newDockerArchiveReference(path, "nope:1").newImageSource().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ImageNotFoundError);
    expect((e1 as Error).message).toMatch(/docker\.io\/library\/nope:1.*busybox:latest/);
    const e2 = await newDockerArchiveIndexReference(path, 2).newImageSource().catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ImageNotFoundError);
    expect((e2 as Error).message).toContain("holds 2 images");
  });

  test("newImageSource() on an archive whose manifest.json is an empty list throws ImageNotFoundError", async () => {
    const path = join(dir, "empty.tar");
    await writeFile(path, await packTar([{ name: "manifest.json", content: "[]" }]));
    await expect(newDockerArchiveReference(path).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  test("newImageSource() on a missing file throws ImageNotFoundError", async () => {
    await expect(newDockerArchiveReference(join(dir, "absent.tar")).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  test("newImageSource() on a directory throws InvalidArchiveError", async () => {
    await expect(newDockerArchiveReference(dir).newImageSource()).rejects.toBeInstanceOf(InvalidArchiveError);
  });
});

describe("archive layouts", () => {
  test("layers stored gzip-compressed are served decompressed under their DiffID", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: true, layers: 2 });
    const path = join(dir, "gz-layers.tar");
    await writeDockerArchive(path, [{ img, repoTags: [] }]);
    await withSource(newDockerArchiveReference(path), (s) => expectImage(s, img));
  });

  test("the docker ≥ 25 layout (an OCI layout with manifest.json pointing into blobs/) is read", async () => {
    const img = makeFixtureImage({ format: "oci", gzip: false, layers: 2 });
    const path = join(dir, "docker25.tar");
    await writeDockerArchive(
      path,
      [{ img, repoTags: ["example.com/new:1"], configName: `blobs/sha256/${digestHex(img.config.digest)}`, layerNames: (_, d) => `blobs/sha256/${digestHex(d)}` }],
      [
        { name: "blobs/", type: "directory" },
        { name: "blobs/sha256/", type: "directory" },
        { name: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
        { name: "index.json", content: "{}" },
      ],
    );
    await withSource(newDockerArchiveReference(path, "example.com/new:1"), (s) => expectImage(s, img));
  });

  test("duplicate layers (one DiffID twice, linked by a symlink as docker save does) are served once", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: false, layers: 1 });
    const cfg = JSON.parse(fromUtf8(img.config.bytes)) as { rootfs: { diff_ids: string[] } };
    cfg.rootfs.diff_ids = [img.diffIDs[0]!, img.diffIDs[0]!];
    const cfgBytes = new TextEncoder().encode(JSON.stringify(cfg));
    const path = join(dir, "dup-layer.tar");
    await writeFile(
      path,
      await packTar([
        { name: "a/layer.tar", content: img.layers[0]!.bytes },
        { name: "b/layer.tar", type: "symlink", linkname: "../a/layer.tar" },
        { name: "config.json", content: cfgBytes },
        { name: "manifest.json", content: JSON.stringify([{ Config: "config.json", RepoTags: null, Layers: ["a/layer.tar", "b/layer.tar"] }]) },
      ]),
    );
    await withSource(newDockerArchiveReference(path), async (s) => {
      const m = await manifestOf(s);
      expect(m.layers.map((l) => l.digest)).toEqual([img.diffIDs[0], img.diffIDs[0]]);
      expect(m.config.digest).toBe(digestOf(cfgBytes));
      const b = await readAll((await s.getBlob({ digest: img.diffIDs[0]!, size: -1 }, noCache)).stream);
      expect(digestOf(b)).toBe(img.diffIDs[0]);
    });
  });

  test("tar headers with a GNU base-256 size field are read", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: false, layers: 1 });
    const tarBytes = await packTar([
      { name: "l.tar", content: img.layers[0]!.bytes },
      { name: "c.json", content: img.config.bytes },
      { name: "manifest.json", content: JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: ["l.tar"] }]) },
    ]);
    // Re-encode the first header's size (offset 124, 12 bytes) in base-256, and fix its checksum.
    const h = tarBytes.subarray(0, 512);
    h.fill(0, 124, 136);
    h[124] = 0x80;
    let size = img.layers[0]!.size;
    for (let i = 135; i > 124; i--) {
      h[i] = size & 0xff;
      size = Math.floor(size / 256);
    }
    h.fill(0x20, 148, 156);
    const sum = h.reduce((a, b) => a + b, 0);
    h.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    const path = join(dir, "base256.tar");
    await writeFile(path, tarBytes);
    await withSource(newDockerArchiveReference(path), (s) => expectImage(s, img));
  });

  test("a legacy archive (repositories + <id>/json, no manifest.json) throws UnsupportedError saying so", async () => {
    const path = join(dir, "legacy.tar");
    const id = "a".repeat(64);
    await writeFile(
      path,
      await packTar([
        { name: `${id}/VERSION`, content: "1.0" },
        { name: `${id}/json`, content: JSON.stringify({ id }) },
        { name: `${id}/layer.tar`, content: await packTar([{ name: "f", content: "x" }]) },
        { name: "repositories", content: JSON.stringify({ busybox: { latest: id } }) },
      ]),
    );
    const err = await newDockerArchiveReference(path).newImageSource().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toMatch(/legacy.*Docker < 1\.10.*not support/);
  });

  test("a tar without manifest.json or repositories throws InvalidArchiveError", async () => {
    const path = join(dir, "plain.tar");
    await writeFile(path, await packTar([{ name: "hello.txt", content: "hi" }]));
    const err = await newDockerArchiveReference(path).newImageSource().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect((err as Error).message).toContain("no manifest.json");
  });
});

describe("compressed archives", () => {
  const img = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });

  test.each([
    ["gzip", ["-k", "-n"], ".gz"],
    ["zstd", ["-q", "-k"], ".zst"],
    ["bzip2", ["-k"], ".bz2"],
    ["xz", ["-k"], ".xz"],
  ] as const)("a %s-compressed archive is decompressed to a temp file under bigFilesTemporaryDir, removed on close()", async (cmd, args, ext) => {
    const path = join(dir, "image.tar");
    await writeDockerArchive(path, [{ img, repoTags: ["example.com/c:1"] }]);
    await tool(cmd, [...args, path]);
    const big = join(dir, "big");
    await import("node:fs/promises").then((fs) => fs.mkdir(big));
    const src = await newDockerArchiveReference(path + ext, "example.com/c:1").newImageSource({ bigFilesTemporaryDir: big });
    try {
      expect((await namesIn(big)).length).toBe(1);
      await expectImage(src, img);
    } finally {
      await src.close();
    }
    expect(await namesIn(big)).toEqual([]);
  });

  test("a corrupt gzip archive throws InvalidArchiveError and leaves no temp file", async () => {
    const path = join(dir, "image.tar");
    await writeDockerArchive(path, [{ img, repoTags: [] }]);
    await tool("gzip", ["-n", path]);
    const gz = await readFile(path + ".gz");
    await writeFile(path + ".gz", gz.subarray(0, Math.floor(gz.length / 2)));
    const big = join(dir, "big");
    await import("node:fs/promises").then((fs) => fs.mkdir(big));
    await expect(newDockerArchiveReference(path + ".gz").newImageSource({ bigFilesTemporaryDir: big })).rejects.toBeInstanceOf(InvalidArchiveError);
    expect(await namesIn(big)).toEqual([]);
  });

  test("an archive read from a FIFO is spooled to a temp file and read", async () => {
    const path = join(dir, "image.tar");
    await writeDockerArchive(path, [{ img, repoTags: [] }]);
    await tool("gzip", ["-k", "-n", path]);
    const fifo = join(dir, "pipe");
    await tool("mkfifo", [fifo]);
    const writer = spawn(requireTool("sh"), ["-c", 'cat "$1" > "$2"', "sh", path + ".gz", fifo], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => writer.on("exit", resolve));
    try {
      await withSource(newDockerArchiveReference(fifo), (s) => expectImage(s, img));
    } finally {
      expect(await exited).toBe(0);
    }
  });
});

describe("ImageSource methods", () => {
  test("getManifest() is stable, lists uncompressed sizes, and refuses instance digests with ManifestUnknownError", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: true, layers: 2 });
    const path = join(dir, "i.tar");
    await writeDockerArchive(path, [{ img, repoTags: [] }]);
    await copyFile(path, join(dir, "copy.tar"));
    await withSource(newDockerArchiveReference(join(dir, "copy.tar")), async (s) => {
      const m1 = await s.getManifest();
      const m2 = await s.getManifest();
      expect(m1.bytes).toEqual(m2.bytes);
      expect(m1.mimeType).toBe("application/vnd.docker.distribution.manifest.v2+json");
      const m = JSON.parse(fromUtf8(m1.bytes)) as Manifest;
      // Each fixture layer is a tar of one 1 KiB file: 512 header + 1024 + 1024 end marker.
      expect(m.layers.map((l) => l.size)).toEqual([2560, 2560]);
      await expect(s.getManifest(digestOf(m1.bytes))).rejects.toBeInstanceOf(ManifestUnknownError);
      expect(await s.getSignatures()).toEqual([]);
      expect(await s.layerInfosForCopy()).toBeUndefined();
      await expect(s.getBlob({ digest: img.layers[0]!.digest, size: -1 }, noCache)).rejects.toBeInstanceOf(BlobUnknownError);
    });
  });
});
