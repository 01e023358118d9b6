import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { digestOf, readAll } from "@stevedore/types";
import { newOCIArchiveReference, parseOCIArchiveReference } from "@stevedore/transport-oci-archive";
import { noCache, run, skopeoCopy, skopeoDigest, tempDir, writeDirImage, writeWithDestination } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(() => cleanup());

async function digestsThroughStevedore(ref: string): Promise<{ digest: string; ok: boolean }> {
  const s = await parseOCIArchiveReference(ref).newImageSource();
  try {
    const m = await s.getManifest();
    const doc = JSON.parse(new TextDecoder().decode(m.bytes)) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
    let ok = true;
    for (const d of [doc.config, ...doc.layers]) {
      ok &&= digestOf(await readAll((await s.getBlob({ digest: d.digest as never, size: d.size }, noCache)).stream)) === d.digest;
    }
    return { digest: digestOf(m.bytes), ok };
  } finally {
    await s.close();
  }
}

describe("oci-archive interoperability", () => {
  test("Stevedore reads archives skopeo wrote (from dir: and from oci:) with the same digests", async () => {
    const img = makeFixtureImage({ layers: 3 });
    await writeDirImage(join(root, "dir"), img);
    await skopeoCopy(`dir:${join(root, "dir")}`, `oci-archive:${join(root, "a.tar")}:v1`);
    expect(await digestsThroughStevedore(`${join(root, "a.tar")}:v1`)).toEqual({ digest: img.digest, ok: true });
    await skopeoCopy(`dir:${join(root, "dir")}`, `oci:${join(root, "layout")}:v2`);
    await skopeoCopy(`oci:${join(root, "layout")}:v2`, `oci-archive:${join(root, "b.tar")}:v2`);
    expect(await digestsThroughStevedore(`${join(root, "b.tar")}:v2`)).toEqual({ digest: img.digest, ok: true });
  });

  test("skopeo inspects and copies an archive Stevedore wrote; umoci unpacks its layout", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const file = join(root, "ours.tar");
    await writeWithDestination(newOCIArchiveReference(file, "t"), img);
    expect(await skopeoDigest(`oci-archive:${file}:t`)).toBe(img.digest);
    await skopeoCopy(`oci-archive:${file}:t`, `oci:${join(root, "layout")}:t`);
    expect(await skopeoDigest(`oci:${join(root, "layout")}:t`)).toBe(img.digest);
    // The archive is a plain OCI layout: GNU tar extracts it and umoci unpacks that.
    await mkdir(join(root, "extracted"));
    await run("tar", ["-C", join(root, "extracted"), "-xf", file]);
    await run("umoci", ["unpack", "--rootless", "--image", `${join(root, "extracted")}:t`, join(root, "bundle")]);
    for (const [i, l] of img.layers.entries()) {
      expect(await readFile(join(root, "bundle", "rootfs", `layer${i}`, "file.bin"))).toEqual(gunzipSync(l.bytes).subarray(512, 1536));
    }
  });

  test("an index round-trips Stevedore → archive → skopeo --all → archive → Stevedore with its digest", async () => {
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm", os: "linux", variant: "v7" },
    ]);
    await writeWithDestination(newOCIArchiveReference(join(root, "a.tar"), "multi"), index);
    await skopeoCopy(`oci-archive:${join(root, "a.tar")}:multi`, `oci-archive:${join(root, "b.tar")}:multi`, ["--all"]);
    const r = await copyImage(undefined, newOCIArchiveReference(join(root, "c.tar"), "multi"), newOCIArchiveReference(join(root, "b.tar"), "multi"), {
      imageListSelection: "all",
    });
    expect(r.digest).toBe(index.digest);
    expect(await skopeoDigest(`oci-archive:${join(root, "c.tar")}:multi`)).toBe(index.digest);
  });

  test("an archive written by Stevedore replaces the old archive: only the new image is in it (as skopeo does)", async () => {
    const file = join(root, "a.tar");
    const first = makeFixtureImage();
    const second = makeFixtureImage();
    await writeWithDestination(newOCIArchiveReference(file, "one"), first);
    await writeWithDestination(newOCIArchiveReference(file, "two"), second);
    const { stdout } = await run("tar", ["-xOf", file, "index.json"]);
    const idx = JSON.parse(stdout) as { manifests: { digest: string }[] };
    expect(idx.manifests.map((m) => m.digest)).toEqual([second.digest]);
  });
});
