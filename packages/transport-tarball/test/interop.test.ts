// The same files through skopeo's tarball: transport (containers/image) and
// ours, and our image unpacked by umoci.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeTar } from "@stevedore/testing";
import { dirTransport } from "@stevedore/transport-dir";
import { digestOf, readAll, utf8, type Digest } from "@stevedore/types";
import { newTarballReference } from "@stevedore/transport-tarball";
import { noCache, run, sha256, tempDir, type ImageJSON } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
let gzFile: string;
let tarFile: string;
let zstFile: string;
let tars: Uint8Array[];

beforeAll(async () => {
  t = await tempDir();
  tars = [
    makeTar([{ name: "etc/greeting", content: utf8("hello from layer one\n") }]),
    makeTar([{ name: "usr/share/doc/readme", content: utf8("second layer\n"), mode: 0o600 }]),
    makeTar([{ name: "opt/zstd.txt", content: utf8("zstd layer\n") }]),
  ];
  gzFile = join(t.dir, "one.tar.gz");
  tarFile = join(t.dir, "two.tar");
  zstFile = join(t.dir, "three.tar.zst");
  await writeFile(gzFile, gzipSync(tars[0]!));
  await writeFile(tarFile, tars[1]!);
  await writeFile(zstFile, zstdCompressSync(tars[2]!));
});
afterAll(() => t.cleanup());

/** The manifest and config of a dir: image written by anyone. */
async function dirJSON(dir: string): Promise<ImageJSON & { configBytes: string; manifestBytes: string }> {
  const manifestBytes = await readFile(join(dir, "manifest.json"), "utf8");
  const manifest = JSON.parse(manifestBytes) as ImageJSON["manifest"];
  const configBytes = await readFile(join(dir, manifest.config.digest.slice(7)), "utf8");
  return { manifest, config: JSON.parse(configBytes) as ImageJSON["config"], configBytes, manifestBytes };
}

async function ours(files: string[]): Promise<ImageJSON & { configBytes: string; manifestBytes: string }> {
  const s = await newTarballReference(files).newImageSource();
  try {
    const manifestBytes = new TextDecoder().decode((await s.getManifest()).bytes);
    const manifest = JSON.parse(manifestBytes) as ImageJSON["manifest"];
    const configBytes = new TextDecoder().decode(await readAll((await s.getBlob({ digest: manifest.config.digest as Digest, size: -1 }, noCache)).stream));
    return { manifest, config: JSON.parse(configBytes) as ImageJSON["config"], configBytes, manifestBytes };
  } finally {
    await s.close();
  }
}

describe("skopeo's tarball: and ours, on the same files", () => {
  test("gzip and plain tar layers: same layer digests and diff_ids; with TZ=UTC the config and manifest are byte-identical", async () => {
    const out = join(t.dir, "skopeo-gz-tar");
    await run("skopeo", ["--insecure-policy", "copy", "-q", `tarball:${gzFile}:${tarFile}`, `dir:${out}`], { env: { ...process.env, TZ: "UTC" } });
    const theirs = await dirJSON(out);
    const mine = await ours([gzFile, tarFile]);
    expect(mine.manifest.layers).toEqual(theirs.manifest.layers);
    expect(mine.config.rootfs.diff_ids).toEqual(theirs.config.rootfs.diff_ids);
    expect(mine.config.rootfs.diff_ids).toEqual([digestOf(tars[0]!), digestOf(tars[1]!)]);
    expect(mine.configBytes).toBe(theirs.configBytes);
    expect(mine.manifestBytes).toBe(theirs.manifestBytes);
  });

  test("a zstd layer: skopeo 1.9 calls it a plain tar whose diff_id is the compressed digest; we say tar+zstd with the real diff_id", async () => {
    const out = join(t.dir, "skopeo-zst");
    await run("skopeo", ["--insecure-policy", "copy", "-q", `tarball:${zstFile}`, `dir:${out}`], { env: { ...process.env, TZ: "UTC" } });
    const theirs = await dirJSON(out);
    const mine = await ours([zstFile]);
    const compressed = sha256(await readFile(zstFile));
    expect(theirs.manifest.layers[0]).toMatchObject({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: compressed });
    expect(theirs.config.rootfs.diff_ids).toEqual([compressed]);
    expect(mine.manifest.layers[0]).toMatchObject({ mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: compressed });
    expect(mine.config.rootfs.diff_ids).toEqual([digestOf(tars[2]!)]);
  });
});

describe("our tarball: image in other tools", () => {
  test("copied to dir: by copyImage(), then to oci: by skopeo (digest kept), umoci unpacks it and the files appear", async () => {
    const dir = join(t.dir, "ours-dir");
    const r = await copyImage(undefined, dirTransport.parseReference(dir), newTarballReference([gzFile, tarFile]));
    const layout = join(t.dir, "ours-oci");
    // Without the flag skopeo would compress the plain tar layer (a new digest).
    await run("skopeo", ["--insecure-policy", "copy", "-q", "--dest-oci-accept-uncompressed-layers", `dir:${dir}`, `oci:${layout}:v1`]);
    const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).toBe(r.digest);
    const bundle = join(t.dir, "bundle");
    await run("umoci", ["unpack", "--rootless", "--image", `${layout}:v1`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "etc", "greeting"), "utf8")).toBe("hello from layer one\n");
    expect(await readFile(join(bundle, "rootfs", "usr", "share", "doc", "readme"), "utf8")).toBe("second layer\n");
  });

  test("a zstd layer decompressed by copyImage() (dirForceDecompress) unpacks with umoci, which reads no zstd itself", async () => {
    const dir = join(t.dir, "ours-dir-zst");
    await copyImage(undefined, dirTransport.parseReference(dir), newTarballReference([gzFile, zstFile]), { destinationCtx: { dirForceDecompress: true } });
    const layout = join(t.dir, "ours-oci-zst");
    await run("skopeo", ["--insecure-policy", "copy", "-q", "--dest-oci-accept-uncompressed-layers", `dir:${dir}`, `oci:${layout}:v1`]);
    const bundle = join(t.dir, "bundle-zst");
    await run("umoci", ["unpack", "--rootless", "--image", `${layout}:v1`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "etc", "greeting"), "utf8")).toBe("hello from layer one\n");
    expect(await readFile(join(bundle, "rootfs", "opt", "zstd.txt"), "utf8")).toBe("zstd layer\n");
  });

  test("skopeo inspect reads the copy: layers and diff_ids as generated", async () => {
    const dir = join(t.dir, "ours-dir-2");
    await copyImage(undefined, dirTransport.parseReference(dir), newTarballReference([gzFile, tarFile]));
    const { stdout } = await run("skopeo", ["inspect", "--config", `dir:${dir}`]);
    const config = JSON.parse(stdout) as ImageJSON["config"];
    expect(config.rootfs.diff_ids).toEqual([digestOf(tars[0]!), digestOf(tars[1]!)]);
    expect(config.history.map((h) => h.comment)).toEqual(["imported from tarball", "imported from tarball"]);
  });
});
