import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { digestOf, readAll } from "@stevedore/types";
import { newOCIReference, parseOCIReference } from "@stevedore/transport-oci";
import { noCache, readIndexJSON, run, skopeoCopy, skopeoDigest, tempDir, writeDirImage, writeWithDestination } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(() => cleanup());

async function readImageThroughStevedore(ref: string): Promise<{ digest: string; blobs: Map<string, string> }> {
  const s = await parseOCIReference(ref).newImageSource();
  try {
    const m = await s.getManifest();
    const doc = JSON.parse(new TextDecoder().decode(m.bytes)) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
    const blobs = new Map<string, string>();
    for (const d of [doc.config, ...doc.layers]) {
      blobs.set(d.digest, digestOf(await readAll((await s.getBlob({ digest: d.digest as never, size: d.size }, noCache)).stream)));
    }
    return { digest: digestOf(m.bytes), blobs };
  } finally {
    await s.close();
  }
}

/** The content of `layerN/file.bin` in a fixture layer (the tar's first file, 1024 bytes at offset 512). */
function fixtureFile(layer: Uint8Array): Buffer {
  return gunzipSync(layer).subarray(512, 512 + 1024);
}

describe("interoperability with skopeo", () => {
  test("skopeo inspect and copy read what Stevedore wrote; Stevedore reads skopeo's copy with the same digests", async () => {
    const img = makeFixtureImage({ layers: 3 });
    const a = join(root, "a");
    await writeWithDestination(newOCIReference(a, "t"), img);
    await writeWithDestination(newOCIReference(a, "other"), makeFixtureImage());
    expect(await skopeoDigest(`oci:${a}:t`)).toBe(img.digest);
    const { stdout } = await run("skopeo", ["inspect", `oci:${a}:t`]);
    expect((JSON.parse(stdout) as { Digest: string; Layers: string[] }).Layers).toEqual(img.layers.map((l) => l.digest));
    const b = join(root, "b");
    await skopeoCopy(`oci:${a}:t`, `oci:${b}:t`);
    const got = await readImageThroughStevedore(`${b}:t`);
    expect(got.digest).toBe(img.digest);
    for (const [d, actual] of got.blobs) expect(actual).toBe(d);
  });

  test("Stevedore copies a layout skopeo wrote without changing digests, and skopeo reads the result", async () => {
    const img = makeFixtureImage();
    await writeDirImage(join(root, "dir"), img);
    await skopeoCopy(`dir:${join(root, "dir")}`, `oci:${join(root, "sk")}:v1`);
    const r = await copyImage(undefined, parseOCIReference(`${join(root, "ours")}:copied`), parseOCIReference(`${join(root, "sk")}:v1`));
    expect(r.digest).toBe(img.digest);
    expect(await skopeoDigest(`oci:${join(root, "ours")}:copied`)).toBe(img.digest);
    // skopeo can add to a layout Stevedore wrote, and Stevedore still reads both.
    await skopeoCopy(`oci:${join(root, "sk")}:v1`, `oci:${join(root, "ours")}:by-skopeo`);
    expect((await readIndexJSON(join(root, "ours"))).manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"])).toEqual(["copied", "by-skopeo"]);
    expect((await readImageThroughStevedore(`${join(root, "ours")}:by-skopeo`)).digest).toBe(img.digest);
  });

  test("skopeo copy --all reads an index Stevedore wrote, with the index digest unchanged", async () => {
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    await writeWithDestination(newOCIReference(join(root, "a"), "multi"), index);
    await skopeoCopy(`oci:${join(root, "a")}:multi`, `oci:${join(root, "b")}:multi`, ["--all"]);
    expect(await skopeoDigest(`oci:${join(root, "b")}:multi`)).toBe(index.digest);
    const back = await copyImage(undefined, newOCIReference(join(root, "c"), "multi"), newOCIReference(join(root, "b"), "multi"), { imageListSelection: "all" });
    expect(back.digest).toBe(index.digest);
  });
});

describe("interoperability with umoci", () => {
  test("umoci unpack unpacks an image Stevedore wrote, file contents intact", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const layout = join(root, "layout");
    await writeWithDestination(newOCIReference(layout, "t"), img);
    const bundle = join(root, "bundle");
    await run("umoci", ["unpack", "--rootless", "--image", `${layout}:t`, bundle]);
    for (const [i, l] of img.layers.entries()) {
      expect(await readFile(join(bundle, "rootfs", `layer${i}`, "file.bin"))).toEqual(fixtureFile(l.bytes));
    }
    const { stdout } = await run("umoci", ["ls", "--layout", layout]);
    expect(stdout.trim().split("\n")).toEqual(["t"]);
  });

  test("Stevedore reads what umoci init/new/insert/config wrote with identical digests, and copies it unchanged", async () => {
    const layout = join(root, "umoci");
    await run("umoci", ["init", "--layout", layout]);
    await run("umoci", ["new", "--image", `${layout}:base`]);
    await writeFile(join(root, "hello.txt"), "hello from umoci\n");
    await run("umoci", ["insert", "--rootless", "--image", `${layout}:base`, join(root, "hello.txt"), "/hello.txt"]);
    await run("umoci", ["config", "--image", `${layout}:base`, "--config.cmd", "/bin/sh", "--tag", "withcmd"]);
    const idx = await readIndexJSON(layout);
    for (const name of ["base", "withcmd"]) {
      const entry = idx.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === name)!;
      const got = await readImageThroughStevedore(`${layout}:${name}`);
      expect(got.digest).toBe(entry.digest);
      expect(got.blobs.size).toBeGreaterThan(1);
      for (const [d, actual] of got.blobs) expect(actual).toBe(d);
      const r = await copyImage(undefined, newOCIReference(join(root, "copy"), name), newOCIReference(layout, name));
      expect(r.digest).toBe(entry.digest);
    }
    // And umoci unpacks Stevedore's copy of it.
    const bundle = join(root, "bundle");
    await run("umoci", ["unpack", "--rootless", "--image", `${join(root, "copy")}:withcmd`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "hello.txt"), "utf8")).toBe("hello from umoci\n");
    const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { process: { args: string[] } };
    expect(config.process.args).toEqual(["/bin/sh"]);
  });

  test("umoci adds to a layout Stevedore wrote and Stevedore reads umoci's image", async () => {
    const layout = join(root, "layout");
    await writeWithDestination(newOCIReference(layout, "ours"), makeFixtureImage());
    await run("umoci", ["config", "--image", `${layout}:ours`, "--config.label", "by=umoci", "--tag", "theirs"]);
    const entry = (await readIndexJSON(layout)).manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "theirs")!;
    const got = await readImageThroughStevedore(`${layout}:theirs`);
    expect(got.digest).toBe(entry.digest);
    const cfgDigest = [...got.blobs.keys()][0]!;
    const cfg = JSON.parse(await readFile(join(layout, "blobs", "sha256", cfgDigest.slice(7)), "utf8")) as { config: { Labels: Record<string, string> } };
    expect(cfg.config.Labels["by"]).toBe("umoci");
    expect(createHash("sha256").update(await readFile(join(layout, "blobs", "sha256", entry.digest.slice(7)))).digest("hex")).toBe(entry.digest.slice(7));
  });
});
