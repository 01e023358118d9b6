import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, requireTool, type FixtureImage } from "@stevedore/testing";
import { newDockerArchiveIndexReference, newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import { digestOf, fromUtf8, readAll, type Digest, type ImageSource } from "@stevedore/types";
import { listTar, memorySourceReference, noCache, removeDir, skopeo, tempDir, tool, writeDockerArchive, writeImage, writeOCILayout } from "./helpers.js";

let dir = "";
beforeEach(async () => {
  dir = await tempDir("da-interop-");
});
afterEach(async () => {
  await removeDir(dir);
});

interface Manifest {
  config: { digest: Digest; size: number };
  layers: { digest: Digest; size: number }[];
}

async function manifestOf(src: ImageSource): Promise<Manifest> {
  return JSON.parse(fromUtf8((await src.getManifest()).bytes)) as Manifest;
}

/** skopeo inspect's JSON for a docker-archive name. */
async function inspect(name: string): Promise<{ Digest: string; Layers: string[]; Architecture: string; Os: string; RepoTags?: string[] }> {
  return JSON.parse(await skopeo("inspect", name)) as { Digest: string; Layers: string[]; Architecture: string; Os: string };
}

/** The files of every fixture layer (name → content), as a tar reader sees them. */
async function layerFiles(img: FixtureImage): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [i, l] of img.layers.entries()) {
    const p = join(dir, `layer-${i}.tar`);
    const { gunzipSync } = await import("node:zlib");
    await writeFile(p, l.mediaType.endsWith("gzip") ? gunzipSync(l.bytes) : l.bytes);
    for (const [name, e] of await listTar(p)) if (e.type === "file") out.set(name, e.content);
  }
  return out;
}

/** `skopeo copy` of a docker-archive name to an OCI layout, then `umoci unpack`; checks the files. */
async function unpackWithUmoci(name: string, img: FixtureImage): Promise<void> {
  const layout = join(dir, "oci-out");
  await skopeo("copy", name, `oci:${layout}:unpacked`);
  const bundle = join(dir, "bundle");
  await tool("umoci", ["unpack", "--rootless", "--image", `${layout}:unpacked`, bundle]);
  const files = await layerFiles(img);
  expect(files.size).toBe(img.layers.length);
  for (const [name, content] of files) expect(new Uint8Array(await readFile(join(bundle, "rootfs", name)))).toEqual(content);
}

describe("interoperability with skopeo and umoci", () => {
  test("an archive skopeo wrote from an OCI layout reads back with the same config digest and DiffIDs, and as skopeo sees it", async () => {
    const img = makeFixtureImage({ layers: 3 });
    await writeOCILayout(join(dir, "oci"), img, "v1");
    const archive = join(dir, "skopeo.tar");
    await skopeo("copy", `oci:${join(dir, "oci")}:v1`, `docker-archive:${archive}:example.com/interop:v1`);
    const goManifest = JSON.parse(await skopeo("inspect", "--raw", `docker-archive:${archive}`)) as Manifest;
    for (const ref of [newDockerArchiveReference(archive), newDockerArchiveReference(archive, "example.com/interop:v1"), newDockerArchiveIndexReference(archive, 0)]) {
      const src = await ref.newImageSource();
      try {
        const m = await manifestOf(src);
        expect(m.config).toMatchObject(goManifest.config);
        expect(m.config.digest).toBe(img.config.digest);
        expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
        expect(m.layers.map((l) => ({ digest: l.digest, size: l.size }))).toEqual(goManifest.layers.map((l) => ({ digest: l.digest, size: l.size })));
        for (const l of m.layers) expect(digestOf(await readAll((await src.getBlob(l, noCache)).stream))).toBe(l.digest);
      } finally {
        await src.close();
      }
    }
  });

  test("an archive Stevedore wrote is inspected by skopeo, copied by skopeo to oci:, and unpacked by umoci", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });
    const archive = join(dir, "ours.tar");
    const dest = await newDockerArchiveReference(archive, "example.com/ours:v1").newImageDestination({ dockerArchiveAdditionalTags: ["example.com/ours:v2"] });
    try {
      await writeImage(dest, img);
      await dest.commit();
    } finally {
      await dest.close();
    }
    const info = await inspect(`docker-archive:${archive}`);
    expect(info.Layers).toEqual(img.diffIDs);
    expect(info.Architecture).toBe("amd64");
    expect((await inspect(`docker-archive:${archive}:example.com/ours:v2`)).Layers).toEqual(img.diffIDs);
    expect((await inspect(`docker-archive:${archive}:@0`)).Layers).toEqual(img.diffIDs);
    const raw = JSON.parse(await skopeo("inspect", "--config", "--raw", `docker-archive:${archive}`)) as unknown;
    expect(raw).toEqual(JSON.parse(fromUtf8(img.config.bytes)));
    await unpackWithUmoci(`docker-archive:${archive}`, img);
  });

  test("copyImage() from a skopeo-written archive to a Stevedore archive keeps config and DiffIDs; skopeo and umoci read the result", async () => {
    const img = makeFixtureImage({ layers: 2 });
    await writeOCILayout(join(dir, "oci"), img, "v1");
    const from = join(dir, "skopeo.tar");
    await skopeo("copy", `oci:${join(dir, "oci")}:v1`, `docker-archive:${from}:example.com/from:v1`);
    const to = join(dir, "stevedore.tar");
    await copyImage(undefined, newDockerArchiveReference(to, "example.com/to:v1"), newDockerArchiveReference(from), { blobInfoCache: createMemoryCache() });
    const src = await newDockerArchiveReference(to, "example.com/to:v1").newImageSource();
    try {
      const m = await manifestOf(src);
      expect(m.config.digest).toBe(img.config.digest);
      expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
    } finally {
      await src.close();
    }
    expect((await inspect(`docker-archive:${to}`)).Layers).toEqual(img.diffIDs);
    // skopeo copies our archive into another docker archive too.
    await skopeo("copy", `docker-archive:${to}`, `docker-archive:${join(dir, "again.tar")}:example.com/again:1`);
    expect((await inspect(`docker-archive:${join(dir, "again.tar")}`)).Layers).toEqual(img.diffIDs);
    await unpackWithUmoci(`docker-archive:${to}`, img);
  });

  test("copyImage() of an OCI image with gzip layers stores them decompressed; skopeo and umoci read the archive", async () => {
    const img = makeFixtureImage({ format: "oci", gzip: true, layers: 2 });
    const to = join(dir, "from-oci.tar");
    await copyImage(undefined, newDockerArchiveReference(to, "example.com/oci:v1"), memorySourceReference(img), { blobInfoCache: createMemoryCache() });
    const entries = await listTar(to);
    const manifest = JSON.parse(fromUtf8(entries.get("manifest.json")!.content)) as { Layers: string[]; Config: string }[];
    expect(manifest[0]!.Layers).toEqual(img.diffIDs.map((d) => `${d.slice(7)}.tar`));
    expect(manifest[0]!.Config).toBe(`${img.config.digest.slice(7)}.json`);
    for (const d of img.diffIDs) expect(digestOf(entries.get(`${d.slice(7)}.tar`)!.content)).toBe(d);
    const info = await inspect(`docker-archive:${to}`);
    expect(info.Layers).toEqual(img.diffIDs);
    await unpackWithUmoci(`docker-archive:${to}`, img);
  });

  test("a hand-built multi-image archive reads the same by tag and by @index in Stevedore and skopeo", async () => {
    requireTool("skopeo");
    const a = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });
    const b = makeFixtureImage({ format: "docker", gzip: true, layers: 1 });
    const archive = join(dir, "multi.tar");
    await writeDockerArchive(archive, [
      { img: a, repoTags: ["example.com/a:1", "example.com/a:latest"] },
      { img: b, repoTags: ["example.com/b:1", "other.io/b:2"] },
    ]);
    const cases: [string, FixtureImage][] = [
      ["example.com/a:1", a],
      ["example.com/a", a],
      ["@0", a],
      ["example.com/b:1", b],
      ["other.io/b:2", b],
      ["@1", b],
    ];
    for (const [suffix, img] of cases) {
      const ours = suffix.startsWith("@") ? newDockerArchiveIndexReference(archive, Number(suffix.slice(1))) : newDockerArchiveReference(archive, suffix);
      const src = await ours.newImageSource();
      try {
        const m = await manifestOf(src);
        expect(m.config.digest).toBe(img.config.digest);
        expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
      } finally {
        await src.close();
      }
      expect((await inspect(`docker-archive:${archive}:${suffix}`)).Layers).toEqual(img.diffIDs);
    }
    // Both refuse to guess without a choice.
    await expect(skopeo("inspect", `docker-archive:${archive}`)).rejects.toThrow(/expected 1 item, got 2/);
  });

  test("archives with long names in GNU and PAX tar formats (made by GNU tar) are read", async () => {
    const img = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });
    const long = "d".repeat(120);
    for (const format of ["gnu", "pax", "ustar"] as const) {
      const root = join(dir, `tree-${format}`);
      const layerDir = format === "ustar" ? "short" : `${long}/${long}`;
      await mkdir(join(root, layerDir), { recursive: true });
      const layers: string[] = [];
      for (const [i, l] of img.layers.entries()) {
        await writeFile(join(root, layerDir, `layer${i}.tar`), l.bytes);
        layers.push(`${layerDir}/layer${i}.tar`);
      }
      await writeFile(join(root, "config.json"), img.config.bytes);
      await writeFile(join(root, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["x:1"], Layers: layers }]));
      const archive = join(dir, `${format}.tar`);
      await tool("tar", [`--format=${format}`, "-C", root, "-cf", archive, "."]);
      const src = await newDockerArchiveReference(archive).newImageSource();
      try {
        const m = await manifestOf(src);
        expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
        for (const l of m.layers) expect(digestOf(await readAll((await src.getBlob(l, noCache)).stream))).toBe(l.digest);
      } finally {
        await src.close();
      }
    }
  });
});
