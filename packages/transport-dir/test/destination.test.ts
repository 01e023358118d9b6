import { spawnSync } from "node:child_process";
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import {
  DestinationExistsError,
  DigestMismatchError,
  InternalError,
  InvalidConfigurationError,
  SizeLimitExceededError,
  SizeMismatchError,
  digestOf,
  encodeSignatureBlob,
  readAll,
  streamOf,
  utf8,
  type Signature,
} from "@stevedore/types";
import { DIRECTORY_TRANSPORT_VERSION, NotImageDirectoryError, newDirReference } from "@stevedore/transport-dir";
import { names, noCache, sha256hex, snapshot, tempDir, writeWithDestination } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

const sig = (text: string): Signature => ({ format: "simple-signing", untrustedSignature: utf8(text) });
const sigstore: Signature = {
  format: "sigstore-json",
  untrustedMIMEType: "application/vnd.dev.cosign.simplesigning.v1+json",
  untrustedPayload: utf8('{"critical":{}}'),
  untrustedAnnotations: { "dev.cosignproject.cosign/signature": "MEUCIQ==" },
};

function hexOf(d: string): string {
  return d.slice(d.indexOf(":") + 1);
}

describe("newImageDestination()", () => {
  test("refuses a non-empty directory without a version file with NotImageDirectoryError and changes nothing", async () => {
    const dir = join(t.dir, "docs");
    await mkdir(dir);
    await writeFile(join(dir, "thesis.tex"), "important");
    const before = await snapshot(t.dir);
    const err = await newDirReference(dir).newImageDestination().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotImageDirectoryError);
    expect(err).toBeInstanceOf(DestinationExistsError);
    expect((err as Error).message).toMatch(/not a containers\/image directory.*refusing to overwrite/);
    expect(await snapshot(t.dir)).toBe(before);
  });

  test.each([
    ["an older version", "Directory Transport Version: 1.0\n"],
    ["no trailing newline", "Directory Transport Version: 1.1"],
    ["garbage", "\u0000\u0001binary"],
  ])("refuses a directory whose version file has %s", async (_, content) => {
    const dir = join(t.dir, "img");
    await mkdir(dir);
    await writeFile(join(dir, "version"), content);
    await writeFile(join(dir, "manifest.json"), "{}");
    const before = await snapshot(t.dir);
    await expect(newDirReference(dir).newImageDestination()).rejects.toBeInstanceOf(NotImageDirectoryError);
    expect(await snapshot(t.dir)).toBe(before);
  });

  test("refuses a version file that is a symbolic link, even to the right content", async () => {
    const dir = join(t.dir, "img");
    await mkdir(dir);
    await writeFile(join(t.dir, "v"), DIRECTORY_TRANSPORT_VERSION);
    await symlink(join(t.dir, "v"), join(dir, "version"));
    await expect(newDirReference(dir).newImageDestination()).rejects.toBeInstanceOf(NotImageDirectoryError);
  });

  test("refuses a target that is a regular file with DestinationExistsError", async () => {
    await writeFile(join(t.dir, "file"), "x");
    await expect(newDirReference(join(t.dir, "file")).newImageDestination()).rejects.toBeInstanceOf(DestinationExistsError);
  });

  test("desiredLayerCompression follows dirForceCompress / dirForceDecompress; both at once fail with InvalidConfigurationError", async () => {
    const ref = newDirReference(join(t.dir, "img"));
    const caps = async (ctx: object) => {
      const d = await ref.newImageDestination(ctx);
      try {
        return d.capabilities;
      } finally {
        await d.close();
      }
    };
    expect((await caps({})).desiredLayerCompression).toBe("preserve");
    expect((await caps({ dirForceCompress: true })).desiredLayerCompression).toBe("compress");
    expect((await caps({ dirForceDecompress: true })).desiredLayerCompression).toBe("decompress");
    await expect(ref.newImageDestination({ dirForceCompress: true, dirForceDecompress: true })).rejects.toBeInstanceOf(InvalidConfigurationError);
    const c = await caps({});
    expect(c).toMatchObject({ supportsSignatures: true, threadSafePutBlob: true, supportedManifestMIMETypes: [], acceptsForeignLayerURLs: false, mustMatchRuntimeOS: false });
  });
});

describe("writing a new directory", () => {
  test("commit() creates the directory with version, manifest.json and one file per blob", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "img");
    await writeWithDestination(newDirReference(dir), img);
    expect(await names(dir)).toEqual(
      [...[...img.blobs.keys()].map(hexOf), "manifest.json", "version"].sort(),
    );
    expect(await readFile(join(dir, "version"), "utf8")).toBe("Directory Transport Version: 1.1\n");
    expect(new Uint8Array(await readFile(join(dir, "manifest.json")))).toEqual(img.manifest);
    for (const [d, b] of img.blobs) expect(new Uint8Array(await readFile(join(dir, hexOf(d))))).toEqual(b);
    expect((await lstat(join(dir, hexOf(img.config.digest)))).mode & 0o777).toBe(0o644);
    // Nothing is left beside it.
    expect(await names(t.dir)).toEqual(["img"]);
  });

  test("nothing exists at the target before commit(), and close() removes the staging directory", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "img");
    const dest = await newDirReference(dir).newImageDestination();
    for (const l of img.layers) await dest.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
    await dest.putManifest(img.manifest);
    expect(await snapshot(dir)).toBe("absent");
    await dest.close();
    expect(await names(t.dir)).toEqual([]);
  });

  test("commit() fails with DestinationExistsError when someone created the directory meanwhile, leaving theirs alone", async () => {
    const img = makeFixtureImage();
    const dir = join(t.dir, "img");
    const dest = await newDirReference(dir).newImageDestination();
    try {
      await dest.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      await dest.putManifest(img.manifest);
      await mkdir(dir);
      await writeFile(join(dir, "theirs"), "x");
      const before = await snapshot(dir);
      await expect(dest.commit()).rejects.toBeInstanceOf(DestinationExistsError);
      expect(await snapshot(dir)).toBe(before);
    } finally {
      await dest.close();
    }
    expect(await names(t.dir)).toEqual(["img"]);
  });

  test("a target name near the file system's limit works (the staging name is shortened)", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const dir = join(t.dir, "n".repeat(250));
    await writeWithDestination(newDirReference(dir), img);
    expect(await names(t.dir)).toEqual(["n".repeat(250)]);
    expect(new Uint8Array(await readFile(join(dir, "manifest.json")))).toEqual(img.manifest);
  });

  test("an index is stored as manifest.json plus <hex>.manifest.json per instance", async () => {
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    const dir = join(t.dir, "img");
    await writeWithDestination(newDirReference(dir), index);
    for (const img of index.images) {
      expect(new Uint8Array(await readFile(join(dir, `${hexOf(img.digest)}.manifest.json`)))).toEqual(img.manifest);
    }
    expect(new Uint8Array(await readFile(join(dir, "manifest.json")))).toEqual(index.manifest);
  });

  test("a sha512 blob is stored under its hex, as containers/image does", async () => {
    const bytes = utf8("sha512 content");
    const d = digestOf(bytes, "sha512");
    const dir = join(t.dir, "img");
    const img = makeFixtureImage();
    const dest = await newDirReference(dir).newImageDestination();
    try {
      expect(await dest.putBlob(streamOf(bytes), { digest: d, size: bytes.length }, { cache: noCache })).toEqual({ digest: d, size: bytes.length });
      await dest.putManifest(img.manifest);
      await dest.commit();
    } finally {
      await dest.close();
    }
    expect(await readFile(join(dir, hexOf(d)), "utf8")).toBe("sha512 content");
    const src = await newDirReference(dir).newImageSource();
    try {
      expect(await readAll((await src.getBlob({ digest: d, size: -1 }, noCache)).stream)).toEqual(bytes);
    } finally {
      await src.close();
    }
  });

  test("putBlob() may run concurrently", async () => {
    const img = makeFixtureImage({ layers: 6, layerSize: 100_000 });
    const dir = join(t.dir, "img");
    const dest = await newDirReference(dir).newImageDestination();
    try {
      expect(dest.capabilities.threadSafePutBlob).toBe(true);
      const stored = await Promise.all(img.layers.map((l) => dest.putBlob(streamOf(l.bytes.subarray(0, 5000), l.bytes.subarray(5000)), { digest: l.digest, size: l.size }, { cache: noCache })));
      expect(stored.map((s) => s.digest)).toEqual(img.layers.map((l) => l.digest));
      await dest.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      await dest.putManifest(img.manifest);
      await dest.commit();
    } finally {
      await dest.close();
    }
    for (const l of img.layers) expect(sha256hex(await readFile(join(dir, hexOf(l.digest))))).toBe(hexOf(l.digest));
  });

  test("putBlob() without a digest but with a wrong size fails with SizeMismatchError", async () => {
    const dest = await newDirReference(join(t.dir, "img")).newImageDestination();
    try {
      await expect(dest.putBlob(streamOf(utf8("12345")), { size: 4 }, { cache: noCache })).rejects.toBeInstanceOf(SizeMismatchError);
      await expect(dest.putBlob(streamOf(utf8("12345")), { size: 6 }, { cache: noCache })).rejects.toBeInstanceOf(SizeMismatchError);
    } finally {
      await dest.close();
    }
    expect(await names(t.dir)).toEqual([]);
  });

  test("putManifest() of an instance checks the digest and the size limit", async () => {
    const img = makeFixtureImage();
    const dest = await newDirReference(join(t.dir, "img")).newImageDestination();
    try {
      await expect(dest.putManifest(img.manifest, digestOf(utf8("other")))).rejects.toBeInstanceOf(DigestMismatchError);
      await expect(dest.putManifest(new Uint8Array(4 * 1024 * 1024 + 1))).rejects.toBeInstanceOf(SizeLimitExceededError);
    } finally {
      await dest.close();
    }
  });

  test("commit() before putManifest() fails with InternalError and writes nothing", async () => {
    const dest = await newDirReference(join(t.dir, "img")).newImageDestination();
    try {
      await expect(dest.commit()).rejects.toBeInstanceOf(InternalError);
    } finally {
      await dest.close();
    }
    expect(await names(t.dir)).toEqual([]);
  });
});

describe("signatures", () => {
  test("putSignatures() writes signature-N and <hex>.signature-N in the signature blob format, read back by the source", async () => {
    const index = makeFixtureIndex([{ architecture: "amd64", os: "linux" }]);
    const inst = index.images[0]!;
    const dir = join(t.dir, "img");
    const ref = newDirReference(dir);
    const dest = await ref.newImageDestination();
    try {
      for (const [d, b] of inst.blobs) await dest.putBlob(streamOf(b), { digest: d, size: b.length }, { cache: noCache });
      await dest.putManifest(inst.manifest, inst.digest);
      await dest.putSignatures([sig("instance sig")], inst.digest);
      await dest.putManifest(index.manifest);
      await dest.putSignatures([sig("a"), sig("b"), sig("c")]);
      // A second call replaces the first: fewer signatures leave no stale files.
      await dest.putSignatures([sig("first"), sigstore]);
      await dest.commit();
    } finally {
      await dest.close();
    }
    expect(await readFile(join(dir, "signature-1"), "utf8")).toBe("first");
    expect(new Uint8Array(await readFile(join(dir, "signature-2")))).toEqual(encodeSignatureBlob(sigstore));
    expect(await names(dir)).not.toContain("signature-3");
    expect(await readFile(join(dir, `${hexOf(inst.digest)}.signature-1`), "utf8")).toBe("instance sig");
    const src = await ref.newImageSource();
    try {
      expect(await src.getSignatures()).toEqual([sig("first"), sigstore]);
      expect(await src.getSignatures(inst.digest)).toEqual([sig("instance sig")]);
    } finally {
      await src.close();
    }
  });
});

describe("replacing an earlier image", () => {
  async function withOld(): Promise<{ dir: string; old: ReturnType<typeof makeFixtureImage> }> {
    const dir = join(t.dir, "img");
    const old = makeFixtureImage({ layers: 3 });
    const dest = await newDirReference(dir).newImageDestination();
    try {
      for (const [d, b] of old.blobs) await dest.putBlob(streamOf(b), { digest: d, size: b.length }, { cache: noCache });
      await dest.putManifest(old.manifest);
      await dest.putSignatures([sig("old 1"), sig("old 2"), sig("old 3")]);
      await dest.commit();
    } finally {
      await dest.close();
    }
    return { dir, old };
  }

  test("the old image stays byte-identical until commit(), then only the new image's files remain", async () => {
    const { dir, old } = await withOld();
    const before = await snapshot(dir);
    const img = makeFixtureImage({ layers: 2 });
    const dest = await newDirReference(dir).newImageDestination();
    try {
      for (const [d, b] of img.blobs) await dest.putBlob(streamOf(b), { digest: d, size: b.length }, { cache: noCache });
      await dest.putManifest(img.manifest);
      await dest.putSignatures([sig("new")]);
      expect(await snapshot(dir, { ignoreStaging: true })).toBe(before);
      await dest.commit();
    } finally {
      await dest.close();
    }
    expect(await names(dir)).toEqual([...[...img.blobs.keys()].map(hexOf), "manifest.json", "signature-1", "version"].sort());
    for (const d of old.blobs.keys()) expect(await names(dir)).not.toContain(hexOf(d));
    expect(await readFile(join(dir, "signature-1"), "utf8")).toBe("new");
  });

  test("tryReusingBlob() keeps a blob of the old image whose content is intact, and refuses a corrupted one", async () => {
    const { dir, old } = await withOld();
    const [l0, l1] = old.layers;
    const corrupt = new Uint8Array(await readFile(join(dir, hexOf(l1!.digest))));
    corrupt[10]! ^= 0xff;
    await writeFile(join(dir, hexOf(l1!.digest)), corrupt);
    const dest = await newDirReference(dir).newImageDestination();
    try {
      expect(await dest.tryReusingBlob({ digest: l0!.digest, size: l0!.size }, { cache: noCache, canSubstitute: false })).toEqual({ digest: l0!.digest, size: l0!.size, reason: "exists" });
      expect(await dest.tryReusingBlob({ digest: l1!.digest, size: l1!.size }, { cache: noCache, canSubstitute: false })).toBeUndefined();
      expect(await dest.tryReusingBlob({ digest: l0!.digest, size: l0!.size + 1 }, { cache: noCache, canSubstitute: false })).toBeUndefined();
      // The new image: layer 0 reused, layer 1 sent again, plus the config.
      await dest.putBlob(streamOf(l1!.bytes), { digest: l1!.digest, size: l1!.size }, { cache: noCache });
      await dest.putBlob(streamOf(old.config.bytes), { digest: old.config.digest, size: old.config.size }, { cache: noCache });
      const m = utf8(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: old.config.mediaType, digest: old.config.digest, size: old.config.size }, layers: [l0, l1].map((l) => ({ mediaType: l!.mediaType, digest: l!.digest, size: l!.size })) }));
      await dest.putManifest(m);
      await dest.commit();
    } finally {
      await dest.close();
    }
    expect(await names(dir)).toEqual([hexOf(l0!.digest), hexOf(l1!.digest), hexOf(old.config.digest), "manifest.json", "version"].sort());
    expect(sha256hex(await readFile(join(dir, hexOf(l1!.digest))))).toBe(hexOf(l1!.digest));
  });

  test("symbolic links planted in the old directory are replaced or removed, never written through", async () => {
    const { dir } = await withOld();
    const outside = join(t.dir, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "precious"), "keep me");
    await writeFile(join(outside, "manifest-target"), "keep me too");
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "manifest.json"));
    await symlink(join(outside, "manifest-target"), join(dir, "manifest.json"));
    await symlink(outside, join(dir, "subdir-link"));
    await mkdir(join(dir, "stray-dir"));
    await writeFile(join(dir, "stray-dir", "f"), "x");
    const before = await snapshot(outside);
    const img = makeFixtureImage();
    await writeWithDestination(newDirReference(dir), img);
    expect(await snapshot(outside)).toBe(before);
    expect((await lstat(join(dir, "manifest.json"))).isFile()).toBe(true);
    expect(await names(dir)).toEqual([...[...img.blobs.keys()].map(hexOf), "manifest.json", "version"].sort());
  });

  test("a directory where a blob file must go is cleared at commit", async () => {
    const { dir } = await withOld();
    const img = makeFixtureImage();
    await mkdir(join(dir, hexOf(img.config.digest)));
    await writeFile(join(dir, hexOf(img.config.digest), "junk"), "x");
    await writeWithDestination(newDirReference(dir), img);
    expect(new Uint8Array(await readFile(join(dir, hexOf(img.config.digest))))).toEqual(img.config.bytes);
  });
});

describe("leftovers of a killed writer", () => {
  function deadPid(): number {
    const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    return Number(r.stdout);
  }

  test("a dead writer's staging directory inside the target is removed on the next open, and does not make the directory 'non-empty'", async () => {
    const dir = join(t.dir, "img");
    const stale = join(dir, `.stevedore-staging-${deadPid()}-00ff00ff00ff00ff`);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, ".tmp-blob-1"), "half");
    const dest = await newDirReference(dir).newImageDestination();
    await dest.close();
    expect(await names(dir)).toEqual([]);
  });

  test("a dead writer's sibling staging directory is removed on the next open of a new target", async () => {
    const pid = deadPid();
    await mkdir(join(t.dir, `.img.stevedore-staging-${pid}-0123456789abcdef`));
    // Another target's leftovers are not this writer's business.
    const unrelated = `.other.stevedore-staging-${pid}-0123456789abcdef`;
    await mkdir(join(t.dir, unrelated));
    const dest = await newDirReference(join(t.dir, "img")).newImageDestination();
    await dest.close();
    expect(await readdir(t.dir)).toEqual([unrelated]);
  });

  test("a live writer's staging directory is left alone and does not make the directory 'non-empty'", async () => {
    const dir = join(t.dir, "img");
    await mkdir(dir);
    const img = makeFixtureImage();
    const first = await newDirReference(dir).newImageDestination();
    try {
      await first.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      const staging = await names(dir);
      expect(staging).toHaveLength(1);
      const second = await newDirReference(dir).newImageDestination();
      await second.close();
      expect(await names(dir)).toEqual(staging);
      for (const l of img.layers) await first.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
      await first.putManifest(img.manifest);
      await first.commit();
    } finally {
      await first.close();
    }
    expect(await names(dir)).toEqual([...[...img.blobs.keys()].map(hexOf), "manifest.json", "version"].sort());
  });
});
