import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { imageDestinationConformance, imageSourceConformance, makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { newDirReference } from "@stevedore/transport-dir";
import { snapshot, skopeoCopy, tempDir, writeDirByHand, writeWithDestination } from "./helpers.js";

const api = { describe, test, expect };

imageSourceConformance(api, "dir: written by Stevedore's destination", async () => {
  const t = await tempDir();
  const image = makeFixtureImage({ layers: 3 });
  await writeWithDestination(newDirReference(join(t.dir, "img")), image);
  const source = await newDirReference(join(t.dir, "img")).newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "dir: written by skopeo (copied from a hand-made dir)", async () => {
  const t = await tempDir();
  const image = makeFixtureImage({ layers: 2, format: "docker" });
  await writeDirByHand(join(t.dir, "by-hand"), image);
  await skopeoCopy(`dir:${join(t.dir, "by-hand")}`, `dir:${join(t.dir, "by-skopeo")}`);
  const source = await newDirReference(join(t.dir, "by-skopeo")).newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "dir: an index written by Stevedore", async () => {
  const t = await tempDir();
  const index = makeFixtureIndex([
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux", variant: "v8" },
  ]);
  await writeWithDestination(newDirReference(join(t.dir, "multi")), index);
  const source = await newDirReference(join(t.dir, "multi")).newImageSource();
  return { source, image: index.images[1]!, index, cleanup: t.cleanup };
});

imageSourceConformance(api, "dir: an index written by skopeo --all", async () => {
  const t = await tempDir();
  const index = makeFixtureIndex([
    { architecture: "amd64", os: "linux" },
    { architecture: "s390x", os: "linux" },
  ]);
  await writeWithDestination(newDirReference(join(t.dir, "ours")), index);
  await skopeoCopy(`dir:${join(t.dir, "ours")}`, `dir:${join(t.dir, "theirs")}`, ["--all"]);
  const source = await newDirReference(join(t.dir, "theirs")).newImageSource();
  return { source, image: index.images[0]!, index, cleanup: t.cleanup };
});

/** A target whose parent is a fresh temporary directory; the snapshot covers the parent, so nothing may leak beside the target either. */
function target(setup: (dir: string) => Promise<void>) {
  return async () => {
    const t = await tempDir();
    const dir = join(t.dir, "target");
    await setup(dir);
    const ref = newDirReference(dir);
    return {
      open: () => ref.newImageDestination(),
      openSource: () => ref.newImageSource(),
      snapshot: () => snapshot(t.dir),
      cleanup: t.cleanup,
    };
  };
}

imageDestinationConformance(api, "dir: a new directory", target(async () => {}));

imageDestinationConformance(api, "dir: an existing empty directory", target(async (dir) => {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dir);
}));

imageDestinationConformance(
  api,
  "dir: a directory holding an earlier image (docker schema2, uncompressed)",
  async () => {
    const t = await tempDir();
    const dir = join(t.dir, "target");
    const ref = newDirReference(dir);
    await writeWithDestination(ref, makeFixtureImage({ format: "docker", gzip: false }));
    return {
      open: () => ref.newImageDestination(),
      // "Nothing committed" here means: still the earlier image, not the fixture.
      openSource: async () => {
        const s = await ref.newImageSource();
        const m = await s.getManifest();
        if (JSON.parse(new TextDecoder().decode(m.bytes)).mediaType !== "application/vnd.oci.image.manifest.v1+json") {
          await s.close();
          const { ImageNotFoundError } = await import("@stevedore/types");
          throw new ImageNotFoundError("the target still holds the earlier (schema2) image");
        }
        return s;
      },
      snapshot: () => snapshot(t.dir),
      cleanup: t.cleanup,
    };
  },
);
