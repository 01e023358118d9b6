import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { imageDestinationConformance, imageSourceConformance, makeFixtureImage } from "@stevedore/testing";
import { newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import { fingerprint, removeDir, skopeo, tempDir, writeImage, writeOCILayout } from "./helpers.js";

let root = "";
beforeAll(async () => {
  root = await tempDir("da-conf-");
});
afterAll(async () => {
  await removeDir(root);
});

let n = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `t${n++}`);
  await import("node:fs/promises").then((fs) => fs.mkdir(dir));
  return dir;
}

imageDestinationConformance(
  { describe, test, expect },
  "docker-archive",
  async () => {
    const dir = await freshDir();
    const ref = newDockerArchiveReference(join(dir, "image.tar"), "example.com/conformance:v1");
    return {
      open: () => ref.newImageDestination(),
      openSource: () => ref.newImageSource(),
      snapshot: () => fingerprint(dir),
      cleanup: () => removeDir(dir),
    };
  },
  // Docker schema 2 with gzip layers: the archive keeps the blobs as written and
  // serves them decompressed, by DiffID, under a manifest it generates.
  { image: { format: "docker" }, layersIdentical: false, manifestIdentical: false },
);

imageSourceConformance(
  { describe, test, expect },
  "docker-archive written by Stevedore (gzip layers kept compressed)",
  async () => {
    const dir = await freshDir();
    const image = makeFixtureImage({ format: "docker", layers: 3 });
    const ref = newDockerArchiveReference(join(dir, "image.tar"), "example.com/src:v1");
    const dest = await ref.newImageDestination();
    try {
      await writeImage(dest, image);
      await dest.commit();
    } finally {
      await dest.close();
    }
    return { source: await ref.newImageSource(), image, cleanup: () => removeDir(dir) };
  },
  { manifestIdentical: false },
);

imageSourceConformance(
  { describe, test, expect },
  "docker-archive written by skopeo",
  async () => {
    const dir = await freshDir();
    const image = makeFixtureImage({ layers: 2 });
    await writeOCILayout(join(dir, "oci"), image, "v1");
    await skopeo("copy", `oci:${join(dir, "oci")}:v1`, `docker-archive:${join(dir, "image.tar")}:example.com/skopeo:v1`);
    return { source: await newDockerArchiveReference(join(dir, "image.tar")).newImageSource(), image, cleanup: () => removeDir(dir) };
  },
  { manifestIdentical: false },
);
