import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { copyImage, type PolicyContext } from "@stevedore/copy";
import { parseManifest } from "@stevedore/manifest";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { dockerArchiveTransport } from "@stevedore/transport-docker-archive";
import { ociTransport } from "@stevedore/transport-oci";
import {
  AbortError,
  DigestMismatchError,
  ManifestTypeRejectedError,
  PolicyRejectedError,
  UnsupportedCapabilityError,
  createTransportRegistry,
  digestOf,
  fromUtf8,
  readAll,
  type ProgressEvent,
} from "@stevedore/types";
import { fingerprint, layoutIndex, tempDir, writeLayout } from "./helpers.js";

const transports = createTransportRegistry([ociTransport, dockerArchiveTransport]);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function tmp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function readBack(name: string, instance?: string) {
  const src = await transports.parseImageName(name).newImageSource();
  try {
    const m = await src.getManifest(instance as never);
    return { bytes: m.bytes, view: parseManifest(m.bytes, m.mimeType), src };
  } finally {
    await src.close();
  }
}

const AMD64 = { os: "linux", architecture: "amd64" };
const ARM64 = { os: "linux", architecture: "arm64", variant: "v8" };

describe("copyImage() between OCI layouts", () => {
  test("copies an image byte for byte and reports progress per blob", async () => {
    const img = makeFixtureImage({ layers: 3 });
    const a = tmp();
    writeLayout(a, "v1", img);
    const b = join(tmp(), "dest");
    const events: ProgressEvent[] = [];
    const lines: string[] = [];
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`), {
      progress: (e) => events.push(e),
      reportWriter: (l) => lines.push(l),
    });
    expect(r.digest).toBe(img.digest);
    expect(digestOf(r.manifest)).toBe(img.digest);
    expect(layoutIndex(b).manifests[0]!.digest).toBe(img.digest);
    const done = events.filter((e) => e.type === "artifact-done").map((e) => (e as { artifact: { digest: string } }).artifact.digest);
    expect(done.sort()).toEqual([img.config.digest, ...img.layers.map((l) => l.digest)].sort());
    const bytes = events.filter((e) => e.type === "artifact-bytes").reduce((n, e) => n + (e as { delta: number }).delta, 0);
    expect(bytes).toBe(img.config.size + img.layers.reduce((n, l) => n + l.size, 0));
    expect(lines).toContain("Writing manifest to image destination");
  });

  test("a second copy into the same layout reuses every blob", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const a = tmp();
    writeLayout(a, "v1", img);
    const b = join(tmp(), "dest");
    await copyImage(undefined, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`));
    const events: ProgressEvent[] = [];
    await copyImage(undefined, transports.parseImageName(`oci:${b}:v2`), transports.parseImageName(`oci:${a}:v1`), { progress: (e) => events.push(e) });
    expect(events.filter((e) => e.type === "artifact-bytes")).toEqual([]);
    expect(events.filter((e) => e.type === "artifact-skipped")).toHaveLength(3);
    expect(layoutIndex(b).manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).sort()).toEqual(["v1", "v2"]);
  });

  test("uncompressed layers are compressed for an OCI destination, with zstd when asked", async () => {
    const img = makeFixtureImage({ layers: 2, gzip: false });
    const a = tmp();
    writeLayout(a, "v1", img);
    const cache = createMemoryCache();
    const b = join(tmp(), "gz");
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`), { blobInfoCache: cache });
    const view = parseManifest(r.manifest);
    if (view.kind !== "image") throw new Error("expected an image");
    expect(view.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+gzip"]);
    // The cache learnt which compressed blob holds which uncompressed content.
    for (const [i, l] of view.layers.entries()) expect(cache.uncompressedDigest(l.digest)).toBe(img.diffIDs[i]);
    const src = await transports.parseImageName(`oci:${b}:v1`).newImageSource();
    try {
      const layer = await readAll((await src.getBlob(view.layers[0]!, cache)).stream);
      expect(digestOf(new Uint8Array(gunzipSync(layer)))).toBe(img.diffIDs[0]);
    } finally {
      await src.close();
    }
    const z = join(tmp(), "zstd");
    const rz = await copyImage(undefined, transports.parseImageName(`oci:${z}:v1`), transports.parseImageName(`oci:${b}:v1`), { compressionFormat: "zstd" });
    const vz = parseManifest(rz.manifest);
    if (vz.kind !== "image") throw new Error("expected an image");
    expect(vz.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"]);
    expect(vz.config?.digest).toBe(img.config.digest);
  });
});

describe("copyImage() of a multi-platform index", () => {
  function indexLayout() {
    const idx = makeFixtureIndex([AMD64, ARM64]);
    const a = tmp();
    writeLayout(a, "multi", idx);
    return { idx, src: transports.parseImageName(`oci:${a}:multi`) };
  }

  test("system selection copies the one image for the wanted platform", async () => {
    const { idx, src } = indexLayout();
    const b = join(tmp(), "d");
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:x`), src, { runtimePlatform: ARM64 });
    expect(r.digest).toBe(idx.images[1]!.digest);
    expect(layoutIndex(b).manifests[0]!.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  });

  test("sourceCtx's architecture choice wins over the runtime platform", async () => {
    const { idx, src } = indexLayout();
    const b = join(tmp(), "d");
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:x`), src, { runtimePlatform: ARM64, sourceCtx: { architectureChoice: "amd64" } });
    expect(r.digest).toBe(idx.images[0]!.digest);
  });

  test("all copies every image and keeps the index digest", async () => {
    const { idx, src } = indexLayout();
    const b = join(tmp(), "d");
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:x`), src, { imageListSelection: "all" });
    expect(r.digest).toBe(idx.digest);
    for (const img of idx.images) expect(digestOf((await readBack(`oci:${b}:x`, img.digest)).bytes)).toBe(img.digest);
  });

  test("specific copies the chosen platform's image and lists the others unchanged", async () => {
    const { idx, src } = indexLayout();
    const b = join(tmp(), "d");
    const events: ProgressEvent[] = [];
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:x`), src, {
      imageListSelection: "specific",
      instancePlatforms: [ARM64],
      progress: (e) => events.push(e),
    });
    expect(r.digest).toBe(idx.digest);
    const copied = new Set(events.filter((e) => e.type === "artifact-done").map((e) => (e as { artifact: { digest: string } }).artifact.digest));
    expect(copied.has(idx.images[1]!.config.digest)).toBe(true);
    expect(copied.has(idx.images[0]!.config.digest)).toBe(false);
  });

  test("index-only copies the index and no image", async () => {
    const { idx, src } = indexLayout();
    const b = join(tmp(), "d");
    const events: ProgressEvent[] = [];
    const r = await copyImage(undefined, transports.parseImageName(`oci:${b}:x`), src, { imageListSelection: "index-only", progress: (e) => events.push(e) });
    expect(r.digest).toBe(idx.digest);
    expect(events.filter((e) => e.type === "artifact-done")).toEqual([]);
  });

  test("a destination without lists refuses all, naming the fix", async () => {
    const { src } = indexLayout();
    const archive = join(tmp(), "a.tar");
    await expect(
      copyImage(undefined, transports.parseImageName(`docker-archive:${archive}:x/y:1`), src, { imageListSelection: "all" }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});

describe("copyImage() converting formats", () => {
  test("OCI to docker-archive converts to schema 2 with uncompressed layers that match the diff_ids", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const a = tmp();
    writeLayout(a, "v1", img);
    const archive = join(tmp(), "img.tar");
    const r = await copyImage(undefined, transports.parseImageName(`docker-archive:${archive}:example.com/app:1`), transports.parseImageName(`oci:${a}:v1`));
    expect(r.mimeType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const back = await readBack(`docker-archive:${archive}`);
    if (back.view.kind !== "image") throw new Error("expected an image");
    expect(back.view.layers.map((l) => l.digest)).toEqual(img.diffIDs);
    const cfg = JSON.parse(fromUtf8(img.config.bytes)) as { rootfs: { diff_ids: string[] } };
    expect(cfg.rootfs.diff_ids).toEqual(img.diffIDs);
  });

  test("forcing a type the destination cannot store is refused", async () => {
    const img = makeFixtureImage();
    const a = tmp();
    writeLayout(a, "v1", img);
    const b = join(tmp(), "d");
    await expect(
      copyImage(undefined, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`), {
        forceManifestMIMEType: "application/vnd.docker.distribution.manifest.v2+json",
      }),
    ).rejects.toThrow(ManifestTypeRejectedError);
  });
});

describe("copyImage() failing safely", () => {
  test("a policy rejection happens before any blob is read and leaves no destination", async () => {
    const img = makeFixtureImage();
    const a = tmp();
    writeLayout(a, "v1", img);
    // Remove every blob but the manifest: reading one would fail differently.
    for (const [d] of img.blobs) rmSync(join(a, "blobs", "sha256", d.slice(7)));
    const reject: PolicyContext = {
      async isRunningImageAllowed(image) {
        throw new PolicyRejectedError(`rejected ${(await image.digest()).slice(0, 19)}`);
      },
    };
    const b = join(tmp(), "d");
    await expect(copyImage(reject, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`))).rejects.toThrow(PolicyRejectedError);
    expect(fingerprint(b)).toBe("");
  });

  test("a corrupted source blob fails with DigestMismatchError and leaves an existing destination unchanged", async () => {
    const good = makeFixtureImage();
    const bad = makeFixtureImage({ layers: 2 });
    const a = tmp();
    writeLayout(a, "v1", bad);
    const layer = bad.layers[1]!;
    const flipped = Uint8Array.from(layer.bytes);
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(join(a, "blobs", "sha256", layer.digest.slice(7)), flipped);
    const g = tmp();
    writeLayout(g, "good", good);
    const b = join(tmp(), "d");
    await copyImage(undefined, transports.parseImageName(`oci:${b}:good`), transports.parseImageName(`oci:${g}:good`));
    const before = fingerprint(b);
    await expect(copyImage(undefined, transports.parseImageName(`oci:${b}:v1`), transports.parseImageName(`oci:${a}:v1`))).rejects.toThrow(DigestMismatchError);
    expect(fingerprint(b)).toBe(before);
  });

  test("an abort mid-copy fails with AbortError and leaves an existing destination unchanged", async () => {
    const g = tmp();
    writeLayout(g, "good", makeFixtureImage());
    const big = makeFixtureImage({ layers: 4, layerSize: 512 * 1024 });
    const a = tmp();
    writeLayout(a, "big", big);
    const b = join(tmp(), "d");
    await copyImage(undefined, transports.parseImageName(`oci:${b}:good`), transports.parseImageName(`oci:${g}:good`));
    const before = fingerprint(b);
    const ac = new AbortController();
    await expect(
      copyImage(undefined, transports.parseImageName(`oci:${b}:big`), transports.parseImageName(`oci:${a}:big`), {
        signal: ac.signal,
        progress: (e) => {
          if (e.type === "artifact-bytes") ac.abort();
        },
      }),
    ).rejects.toThrow(AbortError);
    expect(fingerprint(b)).toBe(before);
  });
});
