import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { imageDestinationConformance, imageSourceConformance, makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { newOCIArchiveReference } from "@stevedore/transport-oci-archive";
import { run, skopeoCopy, snapshot, tempDir, writeDirImage, writeLayoutByHand, writeWithDestination } from "./helpers.js";

const api = { describe, test, expect };

imageSourceConformance(api, "oci-archive: written by skopeo", async () => {
  const t = await tempDir();
  const image = makeFixtureImage({ layers: 3 });
  await writeDirImage(join(t.dir, "src"), image);
  await skopeoCopy(`dir:${join(t.dir, "src")}`, `oci-archive:${join(t.dir, "a.tar")}:v1`);
  const source = await newOCIArchiveReference(join(t.dir, "a.tar"), "v1").newImageSource({ bigFilesTemporaryDir: t.dir });
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci-archive: a layout tarred by GNU tar (./ names), unnamed image", async () => {
  const t = await tempDir();
  const image = makeFixtureImage();
  await writeLayoutByHand(join(t.dir, "layout"), image);
  await run("tar", ["-C", join(t.dir, "layout"), "-cf", join(t.dir, "a.tar"), "."]);
  const source = await newOCIArchiveReference(join(t.dir, "a.tar")).newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci-archive: gzip-compressed archive", async () => {
  const t = await tempDir();
  const image = makeFixtureImage();
  await writeLayoutByHand(join(t.dir, "layout"), image, "gz");
  await run("tar", ["-C", join(t.dir, "layout"), "-czf", join(t.dir, "a.tar.gz"), "."]);
  const source = await newOCIArchiveReference(join(t.dir, "a.tar.gz"), "gz").newImageSource({ bigFilesTemporaryDir: t.dir });
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci-archive: an index written by Stevedore", async () => {
  const t = await tempDir();
  const index = makeFixtureIndex([
    { architecture: "amd64", os: "linux" },
    { architecture: "ppc64le", os: "linux" },
  ]);
  await writeWithDestination(newOCIArchiveReference(join(t.dir, "a.tar"), "multi"), index, { bigFilesTemporaryDir: t.dir });
  const source = await newOCIArchiveReference(join(t.dir, "a.tar"), "multi").newImageSource();
  return { source, image: index.images[0]!, index, cleanup: t.cleanup };
});

function target(setup: (file: string, root: string) => Promise<void>) {
  return async () => {
    const t = await tempDir();
    const file = join(t.dir, "out", "image.tar");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(t.dir, "out"));
    await mkdir(join(t.dir, "tmp"));
    await setup(file, t.dir);
    const ctx = { bigFilesTemporaryDir: join(t.dir, "tmp") };
    const ref = newOCIArchiveReference(file, "under-test");
    return {
      open: () => ref.newImageDestination(ctx),
      openSource: () => ref.newImageSource(ctx),
      // The directory of the archive and the temporary directory: nothing may be left in either.
      snapshot: async () => `${await snapshot(join(t.dir, "out"))}\n--tmp--\n${await snapshot(join(t.dir, "tmp"))}`,
      cleanup: t.cleanup,
    };
  };
}

imageDestinationConformance(api, "oci-archive: a new archive", target(async () => {}));

imageDestinationConformance(
  api,
  "oci-archive: replacing an archive skopeo wrote",
  target(async (file, root) => {
    await writeDirImage(join(root, "src"), makeFixtureImage());
    await skopeoCopy(`dir:${join(root, "src")}`, `oci-archive:${file}:old`);
  }),
);
