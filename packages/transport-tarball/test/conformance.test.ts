import { describe, expect, test } from "vitest";
import { imageSourceConformance, makeFixtureImage } from "@stevedore/testing";
import { newTarballReference } from "@stevedore/transport-tarball";
import { layerFiles, tempDir, writeLayers } from "./helpers.js";

const api = { describe, test, expect };

for (const compression of ["gzip", "none", "zstd"] as const) {
  imageSourceConformance(
    api,
    `tarball: ${compression} layer files`,
    async () => {
      const t = await tempDir();
      const image = makeFixtureImage({ layers: 3 });
      const files = await writeLayers(t.dir, layerFiles(image, compression));
      const source = await newTarballReference(files).newImageSource();
      return { source, image, cleanup: t.cleanup };
    },
    { manifestIdentical: false },
  );
}
