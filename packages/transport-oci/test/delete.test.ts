import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { AmbiguousImageError, BlobUnknownError, ImageNotFoundError, digestOf } from "@stevedore/types";
import { newOCIReference } from "@stevedore/transport-oci";
import { layoutNames, noCache, skopeoCopy, snapshot, tempDir, writeWithDestination } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(() => cleanup());

async function blobFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "blobs", "sha256"))).map((h) => `sha256:${h}`).sort();
}

describe("deleteImage()", () => {
  test("removes the entry and the blobs only it used; blobs shared with another image stay", async () => {
    const dir = join(root, "l");
    const a = makeFixtureImage();
    const b = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a);
    await writeWithDestination(newOCIReference(dir, "b"), b);
    await writeWithDestination(newOCIReference(dir, "keep"), a);
    await newOCIReference(dir, "a").deleteImage();
    expect(await layoutNames(dir)).toEqual(["b", "keep"]);
    // a's blobs stay: "keep" is the same image.
    for (const d of [...a.blobs.keys(), a.digest]) expect(await blobFiles(dir)).toContain(d);
    await newOCIReference(dir, "keep").deleteImage();
    expect(await layoutNames(dir)).toEqual(["b"]);
    expect(await blobFiles(dir)).toEqual([...b.blobs.keys(), b.digest].sort());
  });

  test("of an index removes its instances, configs and layers", async () => {
    const dir = join(root, "l");
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "s390x", os: "linux" },
    ]);
    const other = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "multi"), index);
    await writeWithDestination(newOCIReference(dir, "other"), other);
    await newOCIReference(dir, "multi").deleteImage();
    expect(await blobFiles(dir)).toEqual([...other.blobs.keys(), other.digest].sort());
  });

  test("keeps blobs in a shared blob directory", async () => {
    const dir = join(root, "l");
    const ctx = { ociSharedBlobDirPath: join(root, "shared") };
    const a = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a, ctx);
    const before = await snapshot(join(root, "shared"));
    await newOCIReference(dir, "a").deleteImage(ctx);
    expect(await layoutNames(dir)).toEqual([]);
    expect(await snapshot(join(root, "shared"))).toBe(before);
  });

  test("of a missing name fails with ImageNotFoundError; without a name in a layout of two, AmbiguousImageError; nothing changes", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "a"), makeFixtureImage());
    await writeWithDestination(newOCIReference(dir, "b"), makeFixtureImage());
    const before = await snapshot(dir);
    await expect(newOCIReference(dir, "zzz").deleteImage()).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(newOCIReference(dir).deleteImage()).rejects.toBeInstanceOf(AmbiguousImageError);
    await expect(newOCIReference(join(root, "absent"), "a").deleteImage()).rejects.toBeInstanceOf(ImageNotFoundError);
    expect(await snapshot(dir)).toBe(before);
  });

  test("a destination that reused blobs of an image deleted before its commit fails with BlobUnknownError", async () => {
    const dir = join(root, "l");
    const a = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a);
    await writeWithDestination(newOCIReference(dir, "b"), makeFixtureImage());
    const d = await newOCIReference(dir, "again").newImageDestination();
    try {
      for (const l of a.layers) expect(await d.tryReusingBlob({ digest: l.digest, size: l.size }, { cache: noCache, canSubstitute: false })).toBeDefined();
      expect(await d.tryReusingBlob({ digest: a.config.digest, size: a.config.size }, { cache: noCache, canSubstitute: false })).toBeDefined();
      await d.putManifest(a.manifest);
      await newOCIReference(dir, "a").deleteImage();
      const after = await snapshot(dir, { ignoreTemporaries: true }); // the destination's staging directory is there until close()
      await expect(d.commit()).rejects.toBeInstanceOf(BlobUnknownError);
      await d.close();
      expect(await snapshot(dir)).toBe(after);
    } finally {
      await d.close();
    }
  });

  test("leaves a layout skopeo still reads", async () => {
    const dir = join(root, "l");
    const a = makeFixtureImage();
    const b = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a);
    await writeWithDestination(newOCIReference(dir, "b"), b);
    await newOCIReference(dir, "a").deleteImage();
    await skopeoCopy(`oci:${dir}:b`, `oci:${join(root, "copy")}:b`);
    await access(join(root, "copy", "blobs", "sha256", b.digest.slice(7)));
    expect(digestOf(new Uint8Array(await (await import("node:fs/promises")).readFile(join(root, "copy", "blobs", "sha256", b.digest.slice(7)))))).toBe(b.digest);
  });
});
