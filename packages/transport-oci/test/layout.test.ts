import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { LAYOUT_LOCK_FILE, REF_NAME_ANNOTATION } from "@stevedore/oci-layout";
import { makeFixtureImage, makeFixtureIndex, type FixtureImage } from "@stevedore/testing";
import {
  AbortError,
  AmbiguousImageError,
  DigestMismatchError,
  ImageNotFoundError,
  ManifestTypeRejectedError,
  ManifestUnknownError,
  UnsupportedError,
  digestOf,
  readAll,
  streamOf,
  utf8,
} from "@stevedore/types";
import { newOCIReference, parseOCIReference } from "@stevedore/transport-oci";
import { layoutNames, noCache, readIndexJSON, snapshot, tempDir, writeWithDestination } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(() => cleanup());

async function manifestOf(ref: string): Promise<Uint8Array> {
  const s = await parseOCIReference(ref).newImageSource();
  try {
    return (await s.getManifest()).bytes;
  } finally {
    await s.close();
  }
}

describe("reading images from a layout", () => {
  test("newImageSource() without a name fails with AmbiguousImageError listing the names when the layout has several", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "alpha"), makeFixtureImage());
    await writeWithDestination(newOCIReference(dir, "beta"), makeFixtureImage());
    const e = await newOCIReference(dir).newImageSource().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AmbiguousImageError);
    expect(String((e as Error).message)).toMatch(/"alpha".*"beta"/);
  });

  test("newImageSource() of a missing name fails with ImageNotFoundError naming what is there", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "alpha"), makeFixtureImage());
    const e = await newOCIReference(dir, "gamma").newImageSource().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageNotFoundError);
    expect((e as Error).message).toContain('"gamma"');
    expect((e as Error).message).toContain('"alpha"');
  });

  test("newImageSource() of a directory without index.json or with no images fails with ImageNotFoundError", async () => {
    await mkdir(join(root, "empty"));
    await expect(newOCIReference(join(root, "empty")).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
    await mkdir(join(root, "none"));
    await writeFile(join(root, "none", "index.json"), '{"schemaVersion":2,"manifests":[]}');
    await expect(newOCIReference(join(root, "none")).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(newOCIReference(join(root, "absent")).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  test("newImageSource() of path:@N reads the N-th entry and fails past the end", async () => {
    const dir = join(root, "l");
    const a = makeFixtureImage();
    const b = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a);
    await writeWithDestination(newOCIReference(dir, "b"), b);
    expect(digestOf(await manifestOf(`${dir}:@1`))).toBe(b.digest);
    expect(digestOf(await manifestOf(`${dir}:@0`))).toBe(a.digest);
    await expect(parseOCIReference(`${dir}:@2`).newImageSource()).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  test("getManifest(instance) refuses a digest that is not an instance of the image", async () => {
    const dir = join(root, "l");
    const a = makeFixtureImage();
    const b = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), a);
    await writeWithDestination(newOCIReference(dir, "b"), b);
    const s = await newOCIReference(dir, "a").newImageSource();
    try {
      expect(digestOf((await s.getManifest(a.digest)).bytes)).toBe(a.digest);
      await expect(s.getManifest(b.digest)).rejects.toBeInstanceOf(ManifestUnknownError);
    } finally {
      await s.close();
    }
  });

  test("getBlob() of a blob missing from the layout but with foreign URLs fails with UnsupportedError", async () => {
    const dir = join(root, "l");
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), img);
    const l = img.layers[0]!;
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "blobs", "sha256", l.digest.slice(7)));
    const s = await newOCIReference(dir, "a").newImageSource();
    try {
      await expect(s.getBlob({ digest: l.digest, size: l.size, urls: ["https://example.invalid/layer"] }, noCache)).rejects.toBeInstanceOf(UnsupportedError);
    } finally {
      await s.close();
    }
  });

  test("getBlobAt() serves ranges of a blob", async () => {
    const dir = join(root, "l");
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "a"), img);
    const s = await newOCIReference(dir, "a").newImageSource();
    try {
      const l = img.layers[0]!;
      const parts: Uint8Array[] = [];
      for await (const st of s.getBlobAt!({ digest: l.digest, size: l.size }, [{ offset: 0, length: 10 }, { offset: 20, length: -1 }])) parts.push(await readAll(st));
      expect(parts[0]).toEqual(l.bytes.subarray(0, 10));
      expect(parts[1]).toEqual(l.bytes.subarray(20));
    } finally {
      await s.close();
    }
  });
});

describe("writing images into a layout", () => {
  test("a new layout does not exist before commit() and is complete after it", async () => {
    const dir = join(root, "new");
    const img = makeFixtureImage();
    const d = await newOCIReference(dir, "v1").newImageDestination();
    try {
      for (const l of img.layers) await d.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
      await d.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      await d.putManifest(img.manifest);
      expect(await snapshot(dir)).toBe("absent");
      await d.commit();
    } finally {
      await d.close();
    }
    expect(JSON.parse(await readFile(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const files = (await readdir(join(dir, "blobs", "sha256"))).sort();
    expect(files).toEqual([...img.blobs.keys(), img.digest].map((x) => x.slice(7)).sort());
    expect((await readdir(dir)).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
    expect((await readdir(root)).sort()).toEqual(["new"]); // no staging left next to it
    const idx = await readIndexJSON(dir);
    expect(idx.manifests).toEqual([{ mediaType: img.mimeType, digest: img.digest, size: img.manifest.length, annotations: { [REF_NAME_ANNOTATION]: "v1" } }]);
  });

  test("a name given to a new image is removed from the older entry, which stays unnamed", async () => {
    const dir = join(root, "l");
    const first = makeFixtureImage();
    const second = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "t"), first);
    await writeWithDestination(newOCIReference(dir, "t"), second);
    const idx = await readIndexJSON(dir);
    expect(idx.manifests.map((m) => m.digest)).toEqual([first.digest, second.digest]);
    expect(idx.manifests[0]!.annotations).toBeUndefined();
    expect(idx.manifests[1]!.annotations?.[REF_NAME_ANNOTATION]).toBe("t");
    expect(digestOf(await manifestOf(`${dir}:t`))).toBe(second.digest);
  });

  test("writing the same image under the same name twice keeps one entry", async () => {
    const dir = join(root, "l");
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "t"), img);
    await writeWithDestination(newOCIReference(dir, "t"), img);
    expect(await layoutNames(dir)).toEqual(["t"]);
  });

  test("an unnamed entry with the same digest is replaced; other fields of index.json are kept", async () => {
    const dir = join(root, "l");
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir), img);
    const idx = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Record<string, unknown> & { manifests: Record<string, unknown>[] };
    idx["annotations"] = { "org.example.kept": "yes" };
    idx.manifests[0]!["platform"] = { architecture: "amd64", os: "linux" };
    await writeFile(join(dir, "index.json"), JSON.stringify(idx));
    const other = makeFixtureImage();
    await writeWithDestination(newOCIReference(dir, "other"), other);
    await writeWithDestination(newOCIReference(dir, "named"), img);
    const after = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Record<string, unknown> & { manifests: Record<string, unknown>[] };
    expect(after["annotations"]).toEqual({ "org.example.kept": "yes" });
    expect(after.manifests.map((m) => m["digest"])).toEqual([img.digest, other.digest]);
    expect(after.manifests[0]!["annotations"]).toEqual({ [REF_NAME_ANNOTATION]: "named" });
    expect(after.manifests[0]!["platform"]).toBeUndefined();
  });

  test("copyImage() of an index with all instances stores the instances as blobs and the index in index.json", async () => {
    const src = join(root, "src");
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    await writeWithDestination(newOCIReference(src, "multi"), index);
    const dest = join(root, "dest");
    const r = await copyImage(undefined, newOCIReference(dest, "copied"), newOCIReference(src, "multi"), { imageListSelection: "all" });
    expect(r.digest).toBe(index.digest);
    const idx = await readIndexJSON(dest);
    expect(idx.manifests).toHaveLength(1);
    expect(idx.manifests[0]!.mediaType).toBe(index.mimeType);
    const files = await readdir(join(dest, "blobs", "sha256"));
    for (const img of index.images) expect(files).toContain(img.digest.slice(7));
  });

  test("putManifest() of a Docker schema 2 manifest fails with ManifestTypeRejectedError and writes nothing", async () => {
    const src = join(root, "src");
    const docker = makeFixtureImage({ format: "docker" });
    const d = await newOCIReference(src, "d").newImageDestination();
    try {
      await expect(d.putManifest(docker.manifest)).rejects.toBeInstanceOf(ManifestTypeRejectedError);
    } finally {
      await d.close();
    }
    expect(await snapshot(src)).toBe("absent");
  });

  test("copyImage() of a Docker schema 2 image found in a layout converts it to an OCI manifest", async () => {
    const src = join(root, "src");
    const docker = makeFixtureImage({ format: "docker" });
    await mkdir(join(src, "blobs", "sha256"), { recursive: true });
    for (const [d, b] of [...docker.blobs, [docker.digest, docker.manifest] as const]) await writeFile(join(src, "blobs", "sha256", d.slice(7)), b);
    await writeFile(join(src, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(src, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: docker.mimeType, digest: docker.digest, size: docker.manifest.length }] }));
    const dest = join(root, "dest");
    const r = await copyImage(undefined, newOCIReference(dest, "oci"), newOCIReference(src));
    expect(r.mimeType).toBe("application/vnd.oci.image.manifest.v1+json");
    const m = JSON.parse(new TextDecoder().decode(await manifestOf(`${dest}:oci`))) as { config: { digest: string; mediaType: string }; layers: { digest: string; mediaType: string }[] };
    expect(m.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(m.layers.map((l) => l.digest)).toEqual(docker.layers.map((l) => l.digest));
    expect(m.layers.every((l) => l.mediaType === "application/vnd.oci.image.layer.v1.tar+gzip")).toBe(true);
  });

  test("capabilities: compress by default, preserve with ociAcceptUncompressedLayers; signatures refused", async () => {
    const ref = newOCIReference(join(root, "l"), "x");
    const d1 = await ref.newImageDestination();
    const d2 = await ref.newImageDestination({ ociAcceptUncompressedLayers: true });
    try {
      expect(d1.capabilities.desiredLayerCompression).toBe("compress");
      expect(d2.capabilities.desiredLayerCompression).toBe("preserve");
      expect(d1.capabilities.supportedManifestMIMETypes).toEqual(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"]);
      expect(d1.capabilities.threadSafePutBlob).toBe(true);
      await d1.putSignatures([]);
      await expect(d1.putSignatures([{ format: "simple-signing", data: new Uint8Array([1]) } as never])).rejects.toBeInstanceOf(UnsupportedError);
    } finally {
      await d1.close();
      await d2.close();
    }
  });

  test("putManifest() with an instance digest that does not match fails with DigestMismatchError", async () => {
    const img = makeFixtureImage();
    const d = await newOCIReference(join(root, "l"), "x").newImageDestination();
    try {
      await expect(d.putManifest(img.manifest, digestOf(utf8("other")))).rejects.toBeInstanceOf(DigestMismatchError);
    } finally {
      await d.close();
    }
  });

  test("commit() without putManifest() fails with ManifestUnknownError and writes nothing", async () => {
    const dir = join(root, "l");
    const d = await newOCIReference(dir, "x").newImageDestination();
    try {
      await expect(d.commit()).rejects.toBeInstanceOf(ManifestUnknownError);
    } finally {
      await d.close();
    }
    expect(await snapshot(dir)).toBe("absent");
  });

  test("four destinations creating the same new layout at once all land", async () => {
    const dir = join(root, "brand-new");
    const images = Array.from({ length: 4 }, () => makeFixtureImage());
    await Promise.all(images.map((img, i) => writeWithDestination(newOCIReference(dir, `n${i}`), img)));
    expect((await layoutNames(dir)).sort()).toEqual(["n0", "n1", "n2", "n3"]);
    for (const [i, img] of images.entries()) expect(digestOf(await manifestOf(`${dir}:n${i}`))).toBe(img.digest);
    expect((await readdir(root)).sort()).toEqual(["brand-new"]);
  });

  test("four destinations creating the same new layout with a shared blob directory all land", async () => {
    const dir = join(root, "brand-new");
    const ctx = { ociSharedBlobDirPath: join(root, "shared") };
    const images = Array.from({ length: 4 }, () => makeFixtureImage());
    await Promise.all(images.map((img, i) => writeWithDestination(newOCIReference(dir, `n${i}`), img, ctx)));
    expect((await layoutNames(dir)).sort()).toEqual(["n0", "n1", "n2", "n3"]);
    const shared = await readdir(join(root, "shared", "sha256"));
    for (const img of images) for (const d of [...img.blobs.keys(), img.digest]) expect(shared).toContain(d.slice(7));
    expect((await readdir(join(root, "shared"))).sort()).toEqual(["sha256"]);
    expect((await readdir(root)).sort()).toEqual(["brand-new", "shared"]);
  });

  test("eight destinations committing into one layout at once all land", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "base"), makeFixtureImage());
    const images = Array.from({ length: 8 }, () => makeFixtureImage());
    await Promise.all(images.map((img, i) => writeWithDestination(newOCIReference(dir, `tag${i}`), img)));
    expect((await layoutNames(dir)).sort()).toEqual(["base", ...images.map((_, i) => `tag${i}`)].sort());
    for (const [i, img] of images.entries()) expect(digestOf(await manifestOf(`${dir}:tag${i}`))).toBe(img.digest);
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  });
});

describe("the layout lock", () => {
  function deadPid(): Promise<number> {
    return new Promise((resolve, reject) => {
      const c = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      c.on("error", reject);
      c.on("exit", () => resolve(c.pid!));
    });
  }

  async function writeLockOf(dir: string, pid: number): Promise<void> {
    const { createHash } = await import("node:crypto");
    const { hostname } = await import("node:os");
    const host = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
    await writeFile(join(dir, LAYOUT_LOCK_FILE), JSON.stringify({ pid, host, token: "someone-else" }));
  }

  test("commit() breaks a lock left by a process that no longer exists", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "a"), makeFixtureImage());
    await writeLockOf(dir, await deadPid());
    await writeWithDestination(newOCIReference(dir, "b"), makeFixtureImage());
    expect(await layoutNames(dir)).toEqual(["a", "b"]);
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  test("commit() waits for a live holder and can be cancelled, leaving the layout unchanged", async () => {
    const dir = join(root, "l");
    await writeWithDestination(newOCIReference(dir, "a"), makeFixtureImage());
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: "ignore" });
    try {
      await writeLockOf(dir, holder.pid!);
      const before = await snapshot(dir);
      const img: FixtureImage = makeFixtureImage();
      const d = await newOCIReference(dir, "b").newImageDestination();
      const ac = new AbortController();
      try {
        for (const l of img.layers) await d.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
        await d.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
        await d.putManifest(img.manifest);
        const committing = d.commit({ signal: ac.signal });
        // The holder is alive: the commit can only be waiting for it. Cancel it.
        ac.abort();
        await expect(committing).rejects.toBeInstanceOf(AbortError);
      } finally {
        await d.close();
      }
      expect(await snapshot(dir)).toBe(before);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
