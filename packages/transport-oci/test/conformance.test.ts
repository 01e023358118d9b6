import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { imageDestinationConformance, imageSourceConformance, makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { StevedoreError, type SystemContext } from "@stevedore/types";
import { newOCIReference, parseOCIReference } from "@stevedore/transport-oci";
import { skopeoCopy, snapshot, tempDir, writeDirImage, writeWithDestination } from "./helpers.js";

const api = { describe, test, expect };

imageSourceConformance(api, "oci: layout written by skopeo", async () => {
  const t = await tempDir();
  const image = makeFixtureImage({ layers: 3 });
  await writeDirImage(join(t.dir, "src"), image);
  await skopeoCopy(`dir:${join(t.dir, "src")}`, `oci:${join(t.dir, "layout")}:v1`);
  const source = await parseOCIReference(`${join(t.dir, "layout")}:v1`).newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci: layout written by Stevedore, unnamed image", async () => {
  const t = await tempDir();
  const image = makeFixtureImage({ layers: 2 });
  await writeWithDestination(newOCIReference(join(t.dir, "layout")), image);
  const source = await newOCIReference(join(t.dir, "layout")).newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci: one named image among several in one layout", async () => {
  const t = await tempDir();
  const dir = join(t.dir, "layout");
  const image = makeFixtureImage({ layers: 2, labels: { which: "b" } });
  await writeWithDestination(newOCIReference(dir, "a"), makeFixtureImage({ labels: { which: "a" } }));
  await writeDirImage(join(t.dir, "src"), image);
  await skopeoCopy(`dir:${join(t.dir, "src")}`, `oci:${dir}:b`);
  await writeWithDestination(newOCIReference(dir, "c"), makeFixtureImage({ labels: { which: "c" } }));
  const source = await newOCIReference(dir, "b").newImageSource();
  return { source, image, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci: an OCI index with two platforms", async () => {
  const t = await tempDir();
  const index = makeFixtureIndex([
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux", variant: "v8" },
  ]);
  await writeWithDestination(newOCIReference(join(t.dir, "layout"), "multi"), index);
  const source = await newOCIReference(join(t.dir, "layout"), "multi").newImageSource();
  return { source, image: index.images[1]!, index, cleanup: t.cleanup };
});

imageSourceConformance(api, "oci: layout with a shared blob directory", async () => {
  const t = await tempDir();
  const ctx = { ociSharedBlobDirPath: join(t.dir, "shared") };
  const image = makeFixtureImage();
  await writeWithDestination(newOCIReference(join(t.dir, "layout"), "x"), image, ctx);
  const source = await newOCIReference(join(t.dir, "layout"), "x").newImageSource(ctx);
  return { source, image, cleanup: t.cleanup };
});

function destinationTarget(setup: (dir: string) => Promise<void>, makeCtx: (root: string) => SystemContext = () => ({})) {
  return async () => {
    const t = await tempDir();
    const ctx = makeCtx(t.dir);
    const layout = join(t.dir, "layout");
    await setup(layout);
    const ref = newOCIReference(layout, "under-test");
    return {
      open: () => ref.newImageDestination(ctx),
      openSource: () => ref.newImageSource(ctx),
      snapshot: async () => `${await snapshot(layout)}\n--shared--\n${await snapshot(join(t.dir, "shared"))}`,
      cleanup: t.cleanup,
    };
  };
}

imageDestinationConformance(api, "oci: a new layout", destinationTarget(async () => {}));

imageDestinationConformance(
  api,
  "oci: an existing layout holding another image (written by skopeo)",
  destinationTarget(async (layout) => {
    const t = await tempDir();
    try {
      await writeDirImage(join(t.dir, "src"), makeFixtureImage());
      await skopeoCopy(`dir:${join(t.dir, "src")}`, `oci:${layout}:other`);
    } finally {
      await t.cleanup();
    }
  }),
);

imageDestinationConformance(api, "oci: an empty existing directory", destinationTarget(async (layout) => {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(layout);
}));

imageDestinationConformance(
  api,
  "oci: a layout with a shared blob directory",
  destinationTarget(async () => {}, (root) => ({ ociSharedBlobDirPath: join(root, "shared") })),
);

describe("oci: conformance fixtures", () => {
  test("a reference with a source index cannot be a destination", async () => {
    const t = await tempDir();
    try {
      await expect(parseOCIReference(`${t.dir}:@0`).newImageDestination()).rejects.toBeInstanceOf(StevedoreError);
    } finally {
      await t.cleanup();
    }
  });
});
