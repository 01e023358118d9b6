import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import {
  BlobUnknownError,
  DigestMismatchError,
  ImageNotFoundError,
  InvalidArchiveError,
  InvalidDigestError,
  InvalidManifestError,
  SignatureInvalidError,
  SizeLimitExceededError,
  SizeMismatchError,
  StevedoreError,
  readAll,
  type Digest,
} from "@stevedore/types";
import { newDirReference } from "@stevedore/transport-dir";
import { noCache, snapshot, tempDir, writeDirByHand, writeWithDestination } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

const hex = (d: string) => d.slice(d.indexOf(":") + 1);

async function source(dir: string) {
  return newDirReference(dir).newImageSource();
}

/** A destination holding an earlier image, and its snapshot. */
async function existingDestination(): Promise<{ dir: string; before: string }> {
  const dir = join(t.dir, "dest");
  await writeWithDestination(newDirReference(dir), makeFixtureImage({ layers: 1 }));
  return { dir, before: await snapshot(t.dir + "/dest") };
}

describe("a hostile or damaged source directory", () => {
  test("a manifest.json that is not JSON fails with InvalidManifestError naming the file", async () => {
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, makeFixtureImage());
    await writeFile(join(dir, "manifest.json"), "<html>not a manifest</html>");
    const err = await source(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidManifestError);
    expect((err as Error).message).toContain("manifest.json");
  });

  test("an oversized manifest.json fails with SizeLimitExceededError without being read", async () => {
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, makeFixtureImage());
    await writeFile(join(dir, "manifest.json"), new Uint8Array(4 * 1024 * 1024 + 1));
    await expect(source(dir)).rejects.toBeInstanceOf(SizeLimitExceededError);
  });

  test("a missing manifest.json or directory fails with ImageNotFoundError", async () => {
    const dir = join(t.dir, "src");
    await expect(source(dir)).rejects.toBeInstanceOf(ImageNotFoundError);
    await mkdir(dir);
    await expect(source(dir)).rejects.toBeInstanceOf(ImageNotFoundError);
    await writeFile(join(t.dir, "file"), "x");
    await expect(source(join(t.dir, "file"))).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  test("a directory without a version file is read as containers/image reads it", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    await rm(join(dir, "version"));
    const s = await source(dir);
    try {
      expect((await s.getManifest()).bytes).toEqual(img.manifest);
    } finally {
      await s.close();
    }
  });

  test("a blob whose size differs from the manifest's fails with SizeMismatchError naming the digest", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    const l = img.layers[0]!;
    const s = await source(dir);
    try {
      const err = await s.getBlob({ digest: l.digest, size: l.size + 7 }, noCache).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SizeMismatchError);
      expect((err as Error).message).toContain(l.digest);
    } finally {
      await s.close();
    }
  });

  test("a manifest that lies about a layer's size makes a copy fail with SizeMismatchError and leaves the destination unchanged", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    const m = JSON.parse(new TextDecoder().decode(img.manifest));
    m.layers[1].size += 100;
    await writeFile(join(dir, "manifest.json"), JSON.stringify(m));
    const { dir: destDir, before } = await existingDestination();
    const err = await copyImage(undefined, newDirReference(destDir), newDirReference(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect((err as Error).message).toContain(img.layers[1]!.digest);
    expect(await snapshot(destDir)).toBe(before);
  });

  test("a missing blob fails with BlobUnknownError, and a copy of it leaves the destination unchanged", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    await rm(join(dir, hex(img.layers[1]!.digest)));
    const s = await source(dir);
    try {
      await expect(s.getBlob({ digest: img.layers[1]!.digest, size: -1 }, noCache)).rejects.toBeInstanceOf(BlobUnknownError);
    } finally {
      await s.close();
    }
    const { dir: destDir, before } = await existingDestination();
    await expect(copyImage(undefined, newDirReference(destDir), newDirReference(dir))).rejects.toBeInstanceOf(BlobUnknownError);
    expect(await snapshot(destDir)).toBe(before);
  });

  test("a corrupted blob makes a copy fail with DigestMismatchError and leaves the destination byte-identical", async () => {
    const img = makeFixtureImage({ layers: 3 });
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    const p = join(dir, hex(img.layers[2]!.digest));
    const bytes = new Uint8Array(await readFile(p));
    bytes[bytes.length - 20]! ^= 0x55;
    await writeFile(p, bytes);
    const { dir: destDir, before } = await existingDestination();
    const err = await copyImage(undefined, newDirReference(destDir), newDirReference(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toContain(img.layers[2]!.digest);
    expect(await snapshot(destDir)).toBe(before);
  });

  test("a blob that is a symbolic link to a file outside the directory fails with InvalidArchiveError", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    const l = img.layers[0]!;
    await writeFile(join(t.dir, "outside"), l.bytes);
    await rm(join(dir, hex(l.digest)));
    await symlink(join(t.dir, "outside"), join(dir, hex(l.digest)));
    const s = await source(dir);
    try {
      const err = await s.getBlob({ digest: l.digest, size: l.size }, noCache).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArchiveError);
      expect((err as Error).message).toMatch(/outside the image directory/);
    } finally {
      await s.close();
    }
  });

  test("a blob that is a symbolic link to another file inside the directory is read", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    const l = img.layers[0]!;
    await mkdir(join(dir, "store"));
    await writeFile(join(dir, "store", "layer0"), l.bytes);
    await rm(join(dir, hex(l.digest)));
    await symlink("store/layer0", join(dir, hex(l.digest)));
    const s = await source(dir);
    try {
      expect(await readAll((await s.getBlob({ digest: l.digest, size: l.size }, noCache)).stream)).toEqual(l.bytes);
    } finally {
      await s.close();
    }
  });

  test("a manifest.json that is a symbolic link outside, or a blob that is a directory, fails with InvalidArchiveError", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, img);
    await rm(join(dir, hex(img.config.digest)));
    await mkdir(join(dir, hex(img.config.digest)));
    const s = await source(dir);
    try {
      await expect(s.getBlob({ digest: img.config.digest, size: -1 }, noCache)).rejects.toBeInstanceOf(InvalidArchiveError);
    } finally {
      await s.close();
    }
    await writeFile(join(t.dir, "m.json"), img.manifest);
    await rm(join(dir, "manifest.json"));
    await symlink(join(t.dir, "m.json"), join(dir, "manifest.json"));
    await expect(source(dir)).rejects.toBeInstanceOf(InvalidArchiveError);
  });

  test("a digest that could name a path outside fails with InvalidDigestError before any file is opened", async () => {
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, makeFixtureImage());
    const s = await source(dir);
    try {
      for (const bad of ["sha256:../../../etc/passwd", "sha256:" + "A".repeat(64), "md5:d41d8cd98f00b204e9800998ecf8427e", "../manifest.json"]) {
        await expect(s.getBlob({ digest: bad as Digest, size: -1 }, noCache)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(s.getManifest(bad as Digest)).rejects.toBeInstanceOf(InvalidDigestError);
        await expect(s.getSignatures(bad as Digest)).rejects.toBeInstanceOf(InvalidDigestError);
      }
    } finally {
      await s.close();
    }
  });

  test("an instance manifest stored under another digest fails with DigestMismatchError", async () => {
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    const dir = join(t.dir, "src");
    await writeWithDestination(newDirReference(dir), index);
    const [a, b] = index.images;
    await writeFile(join(dir, `${hex(a!.digest)}.manifest.json`), b!.manifest);
    const s = await source(dir);
    try {
      await expect(s.getManifest(a!.digest)).rejects.toBeInstanceOf(DigestMismatchError);
      expect((await s.getManifest(b!.digest)).bytes).toEqual(b!.manifest);
      await expect(s.getManifest(`sha256:${"1".repeat(64)}` as Digest)).rejects.toBeInstanceOf(StevedoreError);
    } finally {
      await s.close();
    }
  });

  test("signatures are read until the first missing index; bad ones fail with typed errors", async () => {
    const dir = join(t.dir, "src");
    await writeDirByHand(dir, makeFixtureImage());
    await writeFile(join(dir, "signature-1"), "one");
    await writeFile(join(dir, "signature-3"), "three (after a gap: not read)");
    const s = await source(dir);
    try {
      const sigs = await s.getSignatures();
      expect(sigs).toHaveLength(1);
      expect(sigs[0]).toEqual({ format: "simple-signing", untrustedSignature: new TextEncoder().encode("one") });
      await writeFile(join(dir, "signature-2"), "\0unknown-format\n{}");
      await expect(s.getSignatures()).rejects.toBeInstanceOf(SignatureInvalidError);
      await writeFile(join(dir, "signature-2"), new Uint8Array(4 * 1024 * 1024 + 1).fill(1));
      await expect(s.getSignatures()).rejects.toBeInstanceOf(SizeLimitExceededError);
    } finally {
      await s.close();
    }
  });
});
