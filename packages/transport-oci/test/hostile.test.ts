import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, type FixtureImage } from "@stevedore/testing";
import {
  BlobUnknownError,
  DigestMismatchError,
  InvalidArchiveError,
  InvalidDigestError,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeMismatchError,
  StevedoreError,
  readAll,
} from "@stevedore/types";
import { newOCIReference } from "@stevedore/transport-oci";
import { noCache, snapshot, tempDir, writeWithDestination } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
let img: FixtureImage;
let src: string;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
  img = makeFixtureImage();
  src = join(root, "src");
  await writeWithDestination(newOCIReference(src, "t"), img);
});
afterEach(() => cleanup());

const blob = (d: string) => join(src, "blobs", "sha256", d.slice(7));

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof Error)) throw new Error("expected a rejection");
  return e;
}

async function readLayer(i: number): Promise<Uint8Array> {
  const s = await newOCIReference(src, "t").newImageSource();
  try {
    const l = img.layers[i]!;
    return await readAll((await s.getBlob({ digest: l.digest, size: l.size }, noCache)).stream);
  } finally {
    await s.close();
  }
}

/** A copy to a new and to an existing layout fails with `cls`, leaving the first absent and the second unchanged. */
async function copyFailsCleanly(cls: abstract new (...a: never[]) => Error): Promise<Error> {
  const existing = join(root, "existing");
  await writeWithDestination(newOCIReference(existing, "old"), makeFixtureImage());
  const before = await snapshot(existing);
  const e = await rejection(copyImage(undefined, newOCIReference(existing, "new"), newOCIReference(src, "t")));
  expect(e).toBeInstanceOf(cls);
  expect(await snapshot(existing)).toBe(before);
  const e2 = await rejection(copyImage(undefined, newOCIReference(join(root, "fresh"), "new"), newOCIReference(src, "t")));
  expect(e2).toBeInstanceOf(cls);
  expect(await snapshot(join(root, "fresh"))).toBe("absent");
  return e;
}

describe("hostile oci: layouts", () => {
  test("index.json naming a missing manifest: ManifestUnknownError naming the digest", async () => {
    await rm(blob(img.digest));
    const s = await newOCIReference(src, "t").newImageSource();
    try {
      const e = await rejection(s.getManifest());
      expect(e).toBeInstanceOf(ManifestUnknownError);
      expect(e.message).toContain(img.digest);
    } finally {
      await s.close();
    }
    await copyFailsCleanly(ManifestUnknownError);
  });

  test("a corrupted manifest: DigestMismatchError naming the digest", async () => {
    const bytes = await readFile(blob(img.digest));
    bytes[bytes.length - 2] = 0x20;
    await writeFile(blob(img.digest), bytes);
    const e = await copyFailsCleanly(DigestMismatchError);
    expect(e.message).toContain(img.digest);
  });

  test("a manifest of another size than its descriptor: SizeMismatchError", async () => {
    await writeFile(blob(img.digest), Buffer.concat([await readFile(blob(img.digest)), Buffer.from(" ")]));
    await copyFailsCleanly(SizeMismatchError);
  });

  test("a missing layer: BlobUnknownError naming the digest, and copies leave destinations unchanged", async () => {
    const l = img.layers[1]!;
    await rm(blob(l.digest));
    const e = await rejection(readLayer(1));
    expect(e).toBeInstanceOf(BlobUnknownError);
    expect(e.message).toContain(l.digest);
    await copyFailsCleanly(BlobUnknownError);
  });

  test("a corrupted layer of the right size: DigestMismatchError naming the digest", async () => {
    const l = img.layers[0]!;
    const bytes = await readFile(blob(l.digest));
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(blob(l.digest), bytes);
    const e = await rejection(readLayer(0));
    expect(e).toBeInstanceOf(DigestMismatchError);
    expect(e.message).toContain(l.digest);
    await copyFailsCleanly(DigestMismatchError);
  });

  test("an invalid digest in index.json (sha256:../../x): InvalidDigestError naming it; as a destination the layout is untouched", async () => {
    const idx = JSON.parse(await readFile(join(src, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    idx.manifests[0]!.digest = "sha256:../../x";
    await writeFile(join(src, "index.json"), JSON.stringify(idx));
    const e = await rejection(newOCIReference(src, "t").newImageSource());
    expect(e).toBeInstanceOf(InvalidDigestError);
    expect(e.message).toContain("sha256:../../x");
    const before = await snapshot(src);
    await expect(newOCIReference(src, "other").newImageDestination()).rejects.toBeInstanceOf(InvalidDigestError);
    await expect(newOCIReference(src, "t").deleteImage()).rejects.toBeInstanceOf(InvalidDigestError);
    expect(await snapshot(src)).toBe(before);
  });

  test("getBlob() with an invalid digest fails with InvalidDigestError before touching a path", async () => {
    const s = await newOCIReference(src, "t").newImageSource();
    try {
      await expect(s.getBlob({ digest: "sha256:../../../etc/passwd" as never, size: -1 }, noCache)).rejects.toBeInstanceOf(InvalidDigestError);
    } finally {
      await s.close();
    }
  });

  test("an index.json over 4 MiB: SizeLimitExceededError for sources and destinations", async () => {
    const big = JSON.stringify({ schemaVersion: 2, manifests: [], annotations: { pad: "x".repeat(4 * 1024 * 1024) } });
    await writeFile(join(src, "index.json"), big);
    const before = await snapshot(src);
    await expect(newOCIReference(src, "t").newImageSource()).rejects.toBeInstanceOf(SizeLimitExceededError);
    await expect(newOCIReference(src, "t").newImageDestination()).rejects.toBeInstanceOf(SizeLimitExceededError);
    expect(await snapshot(src)).toBe(before);
  });

  test("index.json that is not JSON, or an oci-layout of another version: InvalidArchiveError", async () => {
    await writeFile(join(src, "index.json"), "{not json");
    await expect(newOCIReference(src, "t").newImageSource()).rejects.toBeInstanceOf(InvalidArchiveError);
    await writeWithDestination(newOCIReference(join(root, "v2"), "t"), img);
    await writeFile(join(root, "v2", "oci-layout"), '{"imageLayoutVersion":"2.0.0"}');
    await expect(newOCIReference(join(root, "v2"), "t").newImageSource()).rejects.toBeInstanceOf(InvalidArchiveError);
  });

  test("a blob that is a symbolic link pointing outside is refused, and the outside file is not read", async () => {
    const l = img.layers[0]!;
    const outside = join(root, "outside-secret");
    await writeFile(outside, await readFile(blob(l.digest)));
    await rm(blob(l.digest));
    await symlink(outside, blob(l.digest));
    const e = await rejection(readLayer(0));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(e.message).toContain(l.digest);
    expect(e.message).toContain("symbolic link");
  });

  test("a blobs/sha256 directory that is a link pointing outside is refused for reading and writing; nothing is written outside", async () => {
    const outside = join(root, "outside-dir");
    await mkdir(outside);
    await rm(join(src, "blobs", "sha256"), { recursive: true });
    await symlink(outside, join(src, "blobs", "sha256"));
    await expect(newOCIReference(src, "t").newImageSource().then((s) => s.getManifest().finally(() => s.close()))).rejects.toBeInstanceOf(InvalidArchiveError);
    await writeWithDestination(newOCIReference(join(root, "src2"), "x"), makeFixtureImage());
    const before = await snapshot(outside);
    const indexBefore = await readFile(join(src, "index.json"));
    const e = await rejection(copyImage(undefined, newOCIReference(src, "new"), newOCIReference(join(root, "src2"), "x")));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(await snapshot(outside)).toBe(before);
    expect(await readFile(join(src, "index.json"))).toEqual(indexBefore);
  });

  test("a blobs directory that is a link is refused when opening a destination", async () => {
    const layout = join(root, "linked");
    await mkdir(layout);
    await mkdir(join(root, "elsewhere"));
    await symlink(join(root, "elsewhere"), join(layout, "blobs"));
    const before = await snapshot(layout);
    await expect(newOCIReference(layout, "t").newImageDestination()).rejects.toBeInstanceOf(InvalidArchiveError);
    expect(await snapshot(join(root, "elsewhere"))).toMatch(/^d \. \d+$/);
    expect(await snapshot(layout)).toBe(before);
  });

  test("index.json that is a symbolic link is refused", async () => {
    await writeFile(join(root, "elsewhere.json"), await readFile(join(src, "index.json")));
    await rm(join(src, "index.json"));
    await symlink(join(root, "elsewhere.json"), join(src, "index.json"));
    await expect(newOCIReference(src, "t").newImageSource()).rejects.toBeInstanceOf(InvalidArchiveError);
  });

  test("a destination path that is a file fails with a StevedoreError and the file is unchanged", async () => {
    await writeFile(join(root, "file"), "x");
    await expect(newOCIReference(join(root, "file"), "t").newImageDestination()).rejects.toBeInstanceOf(StevedoreError);
    expect(await readFile(join(root, "file"), "utf8")).toBe("x");
  });
});
