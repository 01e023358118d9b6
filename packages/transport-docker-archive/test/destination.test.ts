import { spawn } from "node:child_process";
import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { makeFixtureImage, requireTool } from "@stevedore/testing";
import { newDockerArchiveIndexReference, newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import {
  BlobUnknownError,
  DestinationExistsError,
  InvalidManifestError,
  InvalidReferenceError,
  ManifestTypeRejectedError,
  UnsupportedCapabilityError,
  UnsupportedError,
  digestHex,
  digestOf,
  fromUtf8,
  readAll,
  streamOf,
  type Digest,
  type ImageDestination,
} from "@stevedore/types";
import { listTar, namesIn, noCache, removeDir, tempDir, tool, writeImage } from "./helpers.js";

let dir = "";
beforeEach(async () => {
  dir = await tempDir("da-dest-");
});
afterEach(async () => {
  await removeDir(dir);
});

const img = makeFixtureImage({ format: "docker", gzip: false, layers: 3 });

async function writeAndCommit(dest: ImageDestination): Promise<void> {
  try {
    await writeImage(dest, img);
    await dest.commit();
  } finally {
    await dest.close();
  }
}

describe("the archive written", () => {
  test("commit() writes the docker save layout: <hex>.tar layers, <hex>.json config, legacy dirs, manifest.json, repositories", async () => {
    const path = join(dir, "out.tar");
    await writeAndCommit(await newDockerArchiveReference(path, "example.com/app:v1").newImageDestination({ dockerArchiveAdditionalTags: ["busybox", "example.com/app:v2"] }));
    expect(await namesIn(dir)).toEqual(["out.tar"]);
    expect((await stat(path)).mode & 0o777).toBe(0o644 & ~process.umask());
    const entries = await listTar(path);
    for (const l of img.layers) {
      const e = entries.get(`${digestHex(l.digest)}.tar`);
      expect(e?.type).toBe("file");
      expect(digestOf(e!.content)).toBe(l.digest);
    }
    expect(entries.get(`${digestHex(img.config.digest)}.json`)?.content).toEqual(img.config.bytes);
    const manifest = JSON.parse(fromUtf8(entries.get("manifest.json")!.content)) as unknown;
    expect(manifest).toEqual([
      {
        Config: `${digestHex(img.config.digest)}.json`,
        RepoTags: ["example.com/app:v1", "docker.io/library/busybox:latest", "example.com/app:v2"],
        Layers: img.layers.map((l) => `${digestHex(l.digest)}.tar`),
      },
    ]);
    // Legacy directories: a parent chain, each layer.tar a symlink to the layer file.
    const ids = [...entries.keys()].filter((n) => n.endsWith("/json")).map((n) => n.slice(0, -5));
    expect(ids.length).toBe(3);
    const v1 = new Map(ids.map((id) => [id, JSON.parse(fromUtf8(entries.get(`${id}/json`)!.content)) as { id: string; parent?: string; os?: string }]));
    const base = ids.find((id) => v1.get(id)!.parent === undefined)!;
    const chain = [base];
    while (chain.length < 3) chain.push(ids.find((id) => v1.get(id)!.parent === chain[chain.length - 1])!);
    for (const [i, id] of chain.entries()) {
      expect(v1.get(id)!.id).toBe(id);
      expect(entries.get(`${id}/VERSION`)?.content).toEqual(new TextEncoder().encode("1.0"));
      expect(entries.get(`${id}/layer.tar`)).toMatchObject({ type: "symlink", linkname: `../${digestHex(img.layers[i]!.digest)}.tar` });
    }
    expect(v1.get(chain[2]!)!.os).toBe("linux");
    const repositories = JSON.parse(fromUtf8(entries.get("repositories")!.content)) as unknown;
    expect(repositories).toEqual({ "docker.io/library/busybox": { latest: chain[2] }, "example.com/app": { v1: chain[2], v2: chain[2] } });
    // GNU tar agrees the archive is well-formed.
    const listing = await tool("tar", ["-tvf", path]);
    expect(listing).toContain("manifest.json");
  });

  test("an untagged destination writes empty RepoTags and repositories", async () => {
    const path = join(dir, "out.tar");
    await writeAndCommit(await newDockerArchiveReference(path).newImageDestination());
    const entries = await listTar(path);
    expect((JSON.parse(fromUtf8(entries.get("manifest.json")!.content)) as { RepoTags: string[] }[])[0]!.RepoTags).toEqual([]);
    expect(fromUtf8(entries.get("repositories")!.content)).toBe("{}");
  });

  test("putBlob() without a digest of content already stored keeps one copy", async () => {
    const path = join(dir, "out.tar");
    const dest = await newDockerArchiveReference(path).newImageDestination();
    try {
      const l = img.layers[0]!;
      expect(await dest.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache })).toEqual({ digest: l.digest, size: l.size });
      expect(await dest.putBlob(streamOf(l.bytes), { size: -1 }, { cache: noCache })).toEqual({ digest: l.digest, size: l.size });
      await writeImage(dest, img);
      await dest.commit();
    } finally {
      await dest.close();
    }
    const names = [...(await listTar(path)).keys()];
    expect(names.filter((n) => n === `${digestHex(img.layers[0]!.digest)}.tar`).length).toBe(1);
  });

  test("putBlob() reports progress as bytes are stored", async () => {
    const dest = await newDockerArchiveReference(join(dir, "out.tar")).newImageDestination();
    try {
      const l = img.layers[0]!;
      let total = 0;
      await dest.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache, onProgress: (d) => (total += d) });
      expect(total).toBe(l.size);
    } finally {
      await dest.close();
    }
  });

  test("a config written without isConfig is still found by manifest.json and read back", async () => {
    const path = join(dir, "out.tar");
    const dest = await newDockerArchiveReference(path).newImageDestination();
    try {
      for (const l of img.layers) await dest.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
      await dest.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      await dest.putManifest(img.manifest);
      await dest.commit();
    } finally {
      await dest.close();
    }
    const src = await newDockerArchiveReference(path).newImageSource();
    try {
      const m = JSON.parse(fromUtf8((await src.getManifest()).bytes)) as { config: { digest: Digest } };
      expect(m.config.digest).toBe(img.config.digest);
    } finally {
      await src.close();
    }
  });
});

describe("what the destination refuses", () => {
  test("newImageDestination() on a non-empty file throws DestinationExistsError and leaves it unchanged", async () => {
    const path = join(dir, "existing.tar");
    await writeFile(path, "precious");
    const err = await newDockerArchiveReference(path).newImageDestination().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationExistsError);
    expect((err as Error).message).toContain("docker-archive doesn't support modifying existing images");
    expect(await readFile(path, "utf8")).toBe("precious");
    expect(await namesIn(dir)).toEqual(["existing.tar"]);
  });

  test("an empty existing file is replaced at commit, keeping its permissions", async () => {
    const path = join(dir, "empty.tar");
    await writeFile(path, "");
    await chmod(path, 0o600);
    await writeAndCommit(await newDockerArchiveReference(path).newImageDestination());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await listTar(path)).has("manifest.json")).toBe(true);
  });

  test("a symlink to an empty file is written through; a dangling symlink is refused", async () => {
    await writeFile(join(dir, "real.tar"), "");
    await symlink("real.tar", join(dir, "link.tar"));
    await writeAndCommit(await newDockerArchiveReference(join(dir, "link.tar")).newImageDestination());
    expect((await lstat(join(dir, "link.tar"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "link.tar"))).toBe("real.tar");
    expect((await listTar(join(dir, "real.tar"))).has("manifest.json")).toBe(true);
    await symlink("nowhere.tar", join(dir, "dangling.tar"));
    await expect(newDockerArchiveReference(join(dir, "dangling.tar")).newImageDestination()).rejects.toBeInstanceOf(DestinationExistsError);
  });

  test("a directory target throws DestinationExistsError; a missing parent directory throws InvalidReferenceError", async () => {
    await expect(newDockerArchiveReference(dir).newImageDestination()).rejects.toBeInstanceOf(DestinationExistsError);
    await expect(newDockerArchiveReference(join(dir, "no", "such", "x.tar")).newImageDestination()).rejects.toBeInstanceOf(InvalidReferenceError);
  });

  test("a destination reference with @index throws InvalidReferenceError", async () => {
    await expect(newDockerArchiveIndexReference(join(dir, "x.tar"), 0).newImageDestination()).rejects.toBeInstanceOf(InvalidReferenceError);
  });

  test("an invalid additional tag throws InvalidReferenceError", async () => {
    await expect(newDockerArchiveReference(join(dir, "x.tar")).newImageDestination({ dockerArchiveAdditionalTags: ["Bad Tag"] })).rejects.toBeInstanceOf(
      InvalidReferenceError,
    );
    await expect(
      newDockerArchiveReference(join(dir, "x.tar")).newImageDestination({ dockerArchiveAdditionalTags: [`a@sha256:${"0".repeat(64)}`] }),
    ).rejects.toBeInstanceOf(InvalidReferenceError);
    expect(await namesIn(dir)).toEqual([]);
  });

  test("putManifest() refuses OCI manifests (ManifestTypeRejectedError), instances (UnsupportedError) and unwritten blobs (BlobUnknownError)", async () => {
    const dest = await newDockerArchiveReference(join(dir, "x.tar")).newImageDestination();
    try {
      const oci = makeFixtureImage({ format: "oci" });
      await expect(dest.putManifest(oci.manifest)).rejects.toBeInstanceOf(ManifestTypeRejectedError);
      await expect(dest.putManifest(img.manifest, img.digest)).rejects.toBeInstanceOf(UnsupportedError);
      await expect(dest.putManifest(img.manifest)).rejects.toBeInstanceOf(BlobUnknownError);
      await expect(dest.commit()).rejects.toBeInstanceOf(InvalidManifestError);
      await dest.putSignatures([]);
      await expect(dest.putSignatures([{ format: "simple-signing", payload: new Uint8Array([1]) } as never])).rejects.toBeInstanceOf(UnsupportedCapabilityError);
    } finally {
      await dest.close();
    }
    expect(await namesIn(dir)).toEqual([]);
  });
});

describe("temp files", () => {
  test("the archive is written to a hidden temp file next to the target, which close() without commit() removes", async () => {
    const path = join(dir, "x.tar");
    const dest = await newDockerArchiveReference(path).newImageDestination();
    const during = await namesIn(dir);
    expect(during.length).toBe(1);
    expect(during[0]).toMatch(new RegExp(`^\\.x\\.tar\\.stevedore-tmp-${process.pid}-[0-9a-f]{16}$`));
    await writeImage(dest, img);
    await dest.close();
    expect(await namesIn(dir)).toEqual([]);
  });

  test("close() while a putBlob() is stuck on a stalled stream returns and removes the temp file", async () => {
    const dest = await newDockerArchiveReference(join(dir, "x.tar")).newImageDestination();
    const l = img.layers[0]!;
    let started!: () => void;
    const firstChunk = new Promise<void>((resolve) => (started = resolve));
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield l.bytes.subarray(0, 100);
      started();
      await new Promise(() => {}); // never ends
    }
    const pending = dest.putBlob(stalled(), { digest: l.digest, size: l.size }, { cache: noCache });
    pending.catch(() => {});
    await firstChunk;
    await dest.close();
    expect(await namesIn(dir)).toEqual([]);
  });

  test("newImageDestination() removes temp files a killed process left for the same target, and only those", async () => {
    const dead = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      p.on("exit", () => resolve(p.pid!));
    });
    const leftover = `.x.tar.stevedore-tmp-${dead}-0123456789abcdef`;
    const live = `.x.tar.stevedore-tmp-${process.ppid}-0123456789abcdef`;
    const other = `.y.tar.stevedore-tmp-${dead}-0123456789abcdef`;
    for (const n of [leftover, live, other]) await writeFile(join(dir, n), "partial");
    const dest = await newDockerArchiveReference(join(dir, "x.tar")).newImageDestination();
    await dest.close();
    expect(await namesIn(dir)).toEqual([live, other].sort());
  });
});

describe("a FIFO target", () => {
  test("commit() streams the archive into a FIFO (e.g. a pipe to docker load)", async () => {
    const fifo = join(dir, "pipe");
    await tool("mkfifo", [fifo]);
    const out = join(dir, "received.tar");
    const reader = spawn(requireTool("sh"), ["-c", 'cat "$1" > "$2"', "sh", fifo, out], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => reader.on("exit", resolve));
    const big = join(dir, "big");
    await mkdir(big);
    await writeAndCommit(await newDockerArchiveReference(fifo, "example.com/fifo:1").newImageDestination({ bigFilesTemporaryDir: big }));
    expect(await exited).toBe(0);
    expect(await namesIn(big)).toEqual([]);
    const src = await newDockerArchiveReference(out, "example.com/fifo:1").newImageSource();
    try {
      const m = JSON.parse(fromUtf8((await src.getManifest()).bytes)) as { layers: { digest: Digest }[] };
      expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
      const b = await readAll((await src.getBlob({ digest: img.diffIDs[0]!, size: -1 }, noCache)).stream);
      expect(digestOf(b)).toBe(img.diffIDs[0]);
    } finally {
      await src.close();
    }
  });
});
